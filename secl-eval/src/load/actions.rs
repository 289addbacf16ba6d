//! Action validation (SPEC §13.4): a bad action is reported and dropped; the rule stays.

use super::Loaded;
use super::rules::locate;
use crate::check::{Checker, Env};
use crate::ir::{Access, FieldLoad, Ty, VarScope};
use crate::model::{ConstValue, Schema};
use crate::rule::{Action, ActionKind, SetAction, SetSource};
use secl_syntax::Diagnostic;
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::{ActionDef, ActionKind as Def, MergedRule, Text};

pub(super) fn compile(r: &MergedRule, event_type: &str, out: &mut Loaded) -> Vec<Action> {
    let mut actions = Vec::new();
    for def in &r.def.actions {
        match compile_one(r, def, event_type, out) {
            Ok(Some(a)) => actions.push(a),
            Ok(None) => {}
            Err(d) => {
                // FIM rules compile their actions once per expansion: report once.
                if !out
                    .diagnostics
                    .iter()
                    .any(|x| x.rule_id == d.rule_id && x.message == d.message && x.labels == d.labels)
                {
                    out.diagnostics.push(d);
                }
            }
        }
    }
    actions
}

fn error(r: &MergedRule, def: &ActionDef, at: Option<&Text>, msg: impl Into<String>) -> Diagnostic {
    let (span, source) = match at {
        Some(t) => (t.span, t.source().clone()),
        None => (def.span, r.origin.source.clone()),
    };
    Diagnostic::error(codes::INVALID_ACTION, msg)
        .with_label(span, "this action is ignored; the rule stays loaded")
        .with_source(source)
        .with_rule_id(r.id())
}

fn compile_one(r: &MergedRule, def: &ActionDef, event_type: &str, out: &Loaded) -> Result<Option<Action>, Diagnostic> {
    let schema = Schema::linux();
    let id = r.id();
    let env = Env { fields: schema, macros: Some(&out.macros), vars: Some(&out.vars) };
    let filter = match &def.filter {
        None => None,
        Some(t) => {
            let expr = secl_syntax::parser::parse_expression(&t.value).map_err(|d| locate(d, t, id))?;
            let c = Checker::new(env).check_bool(&expr).map_err(|d| locate(*d, t, id))?;
            check_event_type(schema, &c, event_type).map_err(|d| locate(d, t, id))?;
            Some(c.node)
        }
    };
    let kind = match &def.kind {
        // Already reported by the policy parser.
        Def::Invalid(_) => return Ok(None),
        Def::Set(set) => {
            let Ok((name, _)) = super::vars::full_name(set) else { return Ok(None) };
            // A declaration problem was reported when declaring.
            let Some(decl) = out.vars.get(&name) else { return Ok(None) };
            let want = decl.ty;
            let source = if let Some(v) = &set.value {
                match super::vars::yaml_lit(v, want) {
                    Ok(l) => SetSource::Value(l),
                    Err(_) => return Ok(None),
                }
            } else if let Some(f) = &set.field {
                let (base, index) = match f.value.find('[') {
                    Some(i) => (&f.value[..i], f.value[i + 1..].trim_end_matches(']').parse::<u32>().ok()),
                    None => (f.value.as_str(), None),
                };
                let Some(fd) = schema.lookup(base) else { return Ok(None) };
                if let Some(t) = &fd.event_type
                    && t != event_type
                {
                    return Err(error(
                        r,
                        def,
                        Some(f),
                        format!("field `{}` is not available for `{event_type}` rules", f.value),
                    ));
                }
                let ty = crate::check::scope::scalar_ty(fd.ty, fd.is_array);
                let (access, ty) = match index {
                    Some(i) => (Access::Index(i), ty.element()),
                    None => (Access::Whole, ty),
                };
                SetSource::Field(FieldLoad { field: fd.id, access, ty })
            } else if let Some(e) = &set.expression {
                let expr = secl_syntax::parser::parse_expression(&e.value).map_err(|d| locate(d, e, id))?;
                let c = Checker::new(env).check_any(&expr).map_err(|d| locate(*d, e, id))?;
                check_event_type(schema, &c, event_type).map_err(|d| locate(d, e, id))?;
                if c.ty != want && c.ty != want.element() {
                    return Err(error(
                        r,
                        def,
                        Some(e),
                        format!(
                            "expression of type {} cannot be stored in variable '{name}' of type {}",
                            c.ty.expected_name(),
                            want.expected_name()
                        ),
                    ));
                }
                SetSource::Expression(c.node)
            } else {
                return Ok(None);
            };
            let scope_field = match &set.scope_field {
                None => None,
                Some(t) => match schema.lookup(&t.value) {
                    Some(f) if crate::check::scope::scalar_ty(f.ty, f.is_array) == Ty::Int => Some(f.id),
                    _ => return Err(error(r, def, Some(t), format!("scope_field `{}` is not an int field", t.value))),
                },
            };
            let init = out.var_inits.iter().find(|i| i.var == decl.id);
            ActionKind::Set(SetAction {
                var: decl.id,
                source,
                append: set.append,
                ttl_ns: init.and_then(|i| i.ttl_ns),
                size: init.map_or(super::vars::DEFAULT_ARRAY_SIZE, |i| i.size),
                inherited: set.inherited && decl.scope == VarScope::Process,
                scope_field,
            })
        }
        Def::Kill { signal, scope, .. } => {
            let Some(sig) = signal else {
                return Err(error(r, def, None, "a `kill` action needs a `signal`"));
            };
            let signo = match schema.constant(&sig.value) {
                Some(c) if c.set == "Signal constants" => match c.value {
                    ConstValue::Int(v) => v,
                    _ => 0,
                },
                _ => {
                    let mut d = error(r, def, Some(sig), format!("unsupported signal '{}'", sig.value));
                    if let Some(s) = crate::suggest::closest(
                        &sig.value,
                        schema.constants().iter().filter(|c| c.set == "Signal constants").map(|c| c.name.as_str()),
                    ) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    return Err(d);
                }
            };
            let scope = scope.as_ref().map_or("process", |s| s.value.as_str());
            if !matches!(scope, "process" | "container" | "cgroup") {
                return Err(error(
                    r,
                    def,
                    None,
                    format!("invalid kill scope '{scope}': use process, container or cgroup"),
                ));
            }
            ActionKind::Kill { signal: sig.value.clone(), signo, scope: scope.to_owned() }
        }
        Def::Hash { field, max_file_size } => {
            let field = match (field, event_type) {
                (Some(f), _) => f.value.clone(),
                (None, "open") => "open.file".into(),
                (None, "exec") => "exec.file".into(),
                (None, _) => {
                    return Err(error(r, def, None, "a `hash` action needs a `field` outside open and exec rules"));
                }
            };
            match schema.lookup(&format!("{field}.path")) {
                Some(f) if f.event_type.is_none() || f.event_type.as_deref() == Some(event_type) => {}
                _ => {
                    return Err(error(r, def, None, format!("`{field}` is not a file of `{event_type}` events")));
                }
            }
            ActionKind::Hash { field, max_file_size: *max_file_size }
        }
        Def::CoreDump { process, mount, dentry, no_compression } => {
            if !(*process || *mount || *dentry) {
                return Err(error(r, def, None, "a `coredump` action needs at least one of process, mount, dentry"));
            }
            ActionKind::CoreDump { process: *process, mount: *mount, dentry: *dentry, no_compression: *no_compression }
        }
        Def::Log { level: level_text, message } => {
            let level = level_text.as_ref().map(|l| l.value.to_ascii_lowercase());
            match level.as_deref() {
                Some("debug" | "info" | "warning" | "error") => {}
                _ => {
                    return Err(error(
                        r,
                        def,
                        level_text.as_ref(),
                        "a valid log level must be specified to the 'log' action",
                    )
                    .with_help("use one of debug, info, warning, error"));
                }
            }
            let message = message.as_ref().map_or_else(|| format!("Rule {id} triggered"), |m| m.value.clone());
            ActionKind::Log { level: level.unwrap_or_default(), message }
        }
        Def::NetworkFilter { filter, policy, scope } => {
            let Some(f) = filter.as_ref().filter(|f| !f.value.is_empty()) else {
                return Err(error(r, def, None, "a `network_filter` action needs a `filter`"));
            };
            let scope = scope.as_ref().map_or("process", |s| s.value.as_str());
            if !matches!(scope, "process" | "cgroup") {
                return Err(error(
                    r,
                    def,
                    None,
                    format!("invalid network_filter scope '{scope}': use process or cgroup"),
                ));
            }
            ActionKind::NetworkFilter {
                filter: f.value.clone(),
                policy: policy.as_ref().map(|p| p.value.clone()),
                scope: scope.to_owned(),
            }
        }
    };
    Ok(Some(Action { filter, kind }))
}

/// An action filter or expression may only read fields of the rule's event type.
fn check_event_type(schema: &Schema, c: &crate::check::Checked, event_type: &str) -> Result<(), Diagnostic> {
    for (id, span) in &c.fields {
        let f = schema.field_by_id(*id);
        if let Some(t) = &f.event_type
            && t != event_type
        {
            return Err(Diagnostic::error(
                codes::MULTIPLE_EVENT_TYPES,
                format!("field `{}` is not available for `{event_type}` rules", f.name),
            )
            .with_label(*span, ""));
        }
    }
    Ok(())
}
