//! Calling functions: argument checking as Go's reflection does it, Go's builtins, and Helm's
//! `include`, `tpl` and `lookup`.

use super::*;

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

impl<'a, 'b> Exec<'a, 'b> {
    /// Go's check of the argument count against a signature, with its messages.
    fn check_arg_count(
        &self,
        fr: &Frame<'a>,
        name: &str,
        params: Params,
        variadic: Option<PTy>,
        written: usize,
        piped: bool,
    ) -> R<()> {
        let num_in = written + usize::from(piped);
        let num_fixed = params.len();
        if variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.err(
                    fr,
                    format!(
                        "wrong number of args for {name}: want at least {num_fixed} got {written}"
                    ),
                ));
            }
        } else if num_in != num_fixed {
            return Err(self.err(
                fr,
                format!("wrong number of args for {name}: want {num_fixed} got {num_in}"),
            ));
        }
        Ok(())
    }

    /// Evaluates the written arguments against their parameters and checks the piped one.
    fn eval_args(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        params: Params,
        variadic: Option<PTy>,
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Vec<Op>> {
        let num_fixed = params.len();
        let num_in = args.len() + usize::from(fin.is_some());
        let rest = variadic.unwrap_or(PTy::Go(Ty::Any));
        let mut argv: Vec<Op> = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let ty = if i < num_fixed { params.get(i) } else { rest };
            argv.push(self.eval_arg(fr, dot, ty, a)?);
        }
        if let Some(f) = fin {
            let ty = if num_in - 1 < num_fixed {
                params.get(num_in - 1)
            } else {
                rest
            };
            argv.push(self.validate_type(fr, f, ty)?);
        }
        Ok(argv)
    }

    /// A method of an object: arguments checked against its signature when it declares one.
    pub(super) fn call_method(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        object: &dyn crate::value::Object,
        name: &str,
        args: &'a [Arg],
        fin: Option<Op>,
    ) -> R<Option<Value>> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let at = fr.at;
        let argv = match object.method_sig(name) {
            Some(sig) => {
                let params = Params::Go(sig.params);
                let variadic = sig.variadic.map(PTy::Go);
                self.check_arg_count(fr, name, params, variadic, args.len(), fin.is_some())?;
                self.eval_args(fr, dot, params, variadic, args, fin)?
            }
            None => self.eval_args(fr, dot, Params::Go(&[]), Some(PTy::Go(Ty::Any)), args, fin)?,
        };
        fr.at = at;
        match object.member(name, argv.into_iter().map(|o| o.v).collect()) {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(e)) => Err(self.err(fr, format!("error calling {name}: {e}"))),
        }
    }

    pub(super) fn eval_function(
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
        self.check_arg_count(fr, name, params, variadic, args.len(), fin.is_some())?;
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
        let argv = self.eval_args(fr, dot, params, variadic, args, fin)?;
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

    pub(super) fn eval_arg(
        &mut self,
        fr: &mut Frame<'a>,
        dot: &Op,
        ty: PTy,
        arg: &'a Arg,
    ) -> R<Op> {
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

    pub(super) fn literal_mismatch(&self, fr: &Frame<'a>, ty: PTy, arg: &Arg) -> R<Op> {
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
    pub(super) fn validate_type(&self, fr: &Frame<'a>, v: Op, ty: PTy) -> R<Op> {
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
    pub(super) fn include(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
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
    pub(super) fn nested(
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
    pub(super) fn tpl(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
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

    pub(super) fn lookup(&mut self, argv: Vec<Op>) -> Result<Op, CallError> {
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
