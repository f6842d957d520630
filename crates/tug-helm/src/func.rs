//! Template functions as the engine calls them.
//!
//! Go's text/template checks each argument against the function's declared parameter type with
//! reflection before the call, and its messages are part of what users see (`wrong type for
//! value; expected string; got float64`, `wrong number of args for upper: want 1 got 2`). So a
//! function declares its Go signature and the engine does that checking and conversion; the
//! function body only sees arguments that fit.

use crate::value::Value;

/// A Go parameter type, as far as argument checking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `interface{}`: anything, nil included.
    Any,
    String,
    /// `int`: a Go `int` or an integer constant. Like Go, the engine refuses an `int64` here
    /// (`until (add 1 2)` fails: `wrong type for value; expected int; got int64`).
    Int,
    Int64,
    Float64,
    Bool,
    /// `map[string]interface{}`: a map; nil (a missing value) arrives as `Value::Nil`.
    Map,
    /// `[]interface{}`; nil arrives as `Value::Nil`.
    List,
    /// `[]string`
    StringList,
    /// `[]byte`
    Bytes,
}

impl Ty {
    /// Go's spelling of the type, for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::String => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float64 => "float64",
            Ty::Bool => "bool",
            Ty::Map => "map[string]interface {}",
            Ty::List => "[]interface {}",
            Ty::StringList => "[]string",
            Ty::Bytes => "[]uint8",
        }
    }
}

/// A function's Go signature: fixed parameters, then optionally a variadic one.
#[derive(Debug, Clone, Copy)]
pub struct Sig {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
}

impl Sig {
    pub const fn fixed(params: &'static [Ty]) -> Sig {
        Sig {
            params,
            variadic: None,
        }
    }

    pub const fn variadic(params: &'static [Ty], rest: Ty) -> Sig {
        Sig {
            params,
            variadic: Some(rest),
        }
    }
}

/// Why a call failed. The engine wraps it as Go does: `error calling NAME: MESSAGE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FuncError {
    /// The function returned an error (or panicked, in Go).
    #[error("{0}")]
    Msg(String),
}

impl FuncError {
    pub fn msg(m: impl Into<String>) -> FuncError {
        FuncError::Msg(m.into())
    }
}

/// A pure template function: no access to the template set (`include` and `tpl` are the
/// engine's own).
pub type FuncImpl = fn(Vec<Value>) -> Result<Value, FuncError>;

/// A named function with its signature.
#[derive(Debug, Clone, Copy)]
pub struct Func {
    pub name: &'static str,
    pub sig: Sig,
    pub imp: FuncImpl,
}
