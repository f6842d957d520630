//! A native Helm engine: Go's text/template, Sprig v3 and Helm's own functions, chart loading,
//! values coalescing and the release manifest, byte-identical with Helm v4.
//!
//! Pure: no cluster and no network. The `lookup` function is answered through a trait so that the
//! controller can serve it from a cluster while `tug helm template` answers it empty, as Helm's
//! client-only rendering does.

pub mod chart;
pub mod engine;
pub mod func;
pub mod funcs;
pub mod install;
pub mod release;
pub mod template;
pub mod value;
pub mod values;

pub use chart::{load, load_archive, load_dir, Chart, LoadError};
pub use func::{Func, FuncError, Sig, Ty};
pub use value::{List, Map, Object, Value};
