//! YAML in (go-yaml v3 semantics) and out (go-yaml v2 `Marshal` of the JSON form), as
//! `kubectl kustomize` reads and prints it.

pub mod emit;
pub mod events;
pub mod json;
pub mod number;
pub mod parse;
pub mod resolve;
pub mod sort;
pub mod value;

pub use emit::{to_yaml, to_yaml_indented_sequences};
pub use parse::{
    parse_documents, parse_documents_go_yaml_v2, parse_documents_yaml11, ParseError, ParseErrorKind,
};
pub use value::{Map, Value};
