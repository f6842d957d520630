//! Evaluating pipelines, commands, fields and variables (Go's `evalPipeline` and friends).

use super::*;

impl<'a, 'b> Exec<'a, 'b> {
    pub(super) fn eval_pipeline(&mut self, fr: &mut Frame<'a>, dot: &Op, pipe: &'a Pipe) -> R<Op> {
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

    pub(super) fn not_a_function(&self, fr: &Frame<'a>, args: &[Arg], fin: &Option<Op>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.err(
                fr,
                format!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    pub(super) fn eval_command(
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

    pub(super) fn ideal_constant(&self, fr: &Frame<'a>, n: &Number) -> R<Op> {
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

    pub(super) fn eval_variable(
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
    pub(super) fn eval_chain(
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

    pub(super) fn eval_field_chain(
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

    pub(super) fn eval_field(
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
                let o = o.clone();
                match self.call_method(fr, dot, &*o, name, args, fin)? {
                    Some(v) => Ok(Op::plain(v)),
                    None => {
                        Err(self.err(fr, format!("can't evaluate field {name} in type {}", typ())))
                    }
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
}
