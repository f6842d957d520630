//! Values: reading YAML as Helm types it, coalescing chart defaults with user values,
//! dependency processing (conditions, tags, aliases, import-values), `--set` parsing and
//! `values.schema.json` validation.

pub mod yaml;

pub use yaml::{load_values, merge_maps, ValuesError};
