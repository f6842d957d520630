//! Executing parsed templates (Go's text/template exec.go) with Helm's `missingkey=zero`:
//! walking the tree here, evaluating pipelines in `eval`, calling functions in `call`.

mod call;
mod eval;

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
                            Value::Object(o) if o.action_string().is_some() => {
                                self.write(&o.action_string().unwrap_or_default())?
                            }
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
