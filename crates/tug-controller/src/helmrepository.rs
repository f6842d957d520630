//! The HelmRepository controller: fetches the index of `type: default` repositories into an
//! artifact ([`tug_source::helm_repository::reconcile`]), asking the server only for changes
//! (the ETag and Last-Modified of the fetch that made the current artifact are kept here, in
//! memory: after a restart the first fetch is unconditional).

use crate::common::{self, Backoff, Error};
use crate::source_finish::{with_source_finalizer, Finish};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tug_api::HelmRepository;
use tug_source::helm::Validators;
use tug_source::helm_repository::Inputs;
use tug_source::Storage;

/// What the reconciler needs, shared by all reconciles.
pub struct Context {
    pub client: Client,
    pub storage: Storage,
    pub recorder: Recorder,
    pub backoff: Backoff,
    /// Per object, the validators of the fetch that produced its current artifact.
    validators: Mutex<HashMap<String, Validators>>,
}

impl Context {
    pub fn new(client: Client, storage: Storage) -> Self {
        Context {
            recorder: Recorder::new(
                client.clone(),
                common::reporter(crate::source_finish::SOURCE_CONTROLLER_NAME),
            ),
            client,
            storage,
            backoff: Backoff::default(),
            validators: Mutex::default(),
        }
    }
}

/// One reconcile: Flux's finalizer first (the index artifacts leave storage with the object),
/// then the steps of [`reconcile_steps`].
pub fn reconcile(
    obj: Arc<HelmRepository>,
    ctx: Arc<Context>,
) -> futures::future::BoxFuture<'static, Result<Action, Error>> {
    futures::FutureExt::boxed(async move {
        let (client, storage) = (ctx.client.clone(), ctx.storage.clone());
        with_source_finalizer(&client, &storage, "HelmRepository", obj, move |obj| {
            reconcile_steps(obj, ctx)
        })
        .await
    })
}

async fn reconcile_steps(obj: Arc<HelmRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = common::key(obj.as_ref());
    // Step 1: a suspended object is left alone until it changes.
    if obj.spec.suspend {
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().unwrap_or_default();
    let interval = tug_api::duration::parse_duration(obj.spec.interval_or_default())
        .unwrap_or(Duration::from_secs(60));

    // Step 2: credentials and TLS material, read fresh each time.
    let auth = match &obj.spec.secret_ref {
        None => None,
        Some(r) => Some(common::secret_data(&ctx.client, &namespace, &r.name).await?),
    };
    let cert = match &obj.spec.cert_secret_ref {
        None => None,
        Some(r) => Some(common::secret_data(&ctx.client, &namespace, &r.name).await?),
    };
    let validators = ctx
        .validators
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned()
        .unwrap_or_default();

    // Step 3: fetch and store on a blocking thread.
    let started = std::time::Instant::now();
    let reconciled = {
        let obj = obj.clone();
        let storage = ctx.storage.clone();
        tokio::task::spawn_blocking(move || {
            let inputs = Inputs {
                auth: auth.as_ref().map(|r| r.as_ref()),
                cert: cert.as_ref().map(|r| r.as_ref()),
                validators,
            };
            tug_source::helm_repository::reconcile(&obj, &inputs, &storage)
        })
        .await
        .map_err(|e| Error::Other(format!("{key}: the reconcile thread failed: {e}")))?
    };
    ctx.validators
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, reconciled.validators);

    // Step 4: record what was handled; Flux's CLI waits for these.
    let mut status = reconciled.status;
    if let Some(at) = common::requested_at(obj.as_ref()) {
        status.last_handled_reconcile_at = Some(at);
    }
    if obj.spec.is_oci() {
        // Static: written once, never polled.
        let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &namespace);
        crate::status::StatusWriter::new(api, obj.as_ref())
            .write(&status)
            .await?;
        return Ok(Action::await_change());
    }

    // Steps 5 and 6: the status (only if it changed), events, the next run.
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let finish = Finish {
        recorder: &ctx.recorder,
        backoff: &ctx.backoff,
        interval,
        started,
    };
    finish
        .run(
            api,
            obj.as_ref(),
            &status,
            &status.conditions,
            reconciled.outcome,
        )
        .await
}

/// After an error of the machinery: retry with exponential back-off.
pub fn error_policy(obj: Arc<HelmRepository>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = common::key(obj.as_ref());
    tracing::warn!(%key, error = %err, "reconcile error");
    Action::requeue(ctx.backoff.failed(&key))
}
