//! Reconcilers that wire sources, rendering and apply together: the GitOps loop.

pub mod render;
