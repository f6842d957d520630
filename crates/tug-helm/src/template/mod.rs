//! Go's text/template, as Helm v4 runs it: lexer, parser, executor and builtins, with Helm's
//! engine-level functions (`include`, `tpl`, `lookup`).
//!
//! A [`Templates`] set is parsed once and executed many times; the parsed trees hold no `Rc`, so
//! the set is `Send + Sync` and can be shared between renders. Execution builds `Rc` values.
//!
//! Errors read exactly as Go's (`template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`),
//! because Helm shows them to users and reformats them by parsing their text
//! ([`TemplateError::helm_message`] does that rewording).
//!
//! Known departures from Go, all outside what charts do in practice:
//! - complex constants (`{{ 1i }}`) are an execution error instead of `(0+1i)`;
//! - nesting of `template`/`include`/`tpl` stops at [`MAX_TEMPLATE_DEPTH`] (Go: 100000), and
//!   control structures nested deeper than [`MAX_PARSE_DEPTH`] are a parse error (Go: no bound);
//! - a `\x` escape that makes a string invalid UTF-8 yields U+FFFD (values are Rust strings);
//! - `index` of a string yields an `int` where Go yields a `uint8` (only `%T` can tell);
//! - `%b`, `%x` and `%X` of a float print as `%g`.

mod ast;
mod builtins;
mod escape;
mod exec;
mod float;
pub mod fmt;
mod helm_error;
mod lex;
mod literal;
mod parse;
mod quote;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::func::Func;
use crate::value::Value;

pub use exec::Lookup;

/// Go's own bound on nested `{{template}}` calls is 100000; a native stack cannot hold that
/// many frames, so nesting of `template`, `include` and `tpl` together stops here, with Go's
/// message. Helm's own `include` bound (1000 nested calls of one name) is far below it.
pub const MAX_TEMPLATE_DEPTH: usize = 3000;
/// How deeply parentheses and control structures may nest in one template (Go allows 10000;
/// the parser is recursive, so it stops earlier with Go's message).
pub const MAX_PARSE_DEPTH: usize = 1000;
/// The most bytes one execution may write (all nested `include`/`tpl` output counted), so a
/// runaway `range` fails instead of exhausting memory.
pub const MAX_OUTPUT_BYTES: usize = 64 << 20;
/// The most nodes one execution may evaluate (each action, command, and range iteration counts).
pub const MAX_EXEC_STEPS: u64 = 50_000_000;

/// Resource bounds of one execution (defaults: the constants above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nesting of `template`, `include` and `tpl` together.
    pub max_depth: usize,
    /// Bytes written, nested `include`/`tpl` output counted.
    pub max_output_bytes: usize,
    /// Nodes evaluated.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: MAX_TEMPLATE_DEPTH,
            max_output_bytes: MAX_OUTPUT_BYTES,
            max_steps: MAX_EXEC_STEPS,
        }
    }
}

/// Native stack a render needs at [`MAX_TEMPLATE_DEPTH`] in an optimized build (measured: 1001
/// nested `include`s run in 4 MiB; `cargo run --release -p tug-helm --example template_bench`).
/// Tokio's worker threads have 2 MiB: render through [`with_render_stack`]. Debug builds need
/// several times more.
pub const RENDER_STACK_BYTES: usize = 64 << 20;

/// Runs `f` (a whole render: building values and executing templates) on a thread with
/// [`RENDER_STACK_BYTES`] of stack, so that deep but legal template nesting cannot overflow the
/// caller's stack. Values hold `Rc`s, so they are built and used inside `f`. Fails only when
/// no thread can be started; a panic in `f` is resumed on the caller.
pub fn with_render_stack<T: Send>(f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(RENDER_STACK_BYTES)
            .spawn_scoped(scope, f)?;
        match handle.join() {
            Ok(v) => Ok(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The name Helm gives the root of its template set; it appears in `include` and `tpl` errors.
pub const HELM_ROOT_NAME: &str = "gotpl";

/// A failed parse or execution. `Display` is Go's message, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", head.message)]
pub struct TemplateError {
    kind: ErrorKind,
    /// This error's message and the errors it wraps, as Go's `errors.Unwrap` reaches them;
    /// Helm's error reformatting walks them. Shared, so wrapping a deep error copies nothing.
    head: Arc<Cause>,
}

/// One error of a wrapping chain.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cause {
    pub message: String,
    /// Go's `ExecError` wraps an error with the same text: the message counts twice.
    pub repeat: bool,
    pub next: Option<Arc<Cause>>,
}

impl Cause {
    pub(crate) fn leaf(message: String) -> Arc<Cause> {
        Arc::new(Cause {
            message,
            repeat: false,
            next: None,
        })
    }
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text did not parse (`template: NAME:LINE: ...`).
    Parse,
    /// Executing failed (`template: NAME:LINE:COL: executing ...`).
    Exec,
    /// `execute` was asked for a template the set does not have.
    NoTemplate,
    /// A resource limit of this engine ([`MAX_OUTPUT_BYTES`], [`MAX_EXEC_STEPS`]) was reached.
    Limit,
}

impl TemplateError {
    pub(crate) fn new(kind: ErrorKind, message: String) -> TemplateError {
        TemplateError {
            kind,
            head: Arc::new(Cause {
                message,
                repeat: kind == ErrorKind::Exec,
                next: None,
            }),
        }
    }

    /// An execution error wrapping the error of a function (`error calling NAME: %w`).
    pub(crate) fn wrapping(message: String, cause: Arc<Cause>) -> TemplateError {
        TemplateError {
            kind: ErrorKind::Exec,
            head: Arc::new(Cause {
                message,
                repeat: true,
                next: Some(cause),
            }),
        }
    }

    pub(crate) fn head(&self) -> &Arc<Cause> {
        &self.head
    }

    /// The messages of this error and the errors it wraps, outermost first, as Go's
    /// `errors.Unwrap` visits them.
    pub fn chain(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = Some(&self.head);
        while let Some(c) = cur {
            out.push(c.message.as_str());
            if c.repeat {
                out.push(c.message.as_str());
            }
            cur = c.next.as_ref();
        }
        out
    }

    /// The message as Helm's engine reports this error for the template file `filename`
    /// (its `cleanupParseError` and `reformatExecErrorMsg`).
    pub fn helm_message(&self, filename: &str) -> String {
        helm_error::reformat(self, filename)
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Go's message (same as `Display`).
    pub fn message(&self) -> &str {
        &self.head.message
    }
}

/// A function as the engine dispatches it: Go's builtins, Helm's engine functions, or a pure
/// function from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FuncEntry {
    Builtin(builtins::Builtin),
    Include,
    Tpl,
    Lookup,
    User(Func),
}

/// A Go template set: every parsed file and `define`, the functions, and the `lookup` source.
#[derive(Clone)]
pub struct Templates {
    root_name: Arc<str>,
    trees: HashMap<String, Arc<ast::Tree>>,
    funcs: Arc<HashMap<&'static str, FuncEntry>>,
    lookup: Arc<dyn Lookup>,
    limits: Limits,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.trees.keys().collect();
        names.sort();
        f.debug_struct("Templates")
            .field("root_name", &self.root_name)
            .field("templates", &names)
            .finish()
    }
}

/// Client-only rendering's `lookup`: every query finds nothing.
struct EmptyLookup;

impl Lookup for EmptyLookup {
    fn lookup(
        &self,
        _api_version: &str,
        _kind: &str,
        _namespace: &str,
        _name: &str,
    ) -> Result<BTreeMap<String, Value>, String> {
        Ok(BTreeMap::new())
    }
}

impl Templates {
    /// A set with Go's builtins, then `funcs` (which replace builtins of the same name, as
    /// Helm's function map does), then Helm's `include`, `tpl` and `lookup` (which nothing in
    /// `funcs` replaces).
    pub fn new(funcs: Vec<Func>) -> Templates {
        let mut map: HashMap<&'static str, FuncEntry> = HashMap::new();
        for (name, b) in builtins::BUILTINS {
            map.insert(name, FuncEntry::Builtin(*b));
        }
        for f in funcs {
            map.insert(f.name, FuncEntry::User(f));
        }
        // The engine's own, whatever `funcs` holds: `lookup` answers through `set_lookup`.
        map.insert("lookup", FuncEntry::Lookup);
        map.insert("include", FuncEntry::Include);
        map.insert("tpl", FuncEntry::Tpl);
        Templates {
            root_name: Arc::from(HELM_ROOT_NAME),
            trees: HashMap::new(),
            funcs: Arc::new(map),
            lookup: Arc::new(EmptyLookup),
            limits: Limits::default(),
        }
    }

    /// Replaces the resource bounds of executions.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Names the set's root template (Helm's is [`HELM_ROOT_NAME`], the default); the name
    /// appears in `include` errors and names the text `tpl` parses.
    pub fn set_root_name(&mut self, name: &str) {
        self.root_name = Arc::from(name);
    }

    /// Answers `lookup` from `l` instead of the empty client-only default.
    pub fn set_lookup(&mut self, l: Arc<dyn Lookup>) {
        self.lookup = l;
    }

    /// Parses `text` as the template `name` and adds it and its `define`s to the set. A
    /// template replaces one of the same name unless its body is empty (Go's `associate`).
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), TemplateError> {
        let trees = parse::parse(name, text, &|f| self.funcs.contains_key(f))?;
        for tree in trees {
            associate(&mut self.trees, tree);
        }
        Ok(())
    }

    /// Executes the template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        exec::execute(self, name, data)
    }

    /// Whether the set has a template called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of all templates in the set, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.trees.keys().cloned().collect();
        names.sort();
        names
    }
}

/// Go's `associate`: a new tree replaces the old one of its name unless the new one is empty.
fn associate(trees: &mut HashMap<String, Arc<ast::Tree>>, tree: ast::Tree) {
    if tree.is_empty() && trees.contains_key(&tree.name) {
        return;
    }
    trees.insert(tree.name.clone(), Arc::new(tree));
}

#[cfg(test)]
mod tests;
