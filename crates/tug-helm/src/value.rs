//! The values templates compute with, typed as Go's reflection sees them.
//!
//! Helm's output depends on Go types in visible ways: `typeOf`, `%T`, `eq` refusing to compare an
//! `int` with a `float64` (every number in values is a float64), `printf "%d"` of a float64, and
//! `%v` of maps and slices. So a value carries the Go type it would have in Helm, not only its
//! content. Maps are shared by reference, as Go maps are: `set`, `unset` and `merge` write into
//! the map they are given, and a template that modifies `.Values` is seen by the templates
//! rendered after it.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::func::FuncError;

/// A Go `map[string]interface{}`: shared, mutable, iterated in sorted key order (which is
/// text/template's `range` order and fmt's `%v` order; byte order of UTF-8 keys).
pub type Map = Rc<RefCell<BTreeMap<String, Value>>>;

/// What a Go slice's elements are declared as. Only `typeOf`/`%T` can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `[]interface {}`: `list`, YAML sequences, most Sprig results.
    Interface,
    /// `[]string`: `splitList`, `keys`, `regexFindAll`, `sortAlpha`, ...
    String,
    /// `[]int`: Sprig's `until` and `untilStep`.
    Int,
}

/// A Go slice. Sprig never mutates a slice it is given (`append` copies), so it is immutable.
#[derive(Debug, Clone)]
pub struct List {
    pub items: Rc<Vec<Value>>,
    pub kind: ListKind,
    /// A nil slice (Sprig's `rest`/`initial` of an empty list): `%v` prints `[]` like an empty
    /// one, but JSON encodes it as `null`.
    pub nil: bool,
}

/// Go values that are neither data nor basic types: `.Files`, `.Capabilities`, semver versions,
/// `time.Time`, ... They answer field and method lookups themselves.
pub trait Object: fmt::Debug {
    /// Go's name of the type, as `%T` prints it (`*semver.Version`, `time.Time`, ...).
    fn type_name(&self) -> String;
    /// `.name` on the object, with the arguments of the command it ends (empty for a plain field
    /// access). `None` when the object has no field or method of that name; an error when the
    /// arguments do not fit.
    fn member(&self, name: &str, args: Vec<Value>) -> Option<Result<Value, FuncError>>;
    /// `%v` of the object.
    fn format_v(&self) -> String;
    /// The value `toJson`/`toYaml` serialize (Go marshals exported fields); `Nil` by default.
    fn to_data(&self) -> Value {
        Value::Nil
    }
    /// Whether `if` takes it as true: a struct or non-nil pointer always is.
    fn truthy(&self) -> bool {
        true
    }
    /// For an object whose Go type is a map with methods (`.Files` is `map[string][]byte`):
    /// its entries in key order, which `range`, `len` and `index` use. `None` for structs.
    fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
    /// For functions that accept a particular object (`date` takes a `time.Time`).
    fn as_any(&self) -> &dyn Any;
    /// What a template action prints for the object when only its pointer is a `fmt.Stringer`:
    /// text/template takes the address of an addressable field to call `String()` (Helm's
    /// `{{ .Capabilities.KubeVersion }}` prints `v1.36.0`), while functions receive a copy and
    /// print `format_v`. `None` (the default): the action prints `format_v` too.
    fn action_string(&self) -> Option<String> {
        None
    }
    /// For a Go slice or map type with methods (Helm's `VersionSet`): the list or map that
    /// `range`, `len` and `index` see. `None` (the default) for structs and pointers.
    fn elements(&self) -> Option<Value> {
        // A Go map type with methods (`.Files`) describes itself through `map_entries`.
        self.map_entries()
            .map(|entries| Value::map(entries.into_iter().collect()))
    }
    /// The Go signature of method `name`, if the object wants the engine to check the
    /// arguments as Go does (`wrong number of args for Get: want 1 got 2`, `wrong type for
    /// value; expected string; got float64`). `None` (the default) passes them unchecked.
    fn method_sig(&self, _name: &str) -> Option<crate::func::Sig> {
        None
    }
}

/// A value in a template.
#[derive(Clone)]
pub enum Value {
    /// A nil interface: a missing map key under Helm's `missingkey=zero`, YAML `null`, `nil`.
    Nil,
    Bool(bool),
    /// Go `int`: template integer literals, `len`, `atoi`, `int`, range indexes.
    Int(i64),
    /// Go `int64`: Sprig's integer arithmetic (`add`, `mul`, ...) and `int64`.
    Int64(i64),
    /// Go `float64`: every number in values (they arrive through JSON), float literals.
    Float(f64),
    String(Rc<str>),
    /// Go `[]byte`: `.Files.GetBytes`, ranging over `.Files.Glob`.
    Bytes(Rc<[u8]>),
    List(List),
    Map(Map),
    Object(Rc<dyn Object>),
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::String(Rc::from(s.as_ref()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List {
            items: Rc::new(items),
            kind: ListKind::Interface,
            nil: false,
        })
    }

    /// A nil `[]interface {}`.
    pub fn nil_list() -> Value {
        Value::List(List {
            items: Rc::new(Vec::new()),
            kind: ListKind::Interface,
            nil: true,
        })
    }

    pub fn string_list(items: Vec<String>) -> Value {
        Value::List(List {
            items: Rc::new(items.into_iter().map(Value::from).collect()),
            kind: ListKind::String,
            nil: false,
        })
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The integer of an `int` or `int64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// Go's type name, as `%T` and Sprig's `typeOf` print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(l) => match l.kind {
                ListKind::Interface => "[]interface {}".into(),
                ListKind::String => "[]string".into(),
                ListKind::Int => "[]int".into(),
            },
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's reflect kind name, as Sprig's `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => {
                if o.type_name().starts_with('*') {
                    "ptr"
                } else {
                    "struct"
                }
            }
        }
    }

    /// text/template's truth: false, 0, nil, and empty strings, slices and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// A copy that shares no map with the original (Helm copies values before coalescing).
    pub fn deep_clone(&self) -> Value {
        match self {
            Value::Map(m) => Value::map(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_clone()))
                    .collect(),
            ),
            Value::List(l) => Value::List(List {
                items: Rc::new(l.items.iter().map(Value::deep_clone).collect()),
                kind: l.kind,
                nil: l.nil,
            }),
            other => other.clone(),
        }
    }

    /// `fmt.Sprint`-style `%v` text of the value.
    pub fn format_v(&self) -> String {
        let mut out = String::new();
        self.write_v(&mut out);
        out
    }

    fn write_v(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_float_v(*f)),
            Value::String(s) => out.push_str(s),
            Value::Bytes(b) => {
                out.push('[');
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(&byte.to_string());
                }
                out.push(']');
            }
            Value::List(l) => {
                out.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_v(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_v(out);
                }
                out.push(']');
            }
            Value::Object(o) => out.push_str(&o.format_v()),
        }
    }
}

/// Go's `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)` with fmt's spellings of the
/// specials (`+Inf`, `-Inf`, `NaN`). So 1000000 prints as `1e+06`, as Helm users know it.
pub fn format_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    tug_kustomize::yaml::number::format_go_g(f)
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.type_name(), self.format_v())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Rc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formatting_of_composites() {
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), Value::Float(1e6));
        m.insert(
            "a".to_string(),
            Value::list(vec![Value::Int(1), Value::Nil]),
        );
        let v = Value::map(m);
        assert_eq!(v.format_v(), "map[a:[1 <nil>] b:1e+06]");
        assert_eq!(v.type_name(), "map[string]interface {}");
        assert_eq!(Value::Float(3.0).format_v(), "3");
    }
}
