//! The apply engine: staged server-side apply that writes only on drift, inventory, prune,
//! health and diff. The Kustomization reconciler and `tug apply` drive it.

pub mod apply;
pub mod diff;
pub mod discovery;
pub mod drift;
pub mod health;
pub mod inventory;
pub mod object;
pub mod prune;

pub use apply::{Action, Applier, ApplyError, ApplyOptions, Change, ChangeSet, Owner};
pub use discovery::Discovery;
pub use object::{ObjectId, VersionedId};

/// A kube error as one line, with its causes (connection refused, TLS, the API's message).
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        _ => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let text = s.to_string();
                if !msg.contains(&text) {
                    msg.push_str(": ");
                    msg.push_str(&text);
                }
                source = s.source();
            }
            msg
        }
    }
}
