//! Values: reading YAML as Helm types it, coalescing chart defaults with user values,
//! dependency processing (conditions, tags, aliases, import-values), `--set` parsing and
//! `values.schema.json` validation.

pub mod yaml;

pub use yaml::{load_values, merge_maps, ValuesError};
pub mod coalesce;
pub mod dependencies;
pub mod literal;
pub mod options;
pub mod strvals;

pub use coalesce::{coalesce_values, merge_values, CoalesceError, GLOBAL_KEY};
pub use dependencies::{check_dependencies, process_dependencies, DependencyError};
pub use options::{merge_user_values, UserValuesError, ValueOptions};
pub(crate) mod quote;
pub mod schema;

pub use schema::{validate_schema, SchemaError};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::chart::Chart;
use crate::value::{Map, Value};

/// A new, empty Go map.
pub(crate) fn new_map() -> Map {
    Rc::new(RefCell::new(BTreeMap::new()))
}

/// Why a chart's values could not be prepared for rendering. Messages are Helm's (the
/// command line adds its own prefix for [`PrepareError::Dependencies`] of the missing kind).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    MissingDependencies(DependencyError),
    #[error("chart dependencies processing failed: {0}")]
    Dependencies(DependencyError),
    #[error(transparent)]
    Coalesce(CoalesceError),
    #[error("{0}")]
    Schema(SchemaError),
}

/// Everything `helm install`/`helm template` does with values before rendering, in its order:
/// checks declared dependencies are present, processes them (conditions, tags, aliases,
/// import-values: `chart` is changed accordingly), coalesces the chart's defaults with `user`
/// and validates the result against every `values.schema.json`. Returns `.Values`.
pub fn prepare_values(chart: &mut Chart, user: &Value) -> Result<Value, PrepareError> {
    check_dependencies(chart).map_err(PrepareError::MissingDependencies)?;
    process_dependencies(chart, user).map_err(PrepareError::Dependencies)?;
    let values = coalesce_values(chart, user).map_err(PrepareError::Coalesce)?;
    validate_schema(chart, &values).map_err(PrepareError::Schema)?;
    Ok(values)
}

/// `.Values` of a subchart named `name` whose parent's templates see `parent`: the parent's
/// `.Values.<name>` when it is a map (the same map, shared as in Helm), else an empty map.
/// Helm looks the name up as a dotted path, so a subchart named `a.b` finds `.Values.a.b`.
pub fn subchart_values(parent: &Value, name: &str) -> Value {
    coalesce::table(parent, name).map_or_else(Value::empty_map, Value::Map)
}
