//! Real components for integration tests: the local Kubernetes control plane (one per test
//! binary, shared by its tests, a namespace per test), a node and pod simulator, and real Git
//! servers on loopback. No mocks.

pub mod chartrepo;
pub mod cluster;
pub mod git;
mod lighttpd;
pub mod oracle;
pub mod programs;
pub mod registry;
pub mod simulator;

pub use cluster::{cluster, TestCluster, TestNamespace};
