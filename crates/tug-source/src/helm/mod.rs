//! Helm HTTP chart repositories (`HelmRepository` of `type: default`, and the charts a
//! `HelmChart` takes from one), as Flux's source-controller reads them.
//!
//! 1. [`fetch_index`] downloads `<url>/index.yaml` to a temporary file with a size cap,
//!    hashing it as it streams, and checks it is a Helm index ([`validate_index`]); with the
//!    ETag/Last-Modified of the previous fetch it asks the server for changes only.
//! 2. [`store_index`] keeps the file as the artifact, revision and digest `sha256:<hex>` of
//!    the index's bytes (Flux's revision).
//! 3. [`IndexQuery::find`] picks a chart version from the stored file by a semver range, as
//!    Flux and Helm pick it, reading the file as a stream of YAML events: memory stays small
//!    whatever the size of the index (fluxcd/flux2#3620).
//! 4. [`download_chart`] fetches the chart's archive from the URL the index gives, checks
//!    its digest and that it is a loadable chart.
//!
//! [`write_index`] writes an index for packaged charts, as `helm repo index` does.

pub mod artifact;
pub mod chart;
pub mod error;
pub mod http;
pub mod index;
pub mod index_writer;
pub mod repository;

pub use artifact::{index_revision, store_index};
pub use chart::{download_chart, resolve_chart_url, DownloadedChart, DEFAULT_MAX_CHART_SIZE};
pub use error::HelmError;
pub use http::HttpOptions;
pub use index::{validate_index, ChartVersionEntry, IndexQuery, IndexSummary};
pub use index_writer::{write_index, IndexEntry};
pub use repository::{fetch_index, Fetched, FetchedIndex, Validators, DEFAULT_MAX_INDEX_SIZE};
