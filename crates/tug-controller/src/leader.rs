//! Leader election over a `coordination.k8s.io/v1` Lease, as controller-runtime does for
//! Flux: of several `tug controller` replicas only the holder of the lease reconciles; the
//! others wait and take over when it stops renewing.
//!
//! Expiry is judged on this process's own clock — the time it last saw the lease record
//! change — never by comparing the holder's `renewTime` with the local clock, so clock skew
//! between machines cannot make two leaders. Writes are optimistic (`resourceVersion`), so
//! two candidates racing for a free lease cannot both win.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;
use std::time::{Duration, Instant};

/// The lease's name, in the controller's namespace (Flux names its leases the same way).
pub const LEASE_NAME: &str = "tug-controller-leader-election";

/// Flux's defaults: `--leader-election-lease-duration=35s`, `--leader-election-renew-deadline=30s`,
/// `--leader-election-retry-period=5s`.
#[derive(Debug, Clone)]
pub struct LeaseTiming {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            lease_duration: Duration::from_secs(35),
            renew_deadline: Duration::from_secs(30),
            retry_period: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("leader election lost: lease {namespace}/{name} not renewed within {deadline:?}")]
    Lost {
        namespace: String,
        name: String,
        deadline: Duration,
    },
    #[error("leader election lost: lease {namespace}/{name} taken by '{holder}'")]
    Taken {
        namespace: String,
        name: String,
        holder: String,
    },
}

/// One candidate for the lease.
pub struct Elector {
    api: Api<Lease>,
    namespace: String,
    identity: String,
    timing: LeaseTiming,
    /// The last record seen (holder, renew time) and when this process saw it change.
    observed: Option<(String, Option<String>, Instant)>,
}

impl Elector {
    pub fn new(client: Client, namespace: &str, identity: String, timing: LeaseTiming) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            identity,
            timing,
            observed: None,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits until this process holds the lease.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: reading or writing the lease failed")
                }
            }
            tokio::time::sleep(self.timing.retry_period).await;
        }
    }

    /// Renews the lease every retry period; returns when it is lost (not renewed within the
    /// renew deadline, or taken by another holder). The caller must stop reconciling then.
    pub async fn hold(&mut self) -> LeaderError {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.timing.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    let holder = self
                        .observed
                        .as_ref()
                        .map(|(h, _, _)| h.clone())
                        .unwrap_or_default();
                    return LeaderError::Taken {
                        namespace: self.namespace.clone(),
                        name: LEASE_NAME.into(),
                        holder,
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: renewing the lease failed");
                    if last_renewed.elapsed() > self.timing.renew_deadline {
                        return LeaderError::Lost {
                            namespace: self.namespace.clone(),
                            name: LEASE_NAME.into(),
                            deadline: self.timing.renew_deadline,
                        };
                    }
                }
            }
        }
    }

    /// Gives the lease up (on a graceful shutdown), so a standby takes over at once instead
    /// of waiting for it to expire.
    pub async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(LEASE_NAME).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        if let Err(e) = self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %tug_apply::describe(&e), "leader election: releasing the lease failed");
        }
    }

    /// One attempt: `Ok(true)` when this process holds the lease afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, String> {
        let describe = |e: kube::Error| tug_apply::describe(&e);
        let existing = self.api.get_opt(LEASE_NAME).await.map_err(describe)?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.into()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(None, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                // Another candidate created it first.
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(describe(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renew = spec.renew_time.as_ref().map(|t| t.0.to_string());
        let duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.timing.lease_duration);
        let changed = match &self.observed {
            Some((h, r, _)) => *h != holder || *r != renew,
            None => true,
        };
        if changed {
            self.observed = Some((holder.clone(), renew, Instant::now()));
        }
        let seen_at = self
            .observed
            .as_ref()
            .map(|(_, _, at)| *at)
            .unwrap_or_else(Instant::now);
        let mine = holder == self.identity;
        let free = holder.is_empty() || seen_at.elapsed() > duration;
        if !mine && !free {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquired = if mine {
            spec.acquire_time.clone()
        } else {
            None
        };
        lease.spec = Some(self.record(acquired, transitions));
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                let renew = written
                    .spec
                    .and_then(|s| s.renew_time)
                    .map(|t| t.0.to_string());
                self.observed = Some((self.identity.clone(), renew, Instant::now()));
                if !mine {
                    tracing::info!(identity = %self.identity, lease = LEASE_NAME, "leader election: lease acquired");
                }
                Ok(true)
            }
            // Someone else wrote it since it was read: they won this round.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(describe(e)),
        }
    }

    fn record(&self, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timing.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or_else(now)),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// A unique identity for this process: host name and a random suffix, as controller-runtime.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tug".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{host}_{:x}{:x}", std::process::id(), nanos)
}
