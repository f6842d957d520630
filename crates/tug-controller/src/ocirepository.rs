//! The OCIRepository controller: watches OCIRepositories and runs one source reconcile
//! ([`tug_source::oci_repository::reconcile`]) per change or interval, writing the status only
//! when it changed and emitting Events on new revisions and failures.
//!
//! A poll whose digest did not move costs one manifest request and writes nothing.

use crate::common::{self, Error};
use crate::source_finish::{with_source_finalizer, Finish};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;
use tug_api::OCIRepository;
use tug_source::oci_repository::Inputs;

pub use crate::source_finish::SOURCE_CONTROLLER_NAME as CONTROLLER_NAME;

/// What the reconciler needs, shared by all reconciles.
pub type Context = crate::source_finish::SourceContext;

/// One reconcile: the finalizer first (added on first sight; on deletion the object's
/// artifacts are removed from storage, as Flux does), then the steps of [`reconcile_steps`].
pub fn reconcile(
    obj: Arc<OCIRepository>,
    ctx: Arc<Context>,
) -> futures::future::BoxFuture<'static, Result<Action, Error>> {
    futures::FutureExt::boxed(async move {
        let (client, storage) = (ctx.client.clone(), ctx.storage.clone());
        with_source_finalizer(&client, &storage, "OCIRepository", obj, move |obj| {
            reconcile_steps(obj, ctx)
        })
        .await
    })
}

async fn reconcile_steps(obj: Arc<OCIRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(obj.as_ref());
    // Step 1: a suspended object is left alone until it changes.
    if obj.spec.suspend {
        tracing::debug!(%key, "suspended; skipping");
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let interval = interval(&obj);

    // Step 2: the registry credentials and TLS material, read fresh each time (Secrets may be
    // rotated); a missing Secret is reported by the reconcile.
    let credentials = match &obj.spec.secret_ref {
        None => None,
        Some(r) => Some(common::secret_data(&ctx.client, &namespace, &r.name).await?),
    };
    let tls = match &obj.spec.cert_secret_ref {
        None => None,
        Some(r) => Some(common::secret_data(&ctx.client, &namespace, &r.name).await?),
    };

    // Step 3: resolve, pull and store on a blocking thread (the registry client blocks).
    let started = std::time::Instant::now();
    let (mut status, outcome) = {
        let obj = obj.clone();
        let storage = ctx.storage.clone();
        tokio::task::spawn_blocking(move || {
            let inputs = Inputs {
                credentials: credentials.as_ref().map(|r| r.as_ref()),
                tls: tls.as_ref().map(|r| r.as_ref()),
            };
            tug_source::oci_repository::reconcile(&obj, &inputs, &storage)
        })
        .await
        .map_err(|e| Error::Other(format!("{key}: the reconcile thread failed: {e}")))?
    };

    // Step 4: record what was handled; Flux's CLI waits for these.
    status.observed_generation = obj.metadata.generation;
    if let Some(at) = common::requested_at(obj.as_ref()) {
        status.last_handled_reconcile_at = Some(at);
    }

    // Steps 5 and 6: the status (only if it changed), events, the next run.
    let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let finish = Finish {
        recorder: &ctx.recorder,
        backoff: &ctx.backoff,
        interval,
        started,
    };
    finish
        .run(api, obj.as_ref(), &status, &status.conditions, outcome)
        .await
}

/// After an error of the machinery (API unreachable, status write refused): retry with
/// exponential back-off.
pub fn error_policy(obj: Arc<OCIRepository>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = common::key(obj.as_ref());
    tracing::warn!(%key, error = %err, "reconcile error");
    Action::requeue(ctx.backoff.failed(&key))
}

/// `spec.interval`; an unparsable one (the CRD's pattern should prevent it) counts as 1 m.
fn interval(obj: &OCIRepository) -> Duration {
    tug_api::duration::parse_duration(&obj.spec.interval).unwrap_or(Duration::from_secs(60))
}
