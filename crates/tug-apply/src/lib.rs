//! The apply engine: server-side apply that writes only on drift, in stages, with inventory,
//! prune, health and diff (the last ones arrive with the apply-engine issue).

pub mod ssa;

pub use ssa::{apply_one, Action, ApplyError, ApplyOptions};
