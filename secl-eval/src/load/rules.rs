//! Macros and rules: parsing, checking, event-type inference, FIM expansion.

use super::{DefReport, Loaded, Status};
use crate::check::{Checked, Checker, Env, MacroEntry};
use crate::ir::{CmpOp, FieldLoad, IntOp, Lit, Node, Ty};
use crate::model::Schema;
use crate::rule::{Rule, RuleMeta};
use secl_syntax::ast::{Array, ArrayKind, MacroBody, StringKind, StringMember};
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::{Merged, MergedRule, Text};
use secl_syntax::{Diagnostic, Span};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Maps a diagnostic computed on `text` into its policy file.
pub(super) fn locate(d: Diagnostic, text: &Text, id: &str) -> Diagnostic {
    d.map_spans(|s| text.file_span(s)).with_source(text.source().clone()).with_rule_id(id)
}

fn report(id: &str, text_source: &Arc<secl_syntax::SourceFile>, span: Span, status: Status) -> DefReport {
    DefReport {
        id: id.to_owned(),
        file: text_source.name.clone(),
        line: text_source.line_col(span.start as usize).0,
        status,
        reason: None,
        event_type: None,
    }
}

pub(super) fn compile_macros(merged: &Merged, out: &mut Loaded) {
    let schema = Schema::linux();
    let later: Vec<&str> = merged.macros.iter().map(|m| m.def.id.value.as_str()).collect();
    for (index, m) in merged.macros.iter().enumerate() {
        let id = m.def.id.value.as_str();
        let mut rep = report(id, &m.origin.source, m.origin.span, Status::Loaded);
        let (text, body) = match (m.def.expression(), &m.def.values) {
            (Some(expr), _) => match secl_syntax::parser::parse_macro_body(&expr.value) {
                Ok(body) => (expr.clone(), body),
                Err(d) => {
                    fail(out, &mut rep, locate(d, expr, id));
                    continue;
                }
            },
            (None, Some(values)) => {
                let members = values
                    .iter()
                    .map(|v| StringMember { kind: StringKind::Plain, text: v.value.clone(), span: Span::default() })
                    .collect();
                let text = Text::synthetic("", m.def.id.span, m.origin.source.clone());
                (text, MacroBody::Array(Array { kind: ArrayKind::Strings(members), span: Span::default() }))
            }
            (None, None) => {
                let d = Diagnostic::error(
                    codes::MACRO_DEFINITION,
                    format!("macro `{id}` has neither `expression` nor `values`"),
                )
                .with_label(m.def.id.span, "")
                .with_source(m.origin.source.clone())
                .with_rule_id(id);
                fail(out, &mut rep, d);
                continue;
            }
        };
        let env = Env { fields: schema, macros: Some(&out.macros), vars: None };
        match Checker::new(env).check_macro(&body) {
            Ok(checked) => {
                let event_types = event_types_of(schema, &checked);
                out.diagnostics.extend(checked.warnings.into_iter().map(|w| locate(w, &text, id)));
                out.macros.insert(MacroEntry {
                    id: id.to_owned(),
                    body: Arc::new(body),
                    text: Arc::from(text.value.as_str()),
                    event_types,
                });
                out.macro_reports.push(rep);
            }
            Err(d) => {
                let mut d = locate(*d, &text, id);
                if let Some(name) = backticked(&d.message)
                    && later[index + 1..].contains(&name.as_str())
                {
                    d.help =
                        Some(format!("macro `{name}` is defined later; a macro can only use macros defined before it"));
                }
                fail(out, &mut rep, d);
            }
        }
    }
}

fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = msg[start..].find('`')? + start;
    Some(msg[start..end].to_owned())
}

fn fail(out: &mut Loaded, rep: &mut DefReport, d: Diagnostic) {
    rep.status = Status::Error;
    rep.reason = Some(d.message.clone());
    out.macro_reports.push(rep.clone());
    out.diagnostics.push(d);
}

fn event_types_of(schema: &Schema, checked: &Checked) -> BTreeSet<String> {
    checked.fields.iter().filter_map(|(id, _)| schema.field_by_id(*id).event_type.clone()).collect()
}

pub(super) fn compile_rules(merged: &Merged, out: &mut Loaded, linux: bool) {
    for r in &merged.rules {
        let id = r.id();
        let mut rep = report(id, &r.origin.source, r.origin.span, Status::Loaded);
        if r.is_disabled() {
            rep.status = Status::Filtered;
            rep.reason = Some("rule disabled".into());
            out.rule_reports.push(rep);
            continue;
        }
        if !linux {
            // We carry the Linux event model only: on another OS a rule's syntax is
            // checked, its fields cannot be.
            match r.def.expression().map(|t| (t, secl_syntax::parser::parse_expression(&t.value))) {
                Some((t, Err(d))) => {
                    let d = locate(d, t, id);
                    rep.status = Status::Error;
                    rep.reason = Some(d.message.clone());
                    out.diagnostics.push(d);
                }
                _ => rep.reason = Some("syntax checked only: no event model for this OS".into()),
            }
            out.rule_reports.push(rep);
            continue;
        }
        match compile_rule(r, out) {
            Ok((event_type, rules)) => {
                rep.event_type = Some(event_type);
                out.rules.extend(rules);
                out.rule_reports.push(rep);
            }
            Err(d) => {
                rep.status = Status::Error;
                rep.reason = Some(d.message.clone());
                out.rule_reports.push(rep);
                out.diagnostics.push(d);
            }
        }
    }
}

/// The file-access event types a FIM rule expands to, with the prefix that replaces
/// `fim.write.file.` (SPEC §11).
const FIM_EXPANSION: &[(&str, &str)] = &[
    ("open", "open.file."),
    ("chmod", "chmod.file."),
    ("chown", "chown.file."),
    ("link", "link.file."),
    ("rename", "rename.file."),
    ("rename", "rename.file.destination."),
    ("unlink", "unlink.file."),
    ("utimes", "utimes.file."),
];

/// `O_CREAT|O_TRUNC|O_APPEND|O_RDWR|O_WRONLY`: the write intent implied on FIM `open`.
const FIM_OPEN_WRITE_MASK: i64 = 64 | 512 | 1024 | 2 | 1;

fn compile_rule(r: &MergedRule, out: &mut Loaded) -> Result<(String, Vec<Rule>), Diagnostic> {
    let schema = Schema::linux();
    let id = r.id();
    let Some(text) = r.def.expression() else {
        return Err(Diagnostic::error(codes::MISSING_EXPRESSION, "no rule expression")
            .with_label(r.def.id.span, "this rule has no `expression`")
            .with_source(r.origin.source.clone())
            .with_rule_id(id));
    };
    let expr = secl_syntax::parser::parse_expression(&text.value).map_err(|d| locate(d, text, id))?;
    let env = Env { fields: schema, macros: Some(&out.macros), vars: Some(&out.vars) };
    let checked = Checker::new(env).with_cache(&out.set_cache).check_bool(&expr).map_err(|d| locate(*d, text, id))?;
    let event_type = infer_event_type(schema, &checked).map_err(|d| locate(d, text, id))?;
    out.diagnostics.extend(checked.warnings.iter().cloned().map(|w| locate(w, text, id)));
    let meta = Arc::new(RuleMeta {
        id: id.to_owned(),
        description: r.def.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
        tags: r.def.tags.clone(),
        product_tags: r.def.product_tags.clone(),
        silent: r.def.silent,
        policy: r.policy.policy.clone(),
        location: r.origin.location(),
        expression: text.value.clone(),
    });
    if event_type != "fim" {
        let actions = super::actions::compile(r, &event_type, out);
        let rule = make_rule(meta, &event_type, checked, actions);
        return Ok((event_type, vec![rule]));
    }
    let mut rules = Vec::new();
    let mut first_error = None;
    for (t, prefix) in FIM_EXPANSION {
        let env = Env { fields: schema, macros: Some(&out.macros), vars: Some(&out.vars) };
        match Checker::new(env).with_cache(&out.set_cache).with_fim_prefix(prefix).check_bool(&expr) {
            Ok(mut c) => {
                if *t == "open" {
                    c.node = Node::And(Box::new(fim_open_write_check(schema)), Box::new(c.node));
                }
                let actions = super::actions::compile(r, t, out);
                rules.push(make_rule(meta.clone(), t, c, actions));
            }
            Err(d) => {
                first_error.get_or_insert(d);
            }
        }
    }
    if rules.is_empty()
        && let Some(d) = first_error
    {
        return Err(locate(*d, text, id));
    }
    Ok((event_type, rules))
}

fn fim_open_write_check(schema: &Schema) -> Node {
    let flags = schema.field("open.flags").map(|f| f.id).unwrap_or(crate::model::FieldId(0));
    let load = Node::Field(FieldLoad { field: flags, access: crate::ir::Access::Whole, ty: Ty::Int });
    let masked =
        Node::Int { op: IntOp::And, lhs: Box::new(load), rhs: Box::new(Node::Lit(Lit::Int(FIM_OPEN_WRITE_MASK))) };
    Node::CmpInt { op: CmpOp::Gt, lhs: Box::new(masked), rhs: Box::new(Node::Lit(Lit::Int(0))) }
}

fn make_rule(meta: Arc<RuleMeta>, event_type: &str, checked: Checked, actions: Vec<crate::rule::Action>) -> Rule {
    let mut fields: Vec<_> = checked.fields.iter().map(|(f, _)| *f).chain(checked.field_refs.iter().copied()).collect();
    fields.sort_unstable();
    fields.dedup();
    Rule {
        id: Arc::from(meta.id.as_str()),
        event_type: Arc::from(event_type),
        node: checked.node,
        register: checked.register,
        fields,
        actions,
        meta,
    }
}

/// The event type of a rule: the one event type of its non-common fields (SPEC §11).
pub(crate) fn infer_event_type(schema: &Schema, checked: &Checked) -> Result<String, Diagnostic> {
    let mut found: Option<(String, Span)> = None;
    for (id, span) in &checked.fields {
        let Some(t) = &schema.field_by_id(*id).event_type else { continue };
        match &found {
            None => found = Some((t.clone(), *span)),
            Some((first, first_span)) if first != t => {
                return Err(Diagnostic::error(
                    codes::MULTIPLE_EVENT_TYPES,
                    "expression with multiple event types is not supported",
                )
                .with_label(*span, format!("a field of `{t}` events"))
                .with_label(*first_span, format!("a field of `{first}` events"))
                .with_help("a rule matches one event type; split it into one rule per event type"));
            }
            Some(_) => {}
        }
    }
    let Some((event_type, _)) = found else {
        return Err(Diagnostic::error(codes::NO_EVENT_TYPE, "no event in the rule definition")
            .with_label(checked.fields.first().map_or(Span::default(), |f| f.1), "only common fields here")
            .with_help("use at least one event-specific field, such as `exec.file.path` or `open.file.path`"));
    };
    for (id, span) in &checked.fields {
        let f = schema.field_by_id(*id);
        if let Some(allowed) = &f.restricted_to
            && !allowed.contains(&event_type)
            && event_type != "fim"
        {
            return Err(Diagnostic::error(
                codes::FIELD_NOT_AVAILABLE,
                format!(
                    "field `{}` not available for event type `{event_type}`, available for `[{}]`",
                    f.name,
                    allowed.join(" ")
                ),
            )
            .with_label(*span, ""));
        }
    }
    if event_type == "packet" {
        let uses_filter = checked.fields.iter().any(|(id, _)| schema.field_by_id(*id).name == "packet.filter");
        if !uses_filter {
            return Err(Diagnostic::error(
                codes::FIELD_NOT_AVAILABLE,
                "rules for the `packet` event type must use `packet.filter`",
            )
            .with_label(checked.fields.first().map_or(Span::default(), |f| f.1), ""));
        }
    }
    Ok(event_type)
}

/// Macros no loaded rule or macro uses.
pub(super) fn warn_unused_macros(merged: &Merged, out: &mut Loaded) {
    let mut used: BTreeSet<String> = BTreeSet::new();
    for r in &merged.rules {
        if let Some(t) = r.def.expression() {
            collect_idents(&t.value, &mut used);
        }
    }
    for m in &merged.macros {
        if let Some(t) = m.def.expression() {
            collect_idents(&t.value, &mut used);
        }
    }
    for m in &merged.macros {
        let id = &m.def.id.value;
        if out.macros.get(id).is_some() && !used.contains(id.as_str()) {
            out.diagnostics.push(
                Diagnostic::warning(codes::UNUSED_MACRO, format!("macro `{id}` is never used"))
                    .with_label(m.def.id.span, "no rule or macro refers to it")
                    .with_source(m.origin.source.clone())
                    .with_rule_id(id.clone()),
            );
        }
    }
}

/// Identifier-like words of an expression; enough to tell whether a macro is named.
fn collect_idents(text: &str, out: &mut BTreeSet<String>) {
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !word.is_empty() {
            out.insert(word.to_owned());
        }
    }
}
