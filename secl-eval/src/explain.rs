//! Explanations: why a rule matched an event, or did not.
//!
//! The rule's expression is parsed again and walked. Every boolean sub-expression
//! (`&&`/`||` operands, `!`, comparisons, memberships, macro references) is typechecked
//! on its own, with the same macros and variables, and evaluated with the reference
//! interpreter ([`crate::interp`]) on the event, so that an author sees at a glance which
//! comparison was false, what the fields held, and which array element or list member
//! matched. Rules with an iterator register are evaluated element by element: the
//! explanation names the element that satisfied the rule (or, when none did, the one
//! that came closest).
//!
//! Explanations cost a typecheck per sub-expression: they are for tests and `--explain`,
//! not for the evaluation path.

use crate::check::{Checker, Env, MacroTable, VarTable};
use crate::event::{Event, Value};
use crate::interp::{Context, RVal, eval};
use crate::ir::{Node, Register, Ty, VarRead};
use crate::model::Schema;
use crate::rule::Rule;
use crate::vars::EventScopes;
use crate::vm::eval::VarView;
use crate::vm::val::Val;
use secl_syntax::Span;
use secl_syntax::ast::{ArrayKind, BinaryOp, Expr, ExprKind, MacroBody, UnaryOp};
use serde::Serialize;
use std::fmt::Write;

/// Macros nest; explanations expand them up to this depth.
const MAX_DEPTH: usize = 24;
/// Array values longer than this are shortened in the text.
const MAX_ITEMS: usize = 12;
/// Strings longer than this are shortened in the text.
const MAX_CHARS: usize = 160;
/// Element or member notes per comparison.
const MAX_NOTES: usize = 6;
/// Register elements tried when looking for the closest element.
const MAX_ELEMENTS: usize = 100;

/// The explanation of one rule (or expression) on one event.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// The event type the rule applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_event_type: Option<String>,
    pub event_type: String,
    /// Whether the rule (alone, with these variables) matches the event.
    pub matched: bool,
    /// Facts about the evaluation as a whole: a register's element, an event-type
    /// mismatch, the write check of FIM rules.
    pub notes: Vec<String>,
    pub root: Step,
}

/// One sub-expression and its value on the event.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// The sub-expression as written.
    pub text: String,
    /// Its truth value; `None` when it is not boolean or could not be evaluated alone.
    pub value: Option<bool>,
    /// Values of the non-literal operands of a comparison: (text, value).
    pub operands: Vec<(String, String)>,
    /// Which elements or list members matched, how old a timestamp is, …
    pub notes: Vec<String>,
    /// The macro this step names (its body's steps are the children).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub macro_name: Option<String>,
    pub children: Vec<Step>,
}

/// Where names resolve: the loaded policy's macros and variables.
#[derive(Clone, Copy)]
pub struct Names<'a> {
    pub macros: &'a MacroTable,
    pub vars: &'a VarTable,
}

/// Explains `rule` on `ev`, reading variables through `vars` (the state before the event).
pub fn explain_rule(rule: &Rule, names: Names<'_>, ev: &dyn Event, vars: &dyn VarView) -> Explanation {
    let text = &rule.meta.expression;
    let fim = fim_prefix(rule, names);
    let mut notes = Vec::new();
    if ev.event_type() != &*rule.event_type {
        notes.push(format!("the rule applies to `{}` events; this is a `{}` event", rule.event_type, ev.event_type()));
    }
    if let Some(prefix) = &fim {
        notes.push(format!("FIM rule: `fim.write.file.` reads as `{prefix}` on `{}` events", rule.event_type));
        if &*rule.event_type == "open"
            && let Node::And(write, _) = &rule.node
            && !truth(&eval(write, ev, &Cx::new(ev, vars, names.vars, None)))
        {
            notes.push("FIM on `open` also needs a write flag in `open.flags`: it has none".into());
        }
    }
    let parsed = match secl_syntax::parser::parse_expression(text) {
        Ok(e) => e,
        Err(d) => return unexplained(rule, ev, text, &d.message),
    };
    let fim_prefix = fim.as_deref();
    let whole = |cx: &Cx<'_>| truth(&eval(&rule.node, ev, cx));
    explain_parsed(Some(rule), text, &parsed, fim_prefix, rule.register.as_ref(), &whole, names, ev, vars, notes)
}

/// Explains a standalone expression (`secl eval --expr … --explain`).
pub fn explain_expression(
    text: &str,
    names: Names<'_>,
    ev: &dyn Event,
    vars: &dyn VarView,
) -> Result<Explanation, Box<secl_syntax::Diagnostic>> {
    let parsed = secl_syntax::parser::parse_expression(text).map_err(Box::new)?;
    let checked = checker(names, None).check_bool(&parsed)?;
    let whole = |cx: &Cx<'_>| truth(&eval(&checked.node, ev, cx));
    Ok(explain_parsed(None, text, &parsed, None, checked.register.as_ref(), &whole, names, ev, vars, Vec::new()))
}

#[allow(clippy::too_many_arguments)]
fn explain_parsed(
    rule: Option<&Rule>,
    text: &str,
    parsed: &Expr,
    fim: Option<&str>,
    register: Option<&Register>,
    whole: &dyn Fn(&Cx<'_>) -> bool,
    names: Names<'_>,
    ev: &dyn Event,
    vars: &dyn VarView,
    mut notes: Vec<String>,
) -> Explanation {
    let walker =
        |reg: Option<usize>| Walker { names, fim, ev, cx: Cx::new(ev, vars, names.vars, reg), by_element: None };
    let (matched, root) = match register {
        None => {
            let w = walker(None);
            (whole(&w.cx), w.step(parsed, text, 0))
        }
        Some(reg) => {
            let len = register_len(ev, reg, rule);
            let hit = (0..len.min(MAX_ELEMENTS)).find(|i| whole(&walker(Some(*i)).cx));
            match hit {
                Some(i) => {
                    notes.push(format!(
                        "register [{}]: element {i} of `{}` satisfies the rule{}",
                        reg.name,
                        reg.prefix,
                        element_summary(ev, reg, i)
                    ));
                    (true, walker(Some(i)).step(parsed, text, 0))
                }
                None if len == 0 => {
                    notes.push(format!(
                        "register [{}]: `{}` has no elements, so the rule cannot match",
                        reg.name, reg.prefix
                    ));
                    (false, walker(None).step(parsed, text, 0))
                }
                None => {
                    // The element with the most true comparisons is the closest miss; every
                    // comparison through the register also lists its value per element.
                    let best = (0..len.min(MAX_ELEMENTS))
                        .map(|i| (i, walker(Some(i)).step(parsed, text, 0).true_leaves()))
                        .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)))
                        .map_or(0, |(i, _)| i);
                    let mut w = walker(Some(best));
                    w.by_element = Some((reg.name.as_str(), len.min(MAX_ELEMENTS)));
                    notes.push(format!(
                        "register [{}]: no element of `{}` ({len}) satisfies the rule; shown: element {best}{}",
                        reg.name,
                        reg.prefix,
                        element_summary(ev, reg, best)
                    ));
                    (false, w.step(parsed, text, 0))
                }
            }
        }
    };
    Explanation {
        rule_id: rule.map(|r| r.id.to_string()),
        rule_event_type: rule.map(|r| r.event_type.to_string()),
        event_type: ev.event_type().to_owned(),
        matched,
        notes,
        root,
    }
}

fn unexplained(rule: &Rule, ev: &dyn Event, text: &str, why: &str) -> Explanation {
    Explanation {
        rule_id: Some(rule.id.to_string()),
        rule_event_type: Some(rule.event_type.to_string()),
        event_type: ev.event_type().to_owned(),
        matched: false,
        notes: vec![format!("the expression could not be parsed again: {why}")],
        root: Step {
            text: text.to_owned(),
            value: None,
            operands: Vec::new(),
            notes: Vec::new(),
            macro_name: None,
            children: Vec::new(),
        },
    }
}

/// The element count of a register's prefix, as the rule set computes it.
fn register_len(ev: &dyn Event, reg: &Register, rule: Option<&Rule>) -> usize {
    match ev.field(reg.length_field) {
        Value::Int(n) => n.max(0) as usize,
        _ => rule
            .map(|r| r.fields.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| match ev.field(*f) {
                Value::Strs(l) => Some(l.len()),
                Value::Ints(l) => Some(l.len()),
                Value::Bools(l) => Some(l.len()),
                Value::Ips(l) => Some(l.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0),
    }
}

/// ` (process.ancestors.file.path = "/usr/sbin/cron")`: what the element is.
fn element_summary(ev: &dyn Event, reg: &Register, i: usize) -> String {
    let schema = Schema::linux();
    for suffix in ["file.path", "file.name", "comm"] {
        if let Some(f) = schema.field(&format!("{}.{suffix}", reg.prefix))
            && let Value::Str(s) = ev.field_element(f.id, i)
        {
            return format!(" ({}.{suffix} = {})", reg.prefix, quote(s));
        }
    }
    String::new()
}

/// For a FIM rule: the prefix `fim.write.file.` was rewritten to, found by recompiling
/// with each candidate of the rule's event type and comparing with the compiled rule.
fn fim_prefix(rule: &Rule, names: Names<'_>) -> Option<String> {
    if !rule.meta.expression.contains("fim.") {
        return None;
    }
    let parsed = secl_syntax::parser::parse_expression(&rule.meta.expression).ok()?;
    let candidates: &[&str] = match &*rule.event_type {
        "rename" => &["rename.file.", "rename.file.destination."],
        t => &[match t {
            "open" => "open.file.",
            "chmod" => "chmod.file.",
            "chown" => "chown.file.",
            "link" => "link.file.",
            "unlink" => "unlink.file.",
            "utimes" => "utimes.file.",
            _ => return None,
        }],
    };
    let target = match (&*rule.event_type, &rule.node) {
        ("open", Node::And(_, inner)) => &**inner,
        (_, node) => node,
    };
    let mut first = None;
    for prefix in candidates {
        let Ok(c) = checker(names, Some(prefix)).check_bool(&parsed) else { continue };
        if c.node == *target {
            return Some((*prefix).to_owned());
        }
        first.get_or_insert((*prefix).to_owned());
    }
    first
}

fn checker<'a>(names: Names<'a>, fim: Option<&str>) -> Checker<'a> {
    let env = Env { fields: Schema::linux(), macros: Some(names.macros), vars: Some(names.vars) };
    let c = Checker::new(env);
    match fim {
        Some(p) => c.with_fim_prefix(p),
        None => c,
    }
}

fn truth(v: &RVal) -> bool {
    matches!(v, RVal::Bool(true))
}

/// The interpreter's context: a fixed clock, a register element, variables.
struct Cx<'a> {
    now: i64,
    register: Option<usize>,
    vars: &'a dyn VarView,
    table: &'a VarTable,
}

impl<'a> Cx<'a> {
    fn new(ev: &dyn Event, vars: &'a dyn VarView, table: &'a VarTable, register: Option<usize>) -> Cx<'a> {
        let now = ev.timestamp_ns().unwrap_or_else(crate::vm::eval::wall_clock_ns);
        Cx { now, register, vars, table }
    }
}

impl Context for Cx<'_> {
    fn now(&self) -> i64 {
        self.now
    }

    fn register(&self) -> Option<usize> {
        self.register
    }

    fn var(&self, read: &VarRead) -> RVal {
        let ty = match read {
            VarRead::Declared(id) => self.table.decls().get(id.0 as usize).map_or(Ty::Str, |d| d.ty),
            VarRead::ProcessPid => Ty::Int,
            VarRead::Uuid4 => Ty::Str,
        };
        val_to_rval(self.vars.read(read, self.now), ty)
    }
}

fn val_to_rval(v: Val<'_>, ty: Ty) -> RVal {
    match v {
        Val::Bool(b) => RVal::Bool(b),
        Val::Int(i) => RVal::Int(i),
        Val::Str(s) => RVal::Str(s.into_owned()),
        Val::Ip(ip) => RVal::Ip(ip),
        Val::Bools(a) => RVal::Bools(a.to_vec()),
        Val::Ints(a) => RVal::Ints(a.to_vec()),
        Val::Strs(l) => RVal::Strs(l.iter().map(str::to_owned).collect()),
        Val::LitStrs(a) => RVal::Strs(a.iter().map(|s| s.to_string()).collect()),
        Val::Ips(a) => RVal::Ips(a.to_vec()),
        Val::Items(items, now) => {
            let live = items.iter().filter(move |i| i.expires_at.is_none_or(|e| e > now)).map(|i| &i.value);
            match ty.element() {
                Ty::Int => RVal::Ints(live.filter_map(|s| s.as_int()).collect()),
                Ty::Bool => RVal::Bools(live.filter_map(|s| s.as_bool()).collect()),
                Ty::Ip => RVal::Ips(live.filter_map(|s| s.as_ip()).collect()),
                _ => RVal::Strs(live.filter_map(|s| s.as_str().map(str::to_owned)).collect()),
            }
        }
        Val::Empty => RVal::zero(ty),
    }
}

struct Walker<'a> {
    names: Names<'a>,
    fim: Option<&'a str>,
    ev: &'a dyn Event,
    cx: Cx<'a>,
    /// When no element satisfies a register rule: the register's name and element count,
    /// so that each comparison through the register shows its value element by element.
    by_element: Option<(&'a str, usize)>,
}

impl Walker<'_> {
    /// Typechecks a sub-expression alone and evaluates it; also says whether it reads
    /// through the register.
    fn value(&self, e: &Expr) -> Result<(Node, RVal, bool), String> {
        let checked = checker(self.names, self.fim).check_any(e).map_err(|d| d.message.clone())?;
        let v = eval(&checked.node, self.ev, &self.cx);
        Ok((checked.node, v, checked.register.is_some()))
    }

    /// `A=0: "sh" ✗, A=1: "cron" ✓`: a comparison through the register, element by
    /// element, with the value of its first non-literal operand.
    fn per_element(&self, node: &Node, operand: Option<&Expr>) -> Option<String> {
        let (name, n) = self.by_element?;
        let operand = operand.and_then(|o| checker(self.names, self.fim).check_any(o).ok());
        let mut parts = Vec::new();
        for i in 0..n.min(MAX_ITEMS) {
            let cx = Cx { now: self.cx.now, register: Some(i), vars: self.cx.vars, table: self.cx.table };
            let mark = if truth(&eval(node, self.ev, &cx)) { "✓" } else { "✗" };
            match &operand {
                Some(o) => parts.push(format!("{name}={i}: {} {mark}", show(&eval(&o.node, self.ev, &cx)))),
                None => parts.push(format!("{name}={i}: {mark}")),
            }
        }
        if n > MAX_ITEMS {
            parts.push(format!("… {} more", n - MAX_ITEMS));
        }
        Some(format!("by element: {}", parts.join(", ")))
    }

    fn step(&self, e: &Expr, src: &str, depth: usize) -> Step {
        let text = slice(src, e.span);
        let mut step =
            Step { text, value: None, operands: Vec::new(), notes: Vec::new(), macro_name: None, children: Vec::new() };
        match &e.kind {
            ExprKind::Paren(inner) => {
                let mut s = self.step(inner, src, depth);
                s.text = step.text;
                return s;
            }
            ExprKind::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), .. } => {
                let mut operands = Vec::new();
                flatten(e, *op, &mut operands);
                step.children = operands.iter().map(|o| self.step(o, src, depth)).collect();
            }
            ExprKind::Unary { op: UnaryOp::Not, operand } => {
                step.children.push(self.step(operand, src, depth));
            }
            ExprKind::Compare { lhs, rhs, .. } => {
                self.operand(lhs, src, &mut step);
                self.operand(rhs, src, &mut step);
            }
            ExprKind::Membership { lhs, rhs, .. } => {
                self.operand(lhs, src, &mut step);
                match &rhs.kind {
                    ArrayKind::Ident(name)
                        if self.names.macros.get(name).is_none() && Schema::linux().constant(name).is_none() =>
                    {
                        let text = slice(src, rhs.span);
                        self.show(&text, rhs_expr(rhs), &mut step);
                    }
                    ArrayKind::Variable(_) | ArrayKind::FieldRef(_) => {
                        let text = slice(src, rhs.span);
                        self.show(&text, rhs_expr(rhs), &mut step);
                    }
                    _ => {}
                }
            }
            ExprKind::Ident(name) => {
                if let Some(m) = self.names.macros.get(name)
                    && let MacroBody::Expr(body) = &*m.body
                {
                    step.macro_name = Some(name.clone());
                    if depth < MAX_DEPTH {
                        // A chain of `&&`/`||` shows its operands directly under the name.
                        let inner = self.step(body, &m.text, depth + 1);
                        if inner.children.is_empty() || inner.macro_name.is_some() {
                            step.children.push(inner);
                        } else {
                            step.children = inner.children;
                        }
                    }
                }
            }
            _ => {}
        }
        match self.value(e) {
            Ok((node, v, through_register)) => {
                if let RVal::Bool(b) = v {
                    step.value = Some(b);
                } else if step.operands.is_empty() {
                    step.operands.push((step.text.clone(), show(&v)));
                }
                if step.children.is_empty() {
                    step.notes.extend(self.witnesses(&node));
                    if through_register {
                        let operand = match &e.kind {
                            ExprKind::Compare { lhs, rhs, .. } => Some(if is_literal(lhs) { &**rhs } else { &**lhs }),
                            ExprKind::Membership { lhs, .. } => Some(&**lhs),
                            _ => None,
                        };
                        step.notes.extend(self.per_element(&node, operand));
                    }
                }
            }
            Err(msg) => step.notes.push(format!("not evaluated alone: {msg}")),
        }
        step
    }

    /// Records the value of a non-literal operand.
    fn operand(&self, e: &Expr, src: &str, step: &mut Step) {
        let literal = is_literal(e)
            || match &e.kind {
                ExprKind::Ident(name) => {
                    Schema::linux().constant(name).is_some()
                        || self.names.macros.get(name).is_some_and(|m| matches!(&*m.body, MacroBody::Array(_)))
                }
                _ => false,
            };
        if !literal {
            self.show(&slice(src, e.span), Some(e.clone()), step);
        }
    }

    fn show(&self, text: &str, e: Option<Expr>, step: &mut Step) {
        let Some(e) = e else { return };
        match self.value(&e) {
            Ok((_, v, _)) => step.operands.push((text.to_owned(), show(&v))),
            Err(msg) => step.operands.push((text.to_owned(), format!("(not evaluated: {msg})"))),
        }
    }

    /// Which elements and list members made a comparison true.
    fn witnesses(&self, node: &Node) -> Vec<String> {
        let ev = self.ev;
        let cx = &self.cx;
        let mut notes = Vec::new();
        let node = match node {
            Node::Not(inner) => &**inner,
            n => n,
        };
        match node {
            Node::InStrSet { operand, set, .. } => {
                let v = eval(operand, ev, cx);
                let is_array = matches!(v, RVal::Strs(_));
                for (i, s) in strs(&v).iter().enumerate() {
                    let members: Vec<String> =
                        set.members().iter().filter(|m| m.matches(s)).map(|m| quote(m.source())).collect();
                    if members.is_empty() && !set.matches(s) {
                        continue;
                    }
                    let which = if members.is_empty() { String::new() } else { format!(" {}", members.join(", ")) };
                    notes.push(if is_array {
                        format!("element {i} {} matches{which}", quote(s))
                    } else {
                        format!("{} matches{which}", quote(s))
                    });
                }
                if notes.is_empty() {
                    notes.push(if is_array && strs(&v).is_empty() {
                        "no elements".to_owned()
                    } else {
                        "no member of the list matches".to_owned()
                    });
                }
            }
            Node::MatchStr { operand, matcher, .. } => {
                let v = eval(operand, ev, cx);
                if let RVal::Strs(items) = &v {
                    for (i, s) in items.iter().enumerate().filter(|(_, s)| matcher.matches(s)) {
                        notes.push(format!("element {i} {} matches {}", quote(s), quote(matcher.source())));
                    }
                    if notes.is_empty() {
                        notes.push(if items.is_empty() { "no elements".into() } else { "no element matches".into() });
                    }
                }
            }
            Node::CmpStr { lhs, rhs, case_insensitive, .. } => {
                let (l, r) = (eval(lhs, ev, cx), eval(rhs, ev, cx));
                let r = strs(&r).pop().unwrap_or_default();
                if let RVal::Strs(items) = &l {
                    for (i, s) in items.iter().enumerate() {
                        let eq = if *case_insensitive { crate::matcher::fold_eq(s, &r) } else { *s == r };
                        if eq {
                            notes.push(format!("element {i} {} equals {}", quote(s), quote(&r)));
                        }
                    }
                    if notes.is_empty() {
                        notes.push(format!("no element equals {}", quote(&r)));
                    }
                }
            }
            Node::InIntSet { operand, set, .. } => {
                if let RVal::Ints(items) = eval(operand, ev, cx) {
                    for (i, n) in items.iter().enumerate().filter(|(_, n)| set.contains(n)) {
                        notes.push(format!("element {i} ({n}) is in the list"));
                    }
                    if notes.is_empty() {
                        notes.push(if items.is_empty() {
                            "no elements".into()
                        } else {
                            "no element is in the list".into()
                        });
                    }
                }
            }
            Node::CmpInt { op, lhs, rhs } => {
                let (l, r) = (eval(lhs, ev, cx), eval(rhs, ev, cx));
                let op_text = cmp_text(*op);
                match (&l, &r) {
                    (RVal::Ints(items), RVal::Int(b)) => {
                        for (i, a) in items.iter().enumerate().filter(|(_, a)| op.apply(**a, *b)) {
                            notes.push(format!("element {i} ({a}) {op_text} {b}"));
                        }
                    }
                    (RVal::Int(a), RVal::Ints(items)) => {
                        for (i, b) in items.iter().enumerate().filter(|(_, b)| op.apply(*a, **b)) {
                            notes.push(format!("{a} {op_text} element {i} ({b})"));
                        }
                    }
                    _ => {}
                }
            }
            Node::InArray { operand, array, case_insensitive, .. } => {
                let (l, r) = (eval(operand, ev, cx), eval(array, ev, cx));
                let rs = strs(&r);
                for (i, s) in strs(&l).iter().enumerate() {
                    let found =
                        rs.iter().any(|b| if *case_insensitive { crate::matcher::fold_eq(s, b) } else { s == b });
                    if found {
                        notes.push(format!("element {i} {} is in the array", quote(s)));
                    }
                }
                if let RVal::Ints(b) = &r {
                    for (i, n) in ints(&l).iter().enumerate().filter(|(_, n)| b.contains(n)) {
                        notes.push(format!("element {i} ({n}) is in the array"));
                    }
                }
            }
            Node::Age { operand, nanos, .. } => {
                for t in ints(&eval(operand, ev, cx)) {
                    let age = cx.now.wrapping_sub(t);
                    notes.push(format!("age {} (limit {})", duration(age), duration(*nanos)));
                }
            }
            _ => {}
        }
        notes.truncate(MAX_NOTES);
        notes
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Int(_)
            | ExprKind::Duration(_)
            | ExprKind::String(_)
            | ExprKind::Pattern(_)
            | ExprKind::Regex(_)
            | ExprKind::Ip(_)
            | ExprKind::Cidr(_)
    )
}

fn rhs_expr(a: &secl_syntax::ast::Array) -> Option<Expr> {
    let kind = match &a.kind {
        ArrayKind::Ident(n) => ExprKind::Ident(n.clone()),
        ArrayKind::Variable(n) => ExprKind::Variable(n.clone()),
        ArrayKind::FieldRef(n) => ExprKind::FieldRef(n.clone()),
        _ => return None,
    };
    Some(Expr { kind, span: a.span })
}

/// `a && b && c` as `[a, b, c]` (parentheses of the same operator are kept).
fn flatten<'e>(e: &'e Expr, op: BinaryOp, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary { op: o, lhs, rhs } if *o == op => {
            flatten(lhs, op, out);
            flatten(rhs, op, out);
        }
        _ => out.push(e),
    }
}

fn slice(src: &str, span: Span) -> String {
    src.get(span.range()).unwrap_or("").to_owned()
}

fn strs(v: &RVal) -> Vec<String> {
    match v {
        RVal::Str(s) => vec![s.clone()],
        RVal::Strs(a) => a.clone(),
        _ => Vec::new(),
    }
}

fn ints(v: &RVal) -> Vec<i64> {
    match v {
        RVal::Int(i) => vec![*i],
        RVal::Ints(a) => a.clone(),
        _ => Vec::new(),
    }
}

fn cmp_text(op: crate::ir::CmpOp) -> &'static str {
    use crate::ir::CmpOp::*;
    match op {
        Eq => "==",
        Ne => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
    }
}

fn duration(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    if s.abs() >= 3600.0 {
        format!("{:.1}h", s / 3600.0)
    } else if s.abs() >= 60.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{s:.3}s")
    }
}

/// A string as a JSON literal, shortened past [`MAX_CHARS`].
fn quote(s: &str) -> String {
    if s.chars().count() > MAX_CHARS {
        let cut: String = s.chars().take(MAX_CHARS).collect();
        format!("{}…", serde_json::Value::String(cut))
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// A value as text: strings quoted, arrays bracketed and shortened.
pub fn show(v: &RVal) -> String {
    fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        let mut out = String::from("[");
        for (i, x) in items.iter().take(MAX_ITEMS).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&f(x));
        }
        if items.len() > MAX_ITEMS {
            let _ = write!(out, ", … {} more", items.len() - MAX_ITEMS);
        }
        out.push(']');
        out
    }
    match v {
        RVal::Bool(b) => b.to_string(),
        RVal::Int(i) => i.to_string(),
        RVal::Str(s) => quote(s),
        RVal::Ip(ip) => ip.to_string(),
        RVal::Bools(a) => list(a, bool::to_string),
        RVal::Ints(a) => list(a, i64::to_string),
        RVal::Strs(a) => list(a, |s| quote(s)),
        RVal::Ips(a) => list(a, |ip| ip.to_string()),
    }
}

impl Step {
    /// Leaves (comparisons) that are true: how close a miss came.
    pub fn true_leaves(&self) -> usize {
        if self.children.is_empty() {
            usize::from(self.value == Some(true))
        } else {
            self.children.iter().map(Step::true_leaves).sum()
        }
    }

    /// The first false leaf under a false step, following the evaluation: the
    /// comparison that made the rule fail.
    pub fn first_false_leaf(&self) -> Option<&Step> {
        if self.value != Some(false) {
            return None;
        }
        if self.children.is_empty() {
            return Some(self);
        }
        self.children.iter().find_map(Step::first_false_leaf).or(Some(self))
    }
}

impl Explanation {
    /// The explanation as an indented tree: `✓`/`✗` per sub-expression, operand values
    /// under each comparison, then notes (`→ …`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let verdict = if self.matched { "matched" } else { "did not match" };
        match (&self.rule_id, &self.rule_event_type) {
            (Some(id), Some(t)) => {
                let _ = writeln!(out, "rule `{id}` ({t}) {verdict} this `{}` event", self.event_type);
            }
            _ => {
                let _ = writeln!(out, "expression {verdict} this `{}` event", self.event_type);
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        render_step(&self.root, 1, &mut out);
        out
    }
}

fn render_step(s: &Step, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let mark = match s.value {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "·",
    };
    let text = one_line(&s.text);
    let kind = if s.macro_name.is_some() { " (macro)" } else { "" };
    let _ = writeln!(out, "{pad}{mark} {text}{kind}");
    for (t, v) in &s.operands {
        let _ = writeln!(out, "{pad}    {} = {v}", one_line(t));
    }
    for n in &s.notes {
        let _ = writeln!(out, "{pad}    → {n}");
    }
    for c in &s.children {
        render_step(c, depth + 1, out);
    }
}

/// Collapses the whitespace of a multi-line expression.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// The scope keys of an event, as the rule set resolves them (for a [`VarView`] over a
/// state's variables: [`crate::vars::ScopedVars`]).
pub fn scopes_of(ev: &dyn Event) -> EventScopes {
    let schema = Schema::linux();
    let read = |name: &str| schema.field(name).map(|f| ev.field(f.id)).unwrap_or(Value::Missing);
    let mut s = EventScopes::default();
    if let Value::Int(p) = read("process.pid") {
        s.pid = Some(p);
    }
    if let Value::Ints(a) = read("process.ancestors.pid") {
        s.ancestors.extend_from_slice(a);
    }
    if let Value::Str(c) = read("process.container.id") {
        s.container = c.to_owned();
    }
    if let Value::Str(c) = read("process.cgroup.id") {
        s.cgroup = c.to_owned();
    }
    s
}

/// Per declared variable, whether some `set` action makes it inherited (SPEC §8.2).
pub fn inherited_flags(rules: &[Rule], vars: &VarTable) -> Vec<bool> {
    let mut flags = vec![false; vars.decls().len()];
    for r in rules {
        for a in &r.actions {
            if let crate::rule::ActionKind::Set(s) = &a.kind
                && s.inherited
                && let Some(f) = flags.get_mut(s.var.0 as usize)
            {
                *f = true;
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_event::JsonEvent;
    use crate::vm::eval::NoVars;

    fn explain(text: &str, event: &str) -> Explanation {
        let ev = JsonEvent::from_str(event).unwrap();
        let (macros, vars) = (MacroTable::default(), VarTable::default());
        explain_expression(text, Names { macros: &macros, vars: &vars }, &ev, &NoVars).unwrap()
    }

    #[test]
    fn names_the_false_comparison() {
        let e = explain(
            r#"exec.file.name in ["xmrig", "minerd"] && exec.args =~ "*stratum+tcp*""#,
            r#"{"type":"exec","values":{"exec.file.path":"/tmp/xmrig","exec.argv":["-o","pool:3333"]}}"#,
        );
        assert!(!e.matched);
        assert_eq!(e.root.children[0].value, Some(true));
        assert_eq!(e.root.children[1].value, Some(false));
        assert_eq!(e.root.first_false_leaf().unwrap().text, r#"exec.args =~ "*stratum+tcp*""#);
        let text = e.render();
        assert!(text.contains(r#"exec.file.name = "xmrig""#), "{text}");
        assert!(text.contains(r#"→ "xmrig" matches "xmrig""#), "{text}");
        assert!(text.contains(r#"exec.args = "-o pool:3333""#), "{text}");
    }

    #[test]
    fn names_the_matching_element_and_register() {
        let ev = r#"{"type":"exec","values":{"exec.file.path":"/bin/sh","process.ancestors.file.path":["/bin/bash","/usr/sbin/cron"],"process.ancestors.uid":[1000,0]}}"#;
        let e = explain(r#"process.ancestors.file.name in ["cron", "crond"]"#, ev);
        assert!(e.matched);
        assert!(e.root.notes.iter().any(|n| n == r#"element 1 "cron" matches "cron""#), "{:?}", e.root.notes);
        let e = explain(
            r#"process.ancestors[A].file.name == "cron" && process.ancestors[A].uid == 0 && exec.file.name == "sh""#,
            ev,
        );
        assert!(e.matched);
        assert!(e.notes[0].contains("element 1 of `process.ancestors`"), "{:?}", e.notes);
        let e = explain(
            r#"process.ancestors[A].file.name == "bash" && process.ancestors[A].uid == 0 && exec.file.name == "sh""#,
            ev,
        );
        assert!(!e.matched);
        assert!(e.notes[0].contains("no element"), "{:?}", e.notes);
    }
}
