//! The template functions Helm v4.2.3 offers besides text/template's builtins: Sprig v3.3.0's
//! `TxtFuncMap` without `env` and `expandenv`, and Helm's own from pkg/engine (`toYaml`,
//! `fromJson`, `toToml`, `required`, `fail`, ...). `include`, `tpl` and `lookup` need the
//! template set or a cluster and belong to the engine.
//!
//! Each function declares its Go signature as Sprig or Helm declare it, so the engine rejects
//! arguments exactly as Go's reflection does (`upper 3` fails, `quote 3` does not). A Go panic
//! inside a function (`first` of a string, `regexFind` with a bad pattern) is returned as a
//! [`FuncError`] carrying the panic's text, which is what text/template reports for it.
//!
//! [`HELM_FUNCTION_NAMES`] lists every name Helm makes available; [`all`] implements each one.
//!
//! For the engine:
//! - `required` and `fail` return their message between [`HELM_ERR_START`] and
//!   [`HELM_ERR_END`], as Helm does; Helm's engine turns that into
//!   `execution error at (<template>:<line>:<col>): <message>`.
//! - `trunc`, `substr`, `abbrev`, `wrap`, `b64dec`, ... cut bytes; a result that is not valid
//!   UTF-8 comes back as `Value::Bytes` (Go keeps such bytes in a string), which `quote`,
//!   `toString` and printing read back byte for byte.
//! - Parameters Go declares as `time.Time`, `uint32` or Sprig's `certificate` are declared
//!   `Any`/`Int` here and checked by the function itself.
//!
//! Known differences from Helm: `keys` and `values` come out in key order (Go's map order is
//! random); `genPrivateKey "dsa"` is not supported; `fromToml` error texts come from the `toml`
//! crate; `semver`'s `Major`/`Minor`/`Patch` are `int`, not `uint64`, for `typeOf`.
//! Size limits Helm does not have: strings past 64 MiB (`repeat`, `indent`, `join`, random
//! strings) and sequences past a million numbers (`until`, `untilStep`, `seq`) are refused
//! with an error instead of exhausting memory.

mod case;
mod cert;
mod conv;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod gojson;
mod gotime;
mod helm;
mod lists;
mod math;
mod paths;
mod reflect;
mod regexp;
mod semver;
mod strings;
mod toml;

use crate::func::{Func, FuncError, FuncImpl, Sig, Ty};
use crate::value::{ListKind, Value};

pub use conv::{strval, to_float64, to_int64};
pub use defaults::is_empty;
pub use helm::{HELM_ERR_END, HELM_ERR_START};
pub use reflect::deep_equal;

/// Every function name a Helm v4.2.3 template can call that this module provides: Sprig's
/// generic map (deprecated aliases included) minus `env` and `expandenv`, plus Helm's
/// additions. The engine adds `include`, `tpl` and `lookup`, and text/template its builtins.
pub const HELM_FUNCTION_NAMES: &[&str] = &[
    // Sprig: dates
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    // Sprig: strings
    "hello",
    "abbrev",
    "abbrevboth",
    "trunc",
    "trim",
    "upper",
    "lower",
    "title",
    "untitle",
    "substr",
    "repeat",
    "trimall",
    "trimAll",
    "trimSuffix",
    "trimPrefix",
    "nospace",
    "initials",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "replace",
    "plural",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "adler32sum",
    "toString",
    // Sprig: conversions and math
    "atoi",
    "int64",
    "int",
    "float64",
    "seq",
    "toDecimal",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "until",
    "untilStep",
    "add1",
    "add",
    "sub",
    "div",
    "mod",
    "mul",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "join",
    "sortAlpha",
    // Sprig: defaults, JSON, flow
    "default",
    "empty",
    "coalesce",
    "all",
    "any",
    "compact",
    "mustCompact",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "ternary",
    "deepCopy",
    "mustDeepCopy",
    // Sprig: reflection
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    // Sprig: network, paths, encodings
    "getHostByName",
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b64enc",
    "b64dec",
    "b32enc",
    "b32dec",
    // Sprig: dicts
    "tuple",
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    // Sprig: lists
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "first",
    "mustFirst",
    "rest",
    "mustRest",
    "last",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "has",
    "mustHas",
    "slice",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    // Sprig: crypto
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
    "uuidv4",
    // Sprig: semver, flow control, regex, URLs
    "semver",
    "semverCompare",
    "fail",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    "urlParse",
    "urlJoin",
    // Helm (pkg/engine/funcs.go and engine.go)
    "toToml",
    "mustToToml",
    "fromToml",
    "toYaml",
    "mustToYaml",
    "toYamlPretty",
    "fromYaml",
    "fromYamlArray",
    "fromJsonArray",
    "required",
];

/// Every function of [`HELM_FUNCTION_NAMES`], each with its Go signature.
pub fn all() -> Vec<Func> {
    let mut out = Vec::new();
    out.extend(strings::funcs());
    out.extend(conv::funcs());
    out.extend(math::funcs());
    out.extend(lists::funcs());
    out.extend(dicts::funcs());
    out.extend(defaults::funcs());
    out.extend(reflect::funcs());
    out.extend(encoding::funcs());
    out.extend(regexp::funcs());
    out.extend(semver::funcs());
    out.extend(dates::funcs());
    out.extend(paths::funcs());
    out.extend(crypto::funcs());
    out.extend(helm::funcs());
    out.extend(toml::funcs());
    out
}

/// A function with fixed parameters.
pub(crate) fn fixed(name: &'static str, params: &'static [Ty], imp: FuncImpl) -> Func {
    Func {
        name,
        sig: Sig::fixed(params),
        imp,
    }
}

/// A function whose last parameter is variadic.
pub(crate) fn variadic(name: &'static str, params: &'static [Ty], rest: Ty, imp: FuncImpl) -> Func {
    Func {
        name,
        sig: Sig::variadic(params, rest),
        imp,
    }
}

/// The text of a `string` argument (the engine has checked its type).
pub(crate) fn arg_str(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

/// The value of an `int` argument (the engine has checked and converted it).
pub(crate) fn arg_int(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(n)) | Some(Value::Int64(n)) => *n,
        Some(Value::Float(f)) => *f as i64,
        _ => 0,
    }
}

/// An argument, `Nil` when absent.
pub(crate) fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::Nil)
}

/// A string result that may not be valid UTF-8 (Sprig's byte-wise cuts): Go keeps such bytes in
/// a string; here they travel as `[]byte`, which every string consumer reads back as bytes.
pub(crate) fn bytes_result(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::from(s),
        Err(e) => Value::Bytes(e.into_bytes().into()),
    }
}

/// The message of Go's nil-pointer panic, which `reflect.TypeOf(nil).Kind()` raises when a
/// Sprig list function is given nil.
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// The items of a slice argument the way Sprig's reflection reads them, or the error message
/// Sprig gives (`Cannot <what> on type <kind>`) for anything else.
pub(crate) fn slice_items(v: &Value, refusal: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.items.as_ref().clone()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        Value::Nil => Err(FuncError::msg(NIL_DEREF)),
        other => Err(FuncError::msg(format!("{refusal} {}", other.kind_name()))),
    }
}

/// A `[]string` result.
pub(crate) fn string_list(items: Vec<String>) -> Value {
    Value::string_list(items)
}

/// An `[]int` result.
pub(crate) fn int_list(items: Vec<i64>) -> Value {
    Value::List(crate::value::List {
        items: std::rc::Rc::new(items.into_iter().map(Value::Int).collect()),
        kind: ListKind::Int,
        nil: false,
    })
}

/// A value as Helm reads values files, for tests.
#[cfg(test)]
pub(crate) fn helm_test_value(yaml: &str) -> Value {
    let docs = tug_kustomize::yaml::parse_documents_go_yaml_v2(yaml).expect("test YAML");
    helm::from_yaml_value(&docs[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_helm_function_is_implemented_once() {
        let funcs = all();
        let implemented: Vec<&str> = funcs.iter().map(|f| f.name).collect();
        let unique: BTreeSet<&str> = implemented.iter().copied().collect();
        assert_eq!(
            unique.len(),
            implemented.len(),
            "a function is registered twice"
        );
        let expected: BTreeSet<&str> = HELM_FUNCTION_NAMES.iter().copied().collect();
        let missing: Vec<_> = expected.difference(&unique).collect();
        let extra: Vec<_> = unique.difference(&expected).collect();
        assert!(missing.is_empty(), "not implemented: {missing:?}");
        assert!(extra.is_empty(), "not in Helm's list: {extra:?}");
        assert!(!unique.contains("env") && !unique.contains("expandenv"));
    }
}
