use super::*;
use serde_json::json;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Expansion in Flux's default, non-strict mode.
fn expand(text: &str, pairs: &[(&str, &str)]) -> Result<String, TextError> {
    substitute_text(text, &vars(pairs), false)
}

fn strict(text: &str, pairs: &[(&str, &str)]) -> Result<String, TextError> {
    substitute_text(text, &vars(pairs), true)
}

fn ok(text: &str, pairs: &[(&str, &str)]) -> String {
    match expand(text, pairs) {
        Ok(out) => out,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn syntax(text: &str) -> SyntaxError {
    match expand(text, &[("x", "hello")]) {
        Err(TextError::Syntax(e)) => e,
        other => panic!("{text:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn plain_values_and_text() {
    let v = [("env", "staging"), ("empty", "")];
    assert_eq!(ok("abcdEFGH28ij", &v), "abcdEFGH28ij");
    assert_eq!(ok("a-${env}-b", &v), "a-staging-b");
    assert_eq!(ok("${missing}", &v), "");
    assert_eq!(ok("${empty}", &v), "");
    assert_eq!(ok("}text", &v), "}text");
    assert_eq!(ok("http://github.com", &v), "http://github.com");
    assert_eq!(ok(r"\\.\pipe\pipename", &v), r"\\.\pipe\pipename");
    assert_eq!(ok("${1abc}", &v), "", "names may start with a digit");
}

#[test]
fn dollars_outside_braces() {
    let v = [("var01", "abcdEFGH28ij"), ("default_var", "foo")];
    assert_eq!(ok("$var01 stays", &v), "$var01 stays");
    assert_eq!(ok("$${var01}", &v), "${var01}");
    assert_eq!(ok("$$string", &v), "$string");
    assert_eq!(ok("$", &v), "$");
    assert_eq!(ok("$$", &v), "$");
    assert_eq!(ok("$$$", &v), "$$");
    assert_eq!(ok("$$${var01}", &v), "$abcdEFGH28ij");
    assert_eq!(ok("cost: $5", &v), "cost: $5");
    assert_eq!(
        ok("some text ${var01}$${var$${var01}$var01${var01}", &v),
        "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij"
    );
    assert_eq!(
        ok("something $${var=${default_var}}", &v),
        "something ${var=foo}"
    );
    assert_eq!(
        ok("\\\\something ${var=${default_var}}", &v),
        "\\\\something foo"
    );
}

#[test]
fn length() {
    assert_eq!(ok("${#var01}", &[("var01", "abcdEFGH28ij")]), "12");
    assert_eq!(ok("${#x}", &[("x", "Hello World")]), "11");
    assert_eq!(ok("${#x}", &[("x", "é")]), "2", "bytes, as in Go");
    assert_eq!(ok("${#missing}", &[]), "0");
    assert_eq!(ok("hello ${#x} world", &[("x", "abc")]), "hello 3 world");
}

#[test]
fn case() {
    let v = [("lo", "abcdEFGH28ij"), ("up", "ABCDEFGH28IJ")];
    assert_eq!(ok("${lo^}", &v), "AbcdEFGH28ij");
    assert_eq!(ok("${lo^^}", &v), "ABCDEFGH28IJ");
    assert_eq!(ok("${up,}", &v), "aBCDEFGH28IJ");
    assert_eq!(ok("${up,,}", &v), "abcdefgh28ij");
    assert_eq!(
        ok("${lo^,}", &v),
        "abcdEFGH28ij",
        "mixed operators keep the value"
    );
    assert_eq!(ok("${up,^}", &v), "ABCDEFGH28IJ");
    assert_eq!(ok("${empty^}", &v), "");
    assert_eq!(ok("${x^^}", &[("x", "héllo")]), "HÉLLO");
    // Go's simple case mapping, not Rust's full one.
    assert_eq!(ok("${x^^}", &[("x", "straße")]), "STRAßE");
    assert_eq!(ok("${x,,}", &[("x", "İ")]), "i");
    assert_eq!(ok("${x^^}", &[("x", "ᾳᾀ")]), "ᾼᾈ");
}

#[test]
fn substring() {
    let path = [("path_name", "/home/bozo/ideas/thoughts.for.today")];
    assert_eq!(ok("${path_name:11}", &path), "ideas/thoughts.for.today");
    assert_eq!(ok("${path_name:11:5}", &path), "ideas");

    let digits = "123456789123456789";
    let sub = |pos: &str, len: Option<&str>| {
        let text = match len {
            Some(_) => "${s:${pos}:${len}}",
            None => "${s:${pos}}",
        };
        ok(
            text,
            &[("s", digits), ("pos", pos), ("len", len.unwrap_or(""))],
        )
    };
    assert_eq!(sub("0", Some("8")), "12345678");
    assert_eq!(sub("1", Some("8")), "23456789");
    assert_eq!(sub("9", None), "123456789");
    assert_eq!(sub("9", Some("50")), "123456789");
    assert_eq!(sub("-3", Some("2")), "78");
    assert_eq!(sub("-3", None), "789");
    assert_eq!(sub("-300", Some("3")), "123");
    assert_eq!(sub("99", None), "");
    assert_eq!(ok("${s:9:1}", &[("s", "12345678")]), "");
    assert_eq!(sub("+2", Some("+1")), "3", "Go's Atoi takes a sign");
    // Unparsable numbers give the whole value, as bash does.
    assert_eq!(ok("${x:a}", &[("x", "hello")]), "hello");
    assert_eq!(ok("${x: 1}", &[("x", "hello")]), "hello");
    assert_eq!(ok("${x:1:z}", &[("x", "hello")]), "hello");
    // Any run of colons separates the arguments.
    assert_eq!(ok("${x:1::2}", &[("x", "hello")]), "el");
    // Offsets count bytes.
    assert_eq!(ok("${u:0:1}${u:1}", &[("u", "héllo")]), "héllo");
    assert_eq!(
        expand("${u:0:2}", &[("u", "héllo")]),
        Err(TextError::InvalidUtf8)
    );
}

#[test]
fn substring_out_of_range() {
    // envsubst panics on these; here they are errors with Go's message.
    assert_eq!(
        expand("${x:2:-1}", &[("x", "hello")]),
        Err(TextError::OutOfRange("2:1".into()))
    );
    assert_eq!(
        expand("${x:4:${n}}", &[("x", "hello"), ("n", "-9")]),
        Err(TextError::OutOfRange(":-5".into()))
    );
    assert_eq!(
        expand("${x:2:-1}", &[("x", "hello")])
            .map_err(|e| e.to_string())
            .unwrap_err(),
        "runtime error: slice bounds out of range [2:1]"
    );
}

#[test]
fn trim_prefix_and_suffix() {
    let file = [("filename", "bash.string.txt")];
    assert_eq!(ok("${filename#*.}", &file), "string.txt");
    assert_eq!(ok("${filename##*.}", &file), "txt");
    assert_eq!(ok("${filename%.*}", &file), "bash.string");
    assert_eq!(ok("${filename%%.*}", &file), "bash");
    let rel = [("filename", "path/to/file")];
    assert_eq!(ok("${filename#*/}", &rel), "to/file");
    assert_eq!(ok("${filename##*/}", &rel), "file");
    let abs = [("filename", "/path/to/file")];
    assert_eq!(ok("${filename#*/}", &abs), "path/to/file");
    assert_eq!(ok("${filename##*/}", &abs), "file");

    let x = [("x", "hello")];
    assert_eq!(ok("${x#*l}", &x), "lo");
    assert_eq!(ok("${x##*l}", &x), "o");
    assert_eq!(ok("${x%%l*}", &x), "he");
    assert_eq!(ok("${x%l*}", &x), "hel");
    assert_eq!(ok("${x#h?}", &x), "llo");
    assert_eq!(ok("${x#[a-h]}", &x), "ello");
    assert_eq!(ok("${x#[^a-h]}", &x), "hello");
    assert_eq!(ok("${x#nope}", &x), "hello");
    assert_eq!(ok("${x###}", &x), "hello", "a third # is the pattern");
    // A malformed pattern leaves the value alone.
    assert_eq!(ok("${x#[}", &x), "hello");
    // envsubst reverses suffix patterns, so a class reads backwards and fails.
    assert_eq!(ok("${x%[lo]}", &x), "hello");
    assert_eq!(ok("${x#${p}}", &[("x", "hello"), ("p", "he")]), "llo");
    assert_eq!(
        ok("${s#$%:*{}", &[("s", "$%:abc{")]),
        "",
        "special characters"
    );
}

#[test]
fn replace() {
    let z = [("stringZ", "abcABC123ABCabc")];
    assert_eq!(ok("${stringZ/%abc/XYZ}", &z), "abcABC123ABCXYZ");
    assert_eq!(ok("${stringZ/#abc/XYZ}", &z), "XYZABC123ABCabc");
    assert_eq!(ok("${stringZ//abc/xyz}", &z), "xyzABC123ABCxyz");
    assert_eq!(ok("${stringZ/abc/xyz}", &z), "xyzABC123ABCabc");
    assert_eq!(ok("${stringZ/#ABC/XYZ}", &z), "abcABC123ABCabc");
    assert_eq!(ok("${stringZ/%ABC/XYZ}", &z), "abcABC123ABCabc");
    assert_eq!(
        ok("${stringZ//abc/}", &z),
        "ABC123ABC",
        "no replacement deletes"
    );
    assert_eq!(ok("${stringZ/abc/}", &z), "ABC123ABCabc");
    // `/#` and `/%` need a replacement, or they change nothing.
    assert_eq!(ok("${stringZ/#abc/}", &z), "abcABC123ABCabc");
    assert_eq!(ok("${stringZ/%abc/}", &z), "abcABC123ABCabc");
    assert_eq!(ok("${stringZ/./}", &[("stringZ", "foo.bar")]), "foobar");
    // Patterns are literal, not globs.
    assert_eq!(ok("${x/*/-}", &[("x", "a*b")]), "a-b");
    // Escaped slashes and backslashes, and `$$`, in the arguments.
    assert_eq!(ok(r"${stringZ/\//-}", &[("stringZ", "foo/bar")]), "foo-bar");
    assert_eq!(
        ok(r"${stringZ//\//-}", &[("stringZ", "foo/bar/baz")]),
        "foo-bar-baz"
    );
    assert_eq!(ok(r"${x/\\/\/}", &[("x", r"a\b")]), "a/b");
    assert_eq!(ok("${x/$$/€}", &[("x", "5$")]), "5€");
    // Nested expressions, including ones that evaluate to "".
    let v = [("x", "hello"), ("from", "l"), ("to", "L"), ("e", "")];
    assert_eq!(ok("${x//${from}/${to}}", &v), "heLLo");
    assert_eq!(ok("${x/${e}/-}", &v), "-hello");
    assert_eq!(ok("${x//${e}/-}", &v), "-h-e-l-l-o-");
    // Any run of slashes separates pattern and replacement; `}` does not end a pattern.
    assert_eq!(ok("${x/l//L}", &v), "heLlo");
    assert_eq!(ok("${x/a} b/c}", &[("x", "a} b")]), "c");
}

#[test]
fn defaults() {
    let v = [("var", "abc"), ("default_var", "foo"), ("empty", "")];
    assert_eq!(ok("${var=xyz}", &v), "abc");
    assert_eq!(ok("${unset=xyz}", &v), "xyz");
    assert_eq!(ok("${unset:=xyz}", &v), "xyz");
    assert_eq!(ok("${unset:-xyz}", &v), "xyz");
    assert_eq!(ok("${empty:=dflt}", &v), "dflt");
    assert_eq!(
        ok("${empty=dflt}", &v),
        "dflt",
        "`=` also replaces empty values"
    );
    assert_eq!(ok("${var:=dflt}", &v), "abc");
    // `:?` and `:+` are plain defaults in envsubst (no error, no alternative value).
    assert_eq!(ok("${unset:?message}", &v), "message");
    assert_eq!(ok("${var:?message}", &v), "abc");
    assert_eq!(ok("${var:+other}", &v), "abc");
    assert_eq!(ok("${unset:+other}", &v), "other");
    assert_eq!(ok("${unset:-}", &v), "");
    assert_eq!(ok("${unset=}", &v), "");
    assert_eq!(ok("${var:-2:-1}", &v), "abc", "`:-` wins over a substring");
    // Nested expressions and text around them.
    assert_eq!(ok("something ${unset=${default_var}}", &v), "something foo");
    let v1 = [("default_var", "foo1")];
    assert_eq!(
        ok("foo: ${var=${default_var}-suffix}", &v1),
        "foo: foo1-suffix"
    );
    assert_eq!(
        ok("foo: ${var=prefix${default_var}-suffix}", &v1),
        "foo: prefixfoo1-suffix"
    );
    assert_eq!(
        ok("${a:=prefix-${b}-suffix}", &[("b", "mid")]),
        "prefix-mid-suffix"
    );
    assert_eq!(ok("${a:=${b}}", &[("b", "B")]), "B");
    assert_eq!(ok("${a:=${b:=${c}}}", &[("c", "C")]), "C");
    assert_eq!(
        ok("${var=${var01^^}}", &[("var01", "abcdEFGH28ij")]),
        "ABCDEFGH28IJ"
    );
    // Default arguments take `$$` verbatim; `$${` still starts a nested expression.
    assert_eq!(ok("${unset:=$$}", &v), "$$");
    assert_eq!(ok("${unset:=$${default_var}}", &v), "$foo");
    assert_eq!(ok("${unset:=a:b/c#d%e}", &v), "a:b/c#d%e");
}

#[test]
fn strict_mode() {
    assert_eq!(strict("abcdEFGH28ij", &[]), Ok("abcdEFGH28ij".into()));
    assert_eq!(strict("${foo}", &[("foo", "bar")]), Ok("bar".into()));
    assert_eq!(strict("${foo}", &[("foo", "")]), Ok("".into()));
    assert_eq!(
        strict("${missing}", &[]),
        Err(TextError::Unset("missing".into()))
    );
    for text in [
        "${#missing}",
        "${missing^}",
        "${missing^^}",
        "${missing,}",
        "${missing,,}",
        "${missing,^}",
        "${missing:0}",
        "${missing:0:10}",
        "${missing/pattern/replacement}",
        "${missing//pattern/replacement}",
        "${missing/#pattern/replacement}",
        "${missing/%pattern/replacement}",
        "${missing#pattern}",
        "${missing##pattern}",
        "${missing%pattern}",
        "${missing%%pattern}",
    ] {
        assert_eq!(
            strict(text, &[]),
            Err(TextError::Unset("missing".into())),
            "{text}"
        );
    }
    assert_eq!(strict("${missing:-fallback}", &[]), Ok("fallback".into()));
    assert_eq!(strict("${missing:=assigned}", &[]), Ok("assigned".into()));
    assert_eq!(strict("${missing=assigned}", &[]), Ok("assigned".into()));
    assert_eq!(strict("${missing:?m}", &[]), Ok("m".into()));
    assert_eq!(strict("${missing:+m}", &[]), Ok("m".into()));
    assert_eq!(
        strict("${missing:=default}", &[("foo", "bar")]),
        Ok("default".into())
    );
    // Arguments are evaluated first, even when the default is not needed.
    assert_eq!(
        strict("${a:=${b}}", &[("a", "set")]),
        Err(TextError::Unset("b".into()))
    );
}

#[test]
fn syntax_errors() {
    use SyntaxError::*;
    assert_eq!(syntax("${"), VariableName);
    assert_eq!(syntax("cost: $5 ${"), VariableName);
    assert_eq!(syntax("${}"), VariableName);
    assert_eq!(syntax("${ x}"), VariableName);
    assert_eq!(syntax("${-x}"), VariableName);
    assert_eq!(syntax("${x"), MissingClosingBrace);
    assert_eq!(syntax("${x y}"), MissingClosingBrace);
    assert_eq!(syntax("${x.y}"), MissingClosingBrace);
    // Operators envsubst does not have.
    assert_eq!(syntax("${x-d}"), MissingClosingBrace);
    assert_eq!(syntax("${x?m}"), MissingClosingBrace);
    assert_eq!(syntax("${x+m}"), MissingClosingBrace);
    assert_eq!(syntax("${#}"), BadSubstitution);
    assert_eq!(syntax("${##x}"), BadSubstitution);
    assert_eq!(syntax("${#x:1}"), BadSubstitution);
    assert_eq!(syntax("${x^^^}"), BadSubstitution);
    assert_eq!(syntax("${x^"), BadSubstitution);
    assert_eq!(syntax("${x:"), BadSubstitution);
    assert_eq!(syntax("${x:é}"), BadSubstitution);
    assert_eq!(syntax("${x:}"), FunctionArgument);
    assert_eq!(syntax("${x::1}"), FunctionArgument);
    assert_eq!(syntax("${x:1:}"), FunctionArgument);
    assert_eq!(syntax("${x:1"), BadSubstitution);
    assert_eq!(syntax("${x:1:2${x}}"), BadSubstitution);
    assert_eq!(syntax("${x#}"), FunctionArgument);
    assert_eq!(syntax("${x##}"), FunctionArgument);
    assert_eq!(syntax("${x#a${x}}"), BadSubstitution);
    assert_eq!(syntax("${x//}"), BadSubstitution);
    assert_eq!(syntax("${x///a}"), FunctionArgument);
    assert_eq!(syntax("${x/a}"), BadSubstitution);
    assert_eq!(syntax("${x/a/b"), BadSubstitution);
    assert_eq!(syntax("${x:=abc"), FunctionArgument);
    assert_eq!(syntax("ok ${x} then ${y"), MissingClosingBrace);
    assert_eq!(syntax("${x:=${}}"), VariableName);
    assert_eq!(
        TextError::from(FunctionArgument).to_string(),
        "unable to parse substitution within function"
    );
}

#[test]
fn glob_matcher() {
    let m = |p: &str, n: &str| glob::matches(p.as_bytes(), n.as_bytes());
    assert_eq!(m("*", "a/b"), Ok(true));
    assert_eq!(m("a*", "a/b"), Ok(true));
    assert_eq!(m("*b", "a/b"), Ok(true));
    assert_eq!(m("a?b", "a/b"), Ok(true));
    assert_eq!(m("a*b*c", "axxbyyc"), Ok(true));
    assert_eq!(m("a*b", "axxbyyc"), Ok(false));
    assert_eq!(m("[a-c]x", "bx"), Ok(true));
    assert_eq!(m("[^a-c]x", "bx"), Ok(false));
    assert_eq!(m(r"\*", "*"), Ok(true));
    assert_eq!(m(r"[\]]", "]"), Ok(true));
    assert_eq!(m("[é]", "é"), Ok(true));
    assert_eq!(m("?", "é"), Ok(true));
    assert_eq!(m("[", "a"), Err(glob::BadPattern));
    assert_eq!(m("[]", "a"), Err(glob::BadPattern));
    assert_eq!(m("[a-", "a"), Err(glob::BadPattern));
    assert_eq!(m(r"a\", "a"), Ok(false), "errors show only where reached");
    assert_eq!(m(r"a\", "ab"), Err(glob::BadPattern));
}

#[test]
fn objects_and_opt_out() {
    let v = vars(&[("replicas", "3"), ("name", "web")]);
    let objs = vec![
        json!({"kind": "Deployment", "metadata": {"name": "${name}"}, "spec": {"replicas": "${replicas}"}}),
        json!({"kind": "ConfigMap", "metadata": {"name": "raw", "annotations": {SUBSTITUTE_KEY: "disabled"}}, "data": {"x": "${name}"}}),
        json!({"kind": "ConfigMap", "metadata": {"name": "lbl", "labels": {SUBSTITUTE_KEY: "disabled"}}, "data": {"x": "${"}}),
        json!({"kind": "ConfigMap", "metadata": {"name": "fns"}, "data": {"x": "${name^^}-${missing:=v1}", "sh": "echo $HOME $$1"}}),
    ];
    let out = substitute_objects(objs, &v, false).unwrap();
    assert_eq!(out[0]["metadata"]["name"], "web");
    assert_eq!(out[0]["spec"]["replicas"], 3, "YAML typing as Flux's");
    assert_eq!(out[1]["data"]["x"], "${name}");
    assert_eq!(out[2]["data"]["x"], "${");
    assert_eq!(out[3]["data"]["x"], "WEB-v1");
    assert_eq!(out[3]["data"]["sh"], "echo $HOME $1");
    assert!(substitute_objects(vec![], &vars(&[("bad-name", "x")]), false).is_err());
}

#[test]
fn object_errors_name_the_object() {
    let v = vars(&[("name", "web")]);
    let obj = |data: &str| {
        vec![
            json!({"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}, "data": {"x": data}}),
        ]
    };
    let err = substitute_objects(obj("${name"), &v, false).unwrap_err();
    assert!(matches!(err, SubstituteError::Syntax { .. }));
    assert_eq!(
        err.to_string(),
        "ConfigMap/ns/cm: variable substitution failed: missing closing brace"
    );
    let err = substitute_objects(obj("${missing}"), &v, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ConfigMap/ns/cm: variable substitution failed: variable 'missing' not set (strict mode)"
    );
    let err = substitute_objects(obj("${name:0:1}"), &vars(&[("name", "é")]), false).unwrap_err();
    assert!(matches!(err, SubstituteError::Yaml { .. }));
}
