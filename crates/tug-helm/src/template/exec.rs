//! Executing parsed templates (Go's text/template exec.go) with Helm's `missingkey=zero`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use super::ast::{Arg, Branch, Command, Node, Number, Pipe, TemplateCall, Tree, Variable};
use super::builtins::{self, Builtin};
use super::fmt::go_quote;
use super::{parse, Cause, ErrorKind, FuncEntry, TemplateError, Templates};
use crate::func::Ty;
use crate::value::Value;

/// Answers Helm's `lookup` function (`lookup "v1" "Secret" "ns" "name"`). Client-only rendering
/// answers every query with an empty map.
pub trait Lookup: Send + Sync {
    /// The object (or, with an empty `name`, the list) as a map; `Err` fails the render with
    /// `error calling lookup: MESSAGE`.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, Value>, String>;
}

/// A value with what Go's reflection would know of its static type: `boxed` is an
/// `interface{}` holding it (a map element, a range element). The difference shows in errors: a
/// field of a missing map value is `nil pointer evaluating interface {}.x`, while a field of a
/// nil variable is just nil.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub v: Value,
    pub boxed: bool,
}

impl Op {
    pub fn plain(v: Value) -> Op {
        Op { v, boxed: false }
    }

    fn nil() -> Op {
        Op::plain(Value::Nil)
    }
}

/// A parameter type as the engine checks it: a Go type, or `reflect.Value` (Go's builtins take
/// their operands that way and accept anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PTy {
    Go(Ty),
    Reflect,
}

impl PTy {
    fn name(self) -> &'static str {
        match self {
            PTy::Go(t) => t.go_name(),
            PTy::Reflect => "reflect.Value",
        }
    }

    fn can_be_nil(self) -> bool {
        !matches!(
            self,
            PTy::Go(Ty::String | Ty::Int | Ty::Int64 | Ty::Float64 | Ty::Bool)
        )
    }
}

/// A function's fixed parameters, borrowed from its signature.
#[derive(Clone, Copy)]
enum Params {
    Engine(&'static [PTy]),
    Go(&'static [Ty]),
}

impl Params {
    fn len(self) -> usize {
        match self {
            Params::Engine(p) => p.len(),
            Params::Go(p) => p.len(),
        }
    }

    fn get(self, i: usize) -> PTy {
        match self {
            Params::Engine(p) => p[i],
            Params::Go(p) => PTy::Go(p[i]),
        }
    }
}

/// Why a function call failed: the chain of its error (Go wraps it in `error calling`), or an
/// error that must end the whole execution unwrapped (a resource limit).
pub(crate) enum CallError {
    Chain(Arc<Cause>),
    Abort(TemplateError),
}

impl From<String> for CallError {
    fn from(m: String) -> CallError {
        CallError::Chain(Cause::leaf(m))
    }
}

/// Why walking stopped: a loop control or an error.
pub(crate) enum Flow {
    Break,
    Continue,
    Err(TemplateError),
}

type R<T> = Result<T, Flow>;

impl From<TemplateError> for Flow {
    fn from(e: TemplateError) -> Flow {
        Flow::Err(e)
    }
}

/// The node Go's `state.node` would point at, for error messages.
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
    Var(&'a Variable),
    Range(&'a Branch),
}

impl At<'_> {
    fn pos_and_text(&self) -> Option<(usize, String)> {
        Some(match self {
            At::None => return None,
            At::Node(n) => (n.pos(), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Var(v) => (v.pos, v.to_string()),
            At::Range(b) => (b.pipe.pos, range_text(b)),
        })
    }
}

fn range_text(b: &Branch) -> String {
    let mut s = format!("{{{{range {}}}}}", b.pipe);
    for n in &b.list {
        s.push_str(&n.to_string());
    }
    if let Some(e) = &b.else_list {
        s.push_str("{{else}}");
        for n in e {
            s.push_str(&n.to_string());
        }
    }
    s.push_str("{{end}}");
    s
}

/// Templates visible to an execution: a `tpl` call adds its own on top of its caller's.
pub(crate) struct Scope<'a> {
    trees: &'a HashMap<String, Arc<Tree>>,
    parent: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    fn get(&self, name: &str) -> Option<&'a Arc<Tree>> {
        match self.trees.get(name) {
            Some(t) => Some(t),
            None => self.parent.and_then(|p| p.get(name)),
        }
    }
}

/// Counters shared by everything one `execute` call runs, nested `include`s and `tpl`s too.
struct Budget {
    steps: u64,
    written: usize,
    depth: usize,
    includes: HashMap<String, usize>,
}

/// One template being walked: Go's `state`.
struct Frame<'a> {
    tree: &'a Tree,
    vars: Vec<(&'a str, Op)>,
    at: At<'a>,
}

struct Exec<'a, 'b> {
    set: &'a Templates,
    scope: &'a Scope<'a>,
    budget: &'b mut Budget,
    out: String,
}

pub(crate) fn execute(set: &Templates, name: &str, data: &Value) -> Result<String, TemplateError> {
    let scope = Scope {
        trees: &set.trees,
        parent: None,
    };
    let mut budget = Budget {
        steps: 0,
        written: 0,
        depth: 0,
        includes: HashMap::new(),
    };
    let mut ex = Exec {
        set,
        scope: &scope,
        budget: &mut budget,
        out: String::new(),
    };
    ex.execute_template(name, Op::plain(data.clone()))?;
    Ok(ex.out)
}

fn exec_error(tree: &Tree, at: &At, msg: impl Display) -> Flow {
    let text = match at.pos_and_text() {
        Some((pos, ctx)) => format!(
            "template: {}: executing {} at <{}>: {}",
            tree.location(pos),
            go_quote(&tree.name),
            ctx,
            msg
        ),
        None => format!("template: {}: {}", tree.name, msg),
    };
    Flow::Err(TemplateError::new(ErrorKind::Exec, text))
}

fn limit_error(msg: String) -> Flow {
    Flow::Err(TemplateError::new(ErrorKind::Limit, msg))
}

impl<'a, 'b> Exec<'a, 'b> {
    /// Go's `ExecuteTemplate` on the set's root: a fresh state for template `name`.
    fn execute_template(&mut self, name: &str, data: Op) -> Result<(), TemplateError> {
        let Some(tree) = self.scope.get(name) else {
            return Err(TemplateError::new(
                ErrorKind::NoTemplate,
                format!(
                    "template: no template {} associated with template {}",
                    go_quote(name),
                    go_quote(&self.set.root_name)
                ),
            ));
        };
        self.run_tree(tree, data)
    }

    fn run_tree(&mut self, tree: &'a Tree, data: Op) -> Result<(), TemplateError> {
        let mut frame = Frame {
            tree,
            vars: vec![("$", data.clone())],
            at: At::None,
        };
        match self.walk(&mut frame, &data, &tree.root) {
            Ok(()) => Ok(()),
            Err(Flow::Err(e)) => Err(e),
            // The parser only allows break and continue inside range.
            Err(Flow::Break | Flow::Continue) => Ok(()),
        }
    }

    fn step(&mut self) -> R<()> {
        self.budget.steps += 1;
        let max = self.set.limits.max_steps;
        if self.budget.steps > max {
            return Err(limit_error(format!(
                "template execution exceeded {max} steps"
            )));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.budget.written += s.len();
        let max = self.set.limits.max_output_bytes;
        if self.budget.written > max {
            return Err(limit_error(format!("template output exceeded {max} bytes")));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, fr: &mut Frame<'a>, dot: &Op, list: &'a [Node]) -> R<()> {
        for node in list {
            self.step()?;
            fr.at = At::Node(node);
            match node {
                Node::Text(t) => self.write(t)?,
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(fr, dot, pipe)?;
                    if pipe.decl.is_empty() {
                        fr.at = At::Node(node);
                        match &v.v {
                            Value::Nil => self.write("<no value>")?,
                            Value::String(s) => self.write(s)?,
                            other => self.write(&super::fmt::format_v(other))?,
                        }
                    }
                }
                Node::If(b) => self.walk_if_with(fr, dot, b, false)?,
                Node::With(b) => self.walk_if_with(fr, dot, b, true)?,
                Node::Range(b) => self.walk_range(fr, dot, b)?,
                Node::Template(t) => self.walk_template(fr, dot, t)?,
                Node::Break(_) => return Err(Flow::Break),
                Node::Continue(_) => return Err(Flow::Continue),
            }
        }
        Ok(())
    }

    fn walk_if_with(&mut self, fr: &mut Frame<'a>, dot: &Op, b: &'a Branch, with: bool) -> R<()> {
        let mark = fr.vars.len();
        let val = self.eval_pipeline(fr, dot, &b.pipe)?;
        let r = if val.v.truthy() {
            if with {
                self.walk(fr, &val, &b.list)
            } else {
                self.walk(fr, dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(fr, dot, e)
        } else {
            Ok(())
        };
        fr.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, fr: &mut Frame<'a>, dot: &Op, b: &'a Branch) -> R<()> {
        fr.at = At::Range(b);
        let outer_mark = fr.vars.len();
        let val = self.eval_pipeline(fr, dot, &b.pipe)?;
        let mark = fr.vars.len();
        let r = self.range_items(fr, b, &val.v, mark);
        let r = match r {
            Ok(true) => Ok(()),
            Ok(false) => match &b.else_list {
                Some(e) => self.walk(fr, dot, e),
                None => Ok(()),
            },
            Err(Flow::Break) => Ok(()),
            Err(e) => Err(e),
        };
        fr.vars.truncate(outer_mark);
        r
    }

    /// Runs the body once per element; `Ok(false)` when there was nothing to iterate.
    fn range_items(
        &mut self,
        fr: &mut Frame<'a>,
        b: &'a Branch,
        val: &Value,
        mark: usize,
    ) -> R<bool> {
        if let Value::Object(o) = val {
            if let Some(inner) = o.elements() {
                return self.range_items(fr, b, &inner, mark);
            }
        }
        match val {
            Value::List(l) => {
                let boxed = l.kind == crate::value::ListKind::Interface;
                for (i, item) in l.items.iter().enumerate() {
                    let elem = Op {
                        v: item.clone(),
                        boxed,
                    };
                    self.one_iteration(fr, b, Op::plain(Value::Int(i as i64)), elem, mark)?;
                }
                Ok(!l.items.is_empty())
            }
            Value::Bytes(bytes) => {
                for (i, byte) in bytes.iter().enumerate() {
                    let elem = Op::plain(Value::Int(*byte as i64));
                    self.one_iteration(fr, b, Op::plain(Value::Int(i as i64)), elem, mark)?;
                }
                Ok(!bytes.is_empty())
            }
            Value::Map(m) => {
                let entries: Vec<(String, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in &entries {
                    let elem = Op {
                        v: v.clone(),
                        boxed: true,
                    };
                    self.one_iteration(fr, b, Op::plain(Value::str(k)), elem, mark)?;
                }
                Ok(!entries.is_empty())
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(exec_error(
                        fr.tree,
                        &fr.at,
                        format!(
                            "can't use {} to iterate over more than one variable",
                            val.format_v()
                        ),
                    ));
                }
                let int64 = matches!(val, Value::Int64(_));
                for i in 0..(*n).max(0) {
                    let v = if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    };
                    self.one_iteration(fr, b, Op::nil(), Op::plain(v), mark)?;
                }
                Ok(*n > 0)
            }
            Value::Nil => Ok(false),
            other => Err(exec_error(
                fr.tree,
                &fr.at,
                format!("range can't iterate over {}", other.format_v()),
            )),
        }
    }

    fn one_iteration(
        &mut self,
        fr: &mut Frame<'a>,
        b: &'a Branch,
        index: Op,
        elem: Op,
        mark: usize,
    ) -> R<()> {
        self.step()?;
        let decl = &b.pipe.decl;
        if b.pipe.is_assign {
            if decl.len() > 1 {
                self.set_var(fr, &decl[0].ident[0], index)?;
                self.set_var(fr, &decl[1].ident[0], elem.clone())?;
            } else if let Some(d) = decl.first() {
                self.set_var(fr, &d.ident[0], elem.clone())?;
            }
        } else {
            let n = fr.vars.len();
            if !decl.is_empty() {
                fr.vars[n - 1].1 = elem.clone();
            }
            if decl.len() > 1 {
                fr.vars[n - 2].1 = index;
            }
        }
        let r = self.walk(fr, &elem, &b.list);
        fr.vars.truncate(mark);
        match r {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_template(&mut self, fr: &mut Frame<'a>, dot: &Op, t: &'a TemplateCall) -> R<()> {
        let Some(tree) = self.scope.get(&t.name) else {
            return Err(self.err(fr, format!("template {} not defined", go_quote(&t.name))));
        };
        let max = self.set.limits.max_depth;
        if self.budget.depth >= max {
            return Err(self.err(fr, format!("exceeded maximum template depth ({max})")));
        }
        let data = match &t.pipe {
            Some(p) => self.eval_pipeline(fr, dot, p)?,
            None => Op::nil(),
        };
        self.budget.depth += 1;
        let mut inner = Frame {
            tree,
            vars: vec![("$", data.clone())],
            at: At::None,
        };
        let r = self.walk(&mut inner, &data, &tree.root);
        self.budget.depth -= 1;
        r
    }

    fn err(&self, fr: &Frame<'a>, msg: impl Display) -> Flow {
        exec_error(fr.tree, &fr.at, msg)
    }

    fn set_var(&mut self, fr: &mut Frame<'a>, name: &str, v: Op) -> R<()> {
        for slot in fr.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        Err(self.err(fr, format!("undefined variable: {name}")))
    }

    fn var_value(&self, fr: &Frame<'a>, name: &str) -> R<Op> {
        for slot in fr.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        Err(self.err(fr, format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, fr: &mut Frame<'a>, dot: &Op, pipe: &'a Pipe) -> R<Op> {
        fr.at = At::Pipe(pipe);
        let mut value: Option<Op> = None;
        for cmd in &pipe.cmds {
            self.step()?;
            let mut v = self.eval_command(fr, dot, cmd, value.take())?;
            v.boxed = false;
            value = Some(v);
        }
        let value = value.unwrap_or_else(Op::nil);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(fr, &var.ident[0], value.clone())?;
            } else {
                fr.vars.push((&var.ident[0], value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, fr: &Frame<'a>, args: &[Arg], fin: &Option<Op>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.err(
                fr,
                format!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        cmd: &'a Command,
        fin: Option<Op>,
    ) -> R<Op> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                fr.at = At::Arg(first);
                return self.eval_field_chain(fr, dot, dot.clone(), ident, &cmd.args, fin);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain(fr, dot, first, node, fields, &cmd.args, fin);
            }
            Arg::Identifier { name, .. } => {
                fr.at = At::Arg(first);
                return self.eval_function(fr, dot, name, At::Cmd(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(fr, &cmd.args, &fin)?;
                return self.eval_pipeline(fr, dot, p);
            }
            Arg::Variable(v) => return self.eval_variable(fr, dot, v, &cmd.args, fin),
            _ => {}
        }
        fr.at = At::Arg(first);
        self.not_a_function(fr, &cmd.args, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Op::plain(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.err(fr, "nil is not a command")),
            Arg::Number(_, n) => self.ideal_constant(fr, n),
            Arg::String { text, .. } => Ok(Op::plain(Value::str(text))),
            other => Err(self.err(
                fr,
                format!("can't evaluate command {}", go_quote(&other.to_string())),
            )),
        }
    }

    fn ideal_constant(&self, fr: &Frame<'a>, n: &Number) -> R<Op> {
        if n.is_complex {
            return Err(self.err(fr, format!("complex constant {} is not supported", n.text)));
        }
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && (t.as_bytes()[1] == b'x' || t.as_bytes()[1] == b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if let Some(f) = n.float {
            if !is_hex_int && !is_rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
                return Ok(Op::plain(Value::Float(f)));
            }
        }
        if let Some(i) = n.int {
            return Ok(Op::plain(Value::Int(i)));
        }
        Err(self.err(fr, format!("{t} overflows int")))
    }

    fn eval_variable(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        v: &'a Variable,
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Op> {
        fr.at = At::Var(v);
        let value = self.var_value(fr, &v.ident[0])?;
        if v.ident.len() == 1 {
            self.not_a_function(fr, args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(fr, dot, value, &v.ident[1..], args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_chain(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        chain: &'a Arg,
        node: &'a Arg,
        fields: &'a [String],
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Op> {
        fr.at = At::Arg(chain);
        if matches!(node, Arg::Nil(_)) {
            return Err(self.err(fr, format!("indirection through explicit nil in {chain}")));
        }
        let receiver = match node {
            Arg::Pipe(p) => self.eval_pipeline(fr, dot, p)?,
            Arg::Identifier { name, .. } => {
                fr.at = At::Arg(node);
                self.eval_function(fr, dot, name, At::Arg(node), &[], None)?
            }
            other => self.eval_arg(fr, dot, PTy::Reflect, other)?,
        };
        fr.at = At::Arg(chain);
        self.eval_field_chain(fr, dot, receiver, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        mut receiver: Op,
        ident: &'a [String],
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Op> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(fr, dot, name, &[], None, receiver)?;
        }
        self.eval_field(fr, dot, &ident[n - 1], args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        name: &str,
        args: &'a [Arg],
        fin: Option<Op>,
        receiver: Op,
    ) -> R<Op> {
        let typ = || {
            if receiver.boxed {
                "interface {}".to_string()
            } else {
                receiver.v.type_name()
            }
        };
        match &receiver.v {
            Value::Nil if !receiver.boxed => Ok(Op::nil()),
            Value::Nil => {
                Err(self.err(fr, format!("nil pointer evaluating interface {{}}.{name}")))
            }
            Value::Object(o) => {
                let at = fr.at;
                let mut argv = Vec::new();
                for a in args.iter().skip(1) {
                    argv.push(self.eval_arg(fr, dot, PTy::Go(Ty::Any), a)?.v);
                }
                if let Some(f) = fin {
                    argv.push(f.v);
                }
                fr.at = at;
                match o.member(name, argv) {
                    None => {
                        Err(self.err(fr, format!("can't evaluate field {name} in type {}", typ())))
                    }
                    Some(Ok(v)) => Ok(Op::plain(v)),
                    Some(Err(e)) => Err(self.err(fr, format!("error calling {name}: {e}"))),
                }
            }
            Value::Map(m) => {
                if args.len() > 1 || fin.is_some() {
                    return Err(self.err(fr, format!("{name} is not a method but has arguments")));
                }
                let v = m.borrow().get(name).cloned().unwrap_or(Value::Nil);
                Ok(Op { v, boxed: true })
            }
            _ => Err(self.err(fr, format!("can't evaluate field {name} in type {}", typ()))),
        }
    }

    fn eval_function(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        name: &str,
        call_at: At<'a>,
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Op> {
        let Some(entry) = self.set.funcs.get(name).copied() else {
            return Err(self.err(fr, format!("{} is not a defined function", go_quote(name))));
        };
        let args = if args.is_empty() { args } else { &args[1..] };
        const INCLUDE: &[PTy] = &[PTy::Go(Ty::String), PTy::Go(Ty::Any)];
        const LOOKUP: &[PTy] = &[PTy::Go(Ty::String); 4];
        let (params, variadic) = match entry {
            FuncEntry::Builtin(b) => {
                let (p, v) = builtins::signature(b);
                (Params::Engine(p), v)
            }
            FuncEntry::User(f) => (Params::Go(f.sig.params), f.sig.variadic.map(PTy::Go)),
            FuncEntry::Include | FuncEntry::Tpl => (Params::Engine(INCLUDE), None),
            FuncEntry::Lookup => (Params::Engine(LOOKUP), None),
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = params.len();
        if variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.err(
                    fr,
                    format!(
                        "wrong number of args for {name}: want at least {num_fixed} got {}",
                        args.len()
                    ),
                ));
            }
        } else if num_in != num_fixed {
            return Err(self.err(
                fr,
                format!("wrong number of args for {name}: want {num_fixed} got {num_in}"),
            ));
        }
        if let FuncEntry::Builtin(b @ (Builtin::And | Builtin::Or)) = entry {
            let want = b == Builtin::Or;
            let mut v = Op::nil();
            for a in args {
                v = self.eval_arg(fr, dot, PTy::Reflect, a)?;
                if v.v.truthy() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv: Vec<Op> = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let ty = if i < num_fixed {
                params.get(i)
            } else {
                variadic.unwrap_or(PTy::Go(Ty::Any))
            };
            argv.push(self.eval_arg(fr, dot, ty, a)?);
        }
        if let Some(f) = fin {
            let ty = if num_in - 1 < num_fixed {
                params.get(num_in - 1)
            } else {
                variadic.unwrap_or(PTy::Go(Ty::Any))
            };
            argv.push(self.validate_type(fr, f, ty)?);
        }
        let result = match entry {
            FuncEntry::Builtin(Builtin::Call) => {
                let callee = match args.first() {
                    Some(a) => a.to_string(),
                    None => argv[0].v.format_v(),
                };
                builtins::call(&callee, &argv).map_err(CallError::from)
            }
            FuncEntry::Builtin(b) => builtins::run(b, argv).map_err(CallError::from),
            FuncEntry::User(f) => (f.imp)(argv.into_iter().map(|o| o.v).collect())
                .map(Op::plain)
                .map_err(|e| CallError::from(e.to_string())),
            FuncEntry::Include => self.include(argv),
            FuncEntry::Tpl => self.tpl(argv),
            FuncEntry::Lookup => self.lookup(argv),
        };
        match result {
            Ok(v) => Ok(v),
            Err(CallError::Abort(e)) => Err(Flow::Err(e)),
            Err(CallError::Chain(chain)) => {
                fr.at = call_at;
                let Flow::Err(plain) =
                    self.err(fr, format!("error calling {name}: {}", chain.message))
                else {
                    unreachable!("err always builds an error")
                };
                Err(Flow::Err(TemplateError::wrapping(
                    plain.message().to_string(),
                    chain,
                )))
            }
        }
    }

    fn eval_arg(&mut self, fr: &mut Frame<'a>, dot: &Op, ty: PTy, arg: &'a Arg) -> R<Op> {
        fr.at = At::Arg(arg);
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                if ty.can_be_nil() {
                    return Ok(Op::nil());
                }
                return Err(self.err(fr, format!("cannot assign nil to {}", ty.name())));
            }
            Arg::Field { ident, .. } => {
                self.eval_field_chain(fr, dot, dot.clone(), ident, &[], None)?
            }
            Arg::Variable(v) => self.eval_variable(fr, dot, v, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(fr, dot, p)?,
            Arg::Identifier { name, .. } => {
                self.eval_function(fr, dot, name, At::Arg(arg), &[], None)?
            }
            Arg::Chain { node, fields, .. } => {
                self.eval_chain(fr, dot, arg, node, fields, &[], None)?
            }
            Arg::Bool(_, b) => match ty {
                PTy::Reflect | PTy::Go(Ty::Any | Ty::Bool) => {
                    return Ok(Op::plain(Value::Bool(*b)))
                }
                _ => return self.literal_mismatch(fr, ty, arg),
            },
            Arg::String { text, .. } => match ty {
                PTy::Reflect | PTy::Go(Ty::Any | Ty::String) => {
                    return Ok(Op::plain(Value::str(text)))
                }
                _ => return self.literal_mismatch(fr, ty, arg),
            },
            Arg::Number(_, n) => match ty {
                PTy::Reflect | PTy::Go(Ty::Any) => return self.ideal_constant(fr, n),
                PTy::Go(Ty::Int) => match n.int {
                    Some(i) if !n.is_complex => return Ok(Op::plain(Value::Int(i))),
                    _ => return Err(self.err(fr, format!("expected integer; found {arg}"))),
                },
                PTy::Go(Ty::Int64) => match n.int {
                    Some(i) if !n.is_complex => return Ok(Op::plain(Value::Int64(i))),
                    _ => return Err(self.err(fr, format!("expected integer; found {arg}"))),
                },
                PTy::Go(Ty::Float64) => match n.float {
                    Some(f) if !n.is_complex => return Ok(Op::plain(Value::Float(f))),
                    _ => return Err(self.err(fr, format!("expected float; found {arg}"))),
                },
                _ => return self.literal_mismatch(fr, ty, arg),
            },
        };
        self.validate_type(fr, v, ty)
    }

    fn literal_mismatch(&self, fr: &Frame<'a>, ty: PTy, arg: &Arg) -> R<Op> {
        let msg = match ty {
            PTy::Go(Ty::Bool) => format!("expected bool; found {arg}"),
            PTy::Go(Ty::String) => format!("expected string; found {arg}"),
            PTy::Go(Ty::Int | Ty::Int64) => format!("expected integer; found {arg}"),
            PTy::Go(Ty::Float64) => format!("expected float; found {arg}"),
            _ => format!("can't handle {arg} for arg of type {}", ty.name()),
        };
        Err(self.err(fr, msg))
    }

    /// Go's `validateType`: whether a computed value fits the parameter.
    fn validate_type(&self, fr: &Frame<'a>, v: Op, ty: PTy) -> R<Op> {
        let PTy::Go(t) = ty else { return Ok(v) };
        if t == Ty::Any {
            return Ok(v);
        }
        if v.v.is_nil() {
            if v.boxed {
                return Err(self.err(
                    fr,
                    format!(
                        "wrong type for value; expected {}; got interface {{}}",
                        t.go_name()
                    ),
                ));
            }
            if ty.can_be_nil() {
                return Ok(Op::nil());
            }
            return Err(self.err(fr, format!("invalid value; expected {}", t.go_name())));
        }
        let fits = match (t, &v.v) {
            (Ty::String, Value::String(_)) => true,
            (Ty::Int, Value::Int(_)) => true,
            (Ty::Int64, Value::Int64(_)) => true,
            (Ty::Float64, Value::Float(_)) => true,
            (Ty::Bool, Value::Bool(_)) => true,
            (Ty::Map, Value::Map(_)) => true,
            (Ty::List, Value::List(l)) => l.kind == crate::value::ListKind::Interface,
            (Ty::StringList, Value::List(l)) => l.kind == crate::value::ListKind::String,
            (Ty::Bytes, Value::Bytes(_)) => true,
            _ => false,
        };
        if !fits {
            return Err(self.err(
                fr,
                format!(
                    "wrong type for value; expected {}; got {}",
                    t.go_name(),
                    v.v.type_name()
                ),
            ));
        }
        Ok(Op::plain(v.v))
    }

    /// Helm's `include`: a named template executed into a string, with its nesting bound.
    fn include(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
        let name = argv[0].v.as_str().unwrap_or_default().to_string();
        let data = Op::plain(argv[1].v.clone());
        let count = match self.budget.includes.get_mut(&name) {
            Some(c) => c,
            None => self.budget.includes.entry(name.clone()).or_insert(0),
        };
        if *count > 1000 {
            return Err(CallError::Chain(Arc::new(Cause {
                message: format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                ),
                repeat: false,
                next: Some(Cause::leaf("unable to execute template".into())),
            })));
        }
        *count += 1;
        let r = self.nested(|ex| ex.execute_template(&name, data));
        if let Some(c) = self.budget.includes.get_mut(&name) {
            *c -= 1;
        }
        r.map(|s| Op::plain(Value::from(s)))
    }

    /// Runs `f` with a fresh output buffer and a depth level; returns what it wrote.
    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<(), TemplateError>,
    ) -> Result<String, CallError> {
        if self.budget.depth >= self.set.limits.max_depth {
            return Err(depth_exceeded(self.set.limits.max_depth));
        }
        self.budget.depth += 1;
        let saved = std::mem::take(&mut self.out);
        let r = f(self);
        let out = std::mem::replace(&mut self.out, saved);
        self.budget.depth -= 1;
        r.map(|()| out).map_err(pass_on)
    }

    /// Helm's `tpl`: parses the text into a copy of the set (so its defines stay local) and
    /// executes it; `<no value>` is removed from the result as Helm does.
    fn tpl(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
        let text = argv[0].v.as_str().unwrap_or_default().to_string();
        let data = Op::plain(argv[1].v.clone());
        let funcs = &self.set.funcs;
        let trees = parse::parse(&self.set.root_name, &text, &|f| funcs.contains_key(f))
            .map_err(|e| wrap(format!("cannot parse template {}: {e}", go_quote(&text)), e))?;
        let mut local: HashMap<String, Arc<Tree>> = HashMap::new();
        let mut main: Option<Arc<Tree>> = None;
        for tree in trees {
            let is_main = main.is_none();
            let tree = Arc::new(tree);
            if is_main {
                main = Some(tree.clone());
            }
            if tree.is_empty()
                && (local.contains_key(&tree.name) || self.scope.get(&tree.name).is_some())
            {
                continue;
            }
            local.insert(tree.name.clone(), tree);
        }
        let Some(main) = main else {
            return Ok(Op::plain(Value::str("")));
        };
        let scope = Scope {
            trees: &local,
            parent: Some(self.scope),
        };
        if self.budget.depth >= self.set.limits.max_depth {
            return Err(depth_exceeded(self.set.limits.max_depth));
        }
        self.budget.depth += 1;
        let mut inner = Exec {
            set: self.set,
            scope: &scope,
            budget: &mut *self.budget,
            out: String::new(),
        };
        let r = inner.run_tree(&main, data);
        let out = std::mem::take(&mut inner.out);
        self.budget.depth -= 1;
        match r {
            Ok(()) => Ok(Op::plain(Value::from(out.replace("<no value>", "")))),
            Err(e) if e.kind() == ErrorKind::Limit => Err(CallError::Abort(e)),
            Err(e) => Err(wrap(
                format!(
                    "error during tpl function execution for {}: {e}",
                    go_quote(&text)
                ),
                e,
            )),
        }
    }

    fn lookup(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
        let s = |i: usize| argv[i].v.as_str().unwrap_or_default().to_string();
        self.set
            .lookup
            .lookup(&s(0), &s(1), &s(2), &s(3))
            .map(|m| Op::plain(Value::map(m)))
            .map_err(CallError::from)
    }
}

fn depth_exceeded(max: usize) -> CallError {
    CallError::Abort(TemplateError::new(
        ErrorKind::Limit,
        format!("exceeded maximum template depth ({max})"),
    ))
}

/// An inner template error as a function's error: limits end everything, others are wrapped.
fn pass_on(e: TemplateError) -> CallError {
    if e.kind() == ErrorKind::Limit {
        return CallError::Abort(e);
    }
    CallError::Chain(e.head().clone())
}

/// `fmt.Errorf("...: %w", e)`: a message on top of the inner chain.
fn wrap(message: String, e: TemplateError) -> CallError {
    CallError::Chain(Arc::new(Cause {
        message,
        repeat: false,
        next: Some(e.head().clone()),
    }))
}

/// Go's `truth` for `and`/`or`/`not` (same as `if`).
pub(crate) fn truth(v: &Value) -> bool {
    v.truthy()
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Templates>();
    let _ = truth;
    let _: Option<Builtin> = None;
}
