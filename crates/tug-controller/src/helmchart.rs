//! The HelmChart controller: finds the chart's source (a HelmRepository's index, or a
//! GitRepository's or OCIRepository's files, all in this process's storage) and runs one
//! reconcile ([`tug_source::helm_chart::reconcile`]) per change or interval.

use crate::common::{self, Error};
use crate::source_finish::{with_source_finalizer, Finish};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;
use tug_api::meta::Artifact;
use tug_api::{GitRepository, HelmChart, HelmRepository, OCIRepository};
use tug_source::helm::HttpOptions;
use tug_source::helm_chart::Source;

/// What the reconciler needs, shared by all reconciles.
pub type Context = crate::source_finish::SourceContext;

/// One reconcile: Flux's finalizer first (the chart artifacts leave storage with the object),
/// then the steps of [`reconcile_steps`].
pub fn reconcile(
    obj: Arc<HelmChart>,
    ctx: Arc<Context>,
) -> futures::future::BoxFuture<'static, Result<Action, Error>> {
    futures::FutureExt::boxed(async move {
        let (client, storage) = (ctx.client.clone(), ctx.storage.clone());
        with_source_finalizer(&client, &storage, "HelmChart", obj, move |obj| {
            reconcile_steps(obj, ctx)
        })
        .await
    })
}

async fn reconcile_steps(obj: Arc<HelmChart>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(obj.as_ref());
    if obj.spec.suspend {
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let interval =
        tug_api::duration::parse_duration(&obj.spec.interval).unwrap_or(Duration::from_secs(60));

    // Step 2: the source, read fresh each time.
    let source = find_source(&obj, &ctx, &namespace).await?;

    // Step 3: pull or package, and store, on a blocking thread.
    let started = std::time::Instant::now();
    let (mut status, outcome) = {
        let obj = obj.clone();
        let storage = ctx.storage.clone();
        tokio::task::spawn_blocking(move || {
            tug_source::helm_chart::reconcile(&obj, source, &storage)
        })
        .await
        .map_err(|e| Error::Other(format!("{key}: the reconcile thread failed: {e}")))?
    };
    if let Some(at) = common::requested_at(obj.as_ref()) {
        status.last_handled_reconcile_at = Some(at);
    }

    // Steps 4 and 5: the status (only if it changed), events, the next run.
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), &namespace);
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

/// The chart's source as the reconcile needs it, or why it cannot be used.
async fn find_source(obj: &HelmChart, ctx: &Context, namespace: &str) -> Result<Source, Error> {
    let src = &obj.spec.source_ref;
    let unavailable = |message: String, stalled: bool| Source::Unavailable {
        reason: "SourceUnavailable",
        message,
        stalled,
    };
    let not_found = || unavailable(format!("{} '{}' not found", src.kind, src.name), false);
    let files = |artifact: Option<Artifact>| match artifact {
        None => unavailable(
            format!(
                "no artifact available for {} source '{}'",
                src.kind, src.name
            ),
            false,
        ),
        Some(a) => match ctx.storage.local_path(&a.path) {
            Some(archive) => Source::Files {
                archive,
                revision: a.revision,
            },
            None => unavailable(format!("invalid artifact path '{}'", a.path), true),
        },
    };
    let read = |what: String| move |e: kube::Error| Error::kube(what, e);
    Ok(match src.kind.as_str() {
        "GitRepository" => {
            let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), namespace);
            match api
                .get_opt(&src.name)
                .await
                .map_err(read(format!("reading GitRepository {}", src.name)))?
            {
                None => not_found(),
                Some(r) => files(r.status.and_then(|s| s.artifact)),
            }
        }
        "OCIRepository" => {
            let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), namespace);
            match api
                .get_opt(&src.name)
                .await
                .map_err(read(format!("reading OCIRepository {}", src.name)))?
            {
                None => not_found(),
                Some(r) => files(r.status.and_then(|s| s.artifact)),
            }
        }
        "HelmRepository" => {
            let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), namespace);
            match api
                .get_opt(&src.name)
                .await
                .map_err(read(format!("reading HelmRepository {}", src.name)))?
            {
                None => not_found(),
                Some(repo) if repo.spec.is_oci() => registry_source(repo, ctx, namespace).await?,
                Some(repo) => repository_source(repo, ctx, namespace).await?,
            }
        }
        other => unavailable(
            format!("source kind '{other}' is not supported by tug yet"),
            true,
        ),
    })
}

/// A HelmRepository of `type: oci`: its URL and registry client options (credentials from
/// a dockerconfigjson or `username`/`password` Secret, TLS from its cert Secret, plain HTTP
/// when `insecure`).
async fn registry_source(
    repo: HelmRepository,
    ctx: &Context,
    namespace: &str,
) -> Result<Source, Error> {
    let read = |name: Option<String>| async move {
        match name {
            None => Ok(None),
            Some(n) => common::secret_data(&ctx.client, namespace, &n)
                .await
                .map(Some),
        }
    };
    let auth = read(repo.spec.secret_ref.as_ref().map(|r| r.name.clone())).await?;
    let cert = read(repo.spec.cert_secret_ref.as_ref().map(|r| r.name.clone())).await?;
    let (auth, cert) = match (secret_or_why(&auth), secret_or_why(&cert)) {
        (Ok(a), Ok(c)) => (a, c),
        (Err(message), _) | (_, Err(message)) => {
            return Ok(Source::Unavailable {
                reason: "AuthenticationFailed",
                message,
                stalled: false,
            })
        }
    };
    let mut options = tug_source::oci::ClientOptions {
        plain_http: repo.spec.insecure,
        timeout: tug_api::duration::parse_duration(repo.spec.timeout_or_default())
            .unwrap_or(Duration::from_secs(60)),
        ..Default::default()
    };
    if let Some(data) = auth {
        let text = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(v).trim_end().to_string())
        };
        if data.contains_key(".dockerconfigjson") {
            match tug_source::oci::DockerConfig::from_secret(data) {
                Ok(config) => options.docker_config = Some(config),
                Err(e) => {
                    return Ok(Source::Unavailable {
                        reason: "AuthenticationFailed",
                        message: e.to_string(),
                        stalled: false,
                    })
                }
            }
        } else if let (Some(user), Some(password)) = (text("username"), text("password")) {
            options.credentials = Some(tug_source::oci::Credentials::new(user, password));
        }
    }
    if let Some(data) = cert {
        options.ca_pem = data.get("ca.crt").cloned();
        options.client_cert_pem = data.get("tls.crt").cloned();
        options.client_key_pem = data.get("tls.key").cloned();
    }
    Ok(Source::Registry {
        url: repo.spec.url.clone(),
        options,
    })
}

/// A HelmRepository's index and the client options of its Secrets.
async fn repository_source(
    repo: HelmRepository,
    ctx: &Context,
    namespace: &str,
) -> Result<Source, Error> {
    let name = repo.name_any();
    let Some(artifact) = repo.status.as_ref().and_then(|s| s.artifact.clone()) else {
        return Ok(Source::Unavailable {
            reason: "SourceUnavailable",
            message: format!("no artifact available for HelmRepository source '{name}'"),
            stalled: false,
        });
    };
    let Some(index) = ctx.storage.local_path(&artifact.path) else {
        return Ok(Source::Unavailable {
            reason: "SourceUnavailable",
            message: format!("invalid artifact path '{}'", artifact.path),
            stalled: true,
        });
    };
    let secret = |r: Option<&tug_api::meta::LocalObjectReference>| {
        let r = r.cloned();
        async move {
            match r {
                None => Ok(None),
                Some(r) => common::secret_data(&ctx.client, namespace, &r.name)
                    .await
                    .map(Some),
            }
        }
    };
    let auth = secret(repo.spec.secret_ref.as_ref()).await?;
    let cert = secret(repo.spec.cert_secret_ref.as_ref()).await?;
    let options = secret_or_why(&auth)
        .and_then(|a| secret_or_why(&cert).map(|c| (a, c)))
        .and_then(|(a, c)| HttpOptions::from_secrets(a, c));
    Ok(match options {
        Err(message) => Source::Unavailable {
            reason: "AuthenticationFailed",
            message,
            stalled: false,
        },
        Ok(mut options) => {
            options.pass_credentials = repo.spec.pass_credentials;
            options.timeout = tug_api::duration::parse_duration(repo.spec.timeout_or_default())
                .unwrap_or(Duration::from_secs(60));
            Source::Repository {
                url: repo.spec.url.clone(),
                index,
                revision: artifact.revision,
                options,
            }
        }
    })
}

type SecretData = std::collections::BTreeMap<String, Vec<u8>>;

/// A Secret's data as read, or the message saying why it is missing.
fn secret_or_why(read: &Option<Result<SecretData, String>>) -> Result<Option<&SecretData>, String> {
    match read {
        Some(Ok(data)) => Ok(Some(data)),
        Some(Err(why)) => Err(why.clone()),
        None => Ok(None),
    }
}

/// After an error of the machinery: retry with exponential back-off.
pub fn error_policy(obj: Arc<HelmChart>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = common::key(obj.as_ref());
    tracing::warn!(%key, error = %err, "reconcile error");
    Action::requeue(ctx.backoff.failed(&key))
}
