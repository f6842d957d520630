//! Go's template parser (text/template/parse), with its error messages.

use std::sync::Arc;

use super::ast::{Arg, Branch, Command, Node, Pipe, TemplateCall, Tree, Variable};
use super::lex::{lex, Item, ItemType};
use super::literal;
use super::{ErrorKind, TemplateError, MAX_PARSE_DEPTH};

type PResult<T> = Result<T, TemplateError>;

/// What `textOrAction` found: a node, or the `{{end}}`/`{{else}}` closing a list.
enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::End => "{{end}}".into(),
            Parsed::Else => "{{else}}".into(),
            Parsed::Node(n) => n.to_string(),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    text_arc: Arc<str>,
    parse_name: Arc<str>,
    items: Vec<Item>,
    idx: usize,
    /// The furthest item read: Go reports errors at the line of the last token it lexed.
    hi: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    depth: usize,
    /// The trees this text defines, in Go's `treeSet` (by name, first come first).
    trees: Vec<Tree>,
}

/// Parses one file: its own tree first, then the templates it defines.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, TemplateError> {
    let mut p = Parser {
        text,
        text_arc: Arc::from(text),
        parse_name: Arc::from(name),
        items: lex(text),
        idx: 0,
        hi: 0,
        has_func,
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
        depth: 0,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    let main = p.tree(name.to_string(), root);
    p.add(main)?;
    // The file's own tree first: callers add trees in order.
    if let Some(i) = p.trees.iter().position(|t| t.name == name) {
        let main = p.trees.remove(i);
        p.trees.insert(0, main);
    }
    Ok(p.trees)
}

impl<'a> Parser<'a> {
    fn tree(&self, name: String, root: Vec<Node>) -> Tree {
        Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text_arc.clone(),
            root,
        }
    }

    /// Go's `Tree.add` within one parse: an empty tree never replaces, two non-empty ones clash.
    fn add(&mut self, tree: Tree) -> PResult<()> {
        match self.trees.iter().position(|t| t.name == tree.name) {
            None => self.trees.push(tree),
            Some(i) if self.trees[i].is_empty() => self.trees[i] = tree,
            Some(_) if !tree.is_empty() => {
                return Err(self.error(format!(
                    "template: multiple definition of template {}",
                    super::fmt::go_quote(&tree.name)
                )))
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn error(&self, msg: String) -> TemplateError {
        let line = self.items[self.hi.min(self.items.len() - 1)].line;
        TemplateError::new(
            ErrorKind::Parse,
            format!("template: {}:{}: {}", self.parse_name, line, msg),
        )
    }

    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx = i + 1;
        self.hi = self.hi.max(i);
        self.items[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn val<'b>(&'b self, it: &'b Item) -> &'b str {
        it.val(self.text)
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.typ != typ {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn unexpected(&self, it: &Item, context: &str) -> TemplateError {
        if it.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != it.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if it.msg.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.error(format!("{}{}", it.msg, extra));
        }
        self.error(format!(
            "unexpected {} in {}",
            it.describe(self.text),
            context
        ))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.error("max expression depth exceeded".into()));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim_idx = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = delim_idx;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                other => return Err(self.error(format!("unexpected {}", other.describe()))),
            }
        }
        Ok(root)
    }

    /// Parses `{{define "name"}}...{{end}}` (the keyword read) into a tree of its own.
    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let name_item = self.next_non_space();
        if !matches!(name_item.typ, ItemType::String | ItemType::RawString) {
            return Err(self.unexpected(&name_item, CONTEXT));
        }
        let name = literal::unquote(self.val(&name_item))
            .ok_or_else(|| self.error("invalid syntax".into()))?;
        self.expect(ItemType::RightDelim, CONTEXT)?;
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return Err(self.error(format!("unexpected {} in {}", end.describe(), CONTEXT)));
        }
        let tree = self.tree(name, list);
        self.add(tree)?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        self.enter()?;
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => {
                    self.depth -= 1;
                    return Ok((list, end));
                }
            }
        }
        Err(self.error("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(self.val(&it).into()))),
            ItemType::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break => return self.loop_control(it.pos, "{{break}}", true),
            ItemType::Continue => return self.loop_control(it.pos, "{{continue}}", false),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.branch("if").map(|b| Parsed::Node(Node::If(b))),
            ItemType::Range => return self.branch("range").map(|b| Parsed::Node(Node::Range(b))),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.branch("with").map(|b| Parsed::Node(Node::With(b))),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn loop_control(&mut self, pos: usize, context: &str, is_break: bool) -> PResult<Parsed> {
        let it = self.next_non_space();
        if it.typ != ItemType::RightDelim {
            return Err(self.unexpected(&it, context));
        }
        if self.range_depth == 0 {
            return Err(self.error(format!("{context} outside {{{{range}}}}")));
        }
        Ok(Parsed::Node(if is_break {
            Node::Break(pos)
        } else {
            Node::Continue(pos)
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if matches!(peek.typ, ItemType::If | ItemType::With) {
            return Ok(Parsed::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    /// `if`, `range` and `with` (Go's `parseControl`), including `else if` / `else with`.
    fn branch(&mut self, context: &str) -> PResult<Branch> {
        let vars_mark = self.vars.len();
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else = next {
            let peek = self.peek().typ;
            if context == "if" && peek == ItemType::If {
                self.next();
                self.enter()?;
                let inner = self.branch("if")?;
                self.depth -= 1;
                else_list = Some(vec![Node::If(inner)]);
            } else if context == "with" && peek == ItemType::With {
                self.next();
                self.enter()?;
                let inner = self.branch("with")?;
                self.depth -= 1;
                else_list = Some(vec![Node::With(inner)]);
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return Err(self.error(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(vars_mark);
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, it: &Item, context: &str) -> PResult<String> {
        match it.typ {
            ItemType::String | ItemType::RawString => {
                literal::unquote(self.val(it)).ok_or_else(|| self.error("invalid syntax".into()))
            }
            _ => Err(self.unexpected(it, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template(TemplateCall {
            pos: it.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return Err(self.error(format!("unexpected {} in {}", end.describe(), CONTEXT)));
        }
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let tree = self.tree(name.clone(), list);
        self.add(tree)?;
        Ok(Node::Template(TemplateCall {
            pos: it.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            action_pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            let name = self.val(&v).to_string();
            if matches!(next.typ, ItemType::Assign | ItemType::Declare) {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push(self.variable(v.pos, &name));
                self.vars.push(name);
                break;
            } else if next.typ == ItemType::Char && self.val(&next) == "," {
                self.next_non_space();
                pipe.decl.push(self.variable(v.pos, &name));
                self.vars.push(name);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            continue
                        }
                        _ => return Err(self.error("range can only initialize variables".into())),
                    }
                }
                return Err(self.error(format!("too many declarations in {context}")));
            } else {
                let _ = after;
                self.idx = v_idx;
                break;
            }
        }
        loop {
            let it = self.next_non_space();
            match it.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.error(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool(..)
                        | Arg::Dot(_)
                        | Arg::Nil(_)
                        | Arg::Number(..)
                        | Arg::String { .. }
                )
            ) {
                return Err(self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn variable(&self, pos: usize, text: &str) -> Variable {
        Variable {
            pos,
            ident: text.split('.').map(str::to_string).collect(),
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let it = self.next();
            match it.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.error("empty command".into()));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let it = self.next();
            fields.push(self.val(&it)[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = chain_pos;
                Arg::Variable(v)
            }
            n @ (Arg::Bool(..)
            | Arg::String { .. }
            | Arg::Number(..)
            | Arg::Nil(_)
            | Arg::Dot(_)) => {
                return Err(self.error(format!(
                    "unexpected . after term {}",
                    super::fmt::go_quote(&n.to_string())
                )))
            }
            n => Arg::Chain {
                pos: chain_pos,
                node: Box::new(n),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        let pos = it.pos;
        Ok(Some(match it.typ {
            ItemType::Identifier => {
                let name = self.val(&it).to_string();
                if !(self.has_func)(&name) {
                    return Err(self.error(format!(
                        "function {} not defined",
                        super::fmt::go_quote(&name)
                    )));
                }
                Arg::Identifier { pos, name }
            }
            ItemType::Dot => Arg::Dot(pos),
            ItemType::Nil => Arg::Nil(pos),
            ItemType::Variable => {
                let v = self.variable(pos, self.val(&it));
                if !self.vars.iter().any(|n| *n == v.ident[0]) {
                    return Err(self.error(format!(
                        "undefined variable {}",
                        super::fmt::go_quote(&v.ident[0])
                    )));
                }
                Arg::Variable(v)
            }
            ItemType::Field => Arg::Field {
                pos,
                ident: self.val(&it)[1..].split('.').map(str::to_string).collect(),
            },
            ItemType::Bool => Arg::Bool(pos, self.val(&it) == "true"),
            ItemType::CharConstant => {
                let text = self.val(&it).to_string();
                let v = literal::char_constant(&text).map_err(|e| self.error(e))?;
                Arg::Number(
                    pos,
                    super::ast::Number {
                        text,
                        int: Some(v),
                        is_uint: true,
                        float: Some(v as f64),
                        is_complex: false,
                    },
                )
            }
            ItemType::Complex | ItemType::Number => {
                let n = literal::number(self.val(&it)).map_err(|e| self.error(e))?;
                Arg::Number(pos, n)
            }
            ItemType::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(p))
            }
            ItemType::String | ItemType::RawString => {
                let quoted = self.val(&it).to_string();
                let text =
                    literal::unquote(&quoted).ok_or_else(|| self.error("invalid syntax".into()))?;
                Arg::String { pos, quoted, text }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
