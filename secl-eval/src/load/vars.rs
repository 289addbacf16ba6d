//! Variable declarations from `set` actions, before any rule is compiled (SPEC §8.2,
//! §13.5.5): a rule may read a variable that a later rule writes.

use super::Loaded;
use crate::ir::{Lit, Ty, VarScope};
use crate::model::Schema;
use crate::rule::VarInit;
use secl_syntax::Diagnostic;
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::{ActionKind, Merged, SetAction, YamlValue};
use std::sync::Arc;

/// Array variables keep this many elements unless `size` says otherwise (SPEC §8.2).
pub const DEFAULT_ARRAY_SIZE: usize = 100;

pub(super) fn declare(merged: &Merged, out: &mut Loaded) {
    for r in merged.rules.iter().filter(|r| !r.is_disabled()) {
        for action in &r.def.actions {
            let ActionKind::Set(set) = &action.kind else { continue };
            if let Err(msg) = declare_one(set, out) {
                // Reported once here; the action compiler drops the action silently.
                let source = set.name.as_ref().map_or_else(|| r.origin.source.clone(), |n| n.source().clone());
                let span = set.name.as_ref().map_or(action.span, |n| n.span);
                let code = if msg.starts_with("conflicting") || msg.contains("conflicts with") {
                    codes::VARIABLE_CONFLICT
                } else {
                    codes::INVALID_ACTION
                };
                out.diagnostics.push(
                    Diagnostic::error(code, msg)
                        .with_label(span, "this `set` action is ignored")
                        .with_source(source)
                        .with_rule_id(r.id()),
                );
            }
        }
    }
}

/// The full variable name as `${…}` reads it.
pub(super) fn full_name(set: &SetAction) -> Result<(String, VarScope), String> {
    let name = set.name.as_ref().map(|n| n.value.as_str()).unwrap_or("");
    if name.is_empty() {
        return Err("variable name is empty".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("variable name `{name}` does not match `^[A-Za-z0-9_]*$`"));
    }
    let scope = match set.scope.as_ref().map(|s| s.value.as_str()) {
        None | Some("") => VarScope::Global,
        Some("process") => VarScope::Process,
        Some("container") => VarScope::Container,
        Some("cgroup") => VarScope::Cgroup,
        Some(other) => return Err(format!("invalid scope '{other}': use process, container or cgroup")),
    };
    let full = match scope {
        VarScope::Global => name.to_owned(),
        VarScope::Process => format!("process.{name}"),
        VarScope::Container => format!("container.{name}"),
        VarScope::Cgroup => format!("cgroup.{name}"),
    };
    Ok((full, scope))
}

fn declare_one(set: &SetAction, out: &mut Loaded) -> Result<(), String> {
    let schema = Schema::linux();
    let (name, scope) = full_name(set)?;
    let sources = [set.value.is_some(), set.field.is_some(), set.expression.is_some()];
    match sources.iter().filter(|b| **b).count() {
        0 => return Err("either 'value', 'field' or 'expression' must be specified".into()),
        1 => {}
        _ => return Err("only one of 'value', 'field' or 'expression' can be specified".into()),
    }
    if (set.inherited || set.scope_field.is_some()) && scope != VarScope::Process {
        return Err("'inherited' and 'scope_field' are only allowed with 'scope: process'".into());
    }
    if schema.lookup(&name).is_some() || schema.constant(&name).is_some() {
        return Err(format!("variable '{name}' conflicts with field"));
    }
    if let (Some(v), Some(d)) = (&set.value, &set.default_value)
        && std::mem::discriminant(v) != std::mem::discriminant(d)
    {
        return Err(format!(
            "'default_value' ({}) and 'value' ({}) of variable '{name}' have different types",
            d.type_name(),
            v.type_name()
        ));
    }
    let mut ty = if let Some(d) = &set.default_value {
        yaml_ty(d)?
    } else if let Some(v) = &set.value {
        yaml_ty(v)?
    } else if let Some(f) = &set.field {
        let field_name = strip_index(&f.value);
        let def = schema.lookup(field_name).ok_or_else(|| format!("field `{}` not found", f.value))?;
        let t = crate::check::scope::scalar_ty(def.ty, def.is_array);
        if f.value.ends_with(']') {
            t.element()
        } else if def.is_array && !set.append {
            return Err(format!("field `{}` is an array: the variable needs 'append: true'", f.value));
        } else if t == Ty::Ip {
            Ty::IpArray
        } else {
            t
        }
    } else {
        return Err(format!("failed to infer type for variable '{name}', please set 'default_value'"));
    };
    if set.append {
        ty = ty.array_of();
    }
    let private = set.private;
    let var = match out.vars.declare(&name, scope, ty, private) {
        Ok(id) => id,
        Err(existing) => {
            if existing.ty != ty {
                return Err(format!(
                    "conflicting types for variable '{name}': {} and {}",
                    existing.ty.expected_name(),
                    ty.expected_name()
                ));
            }
            if existing.private != private {
                return Err(format!("conflicting 'private' flags for variable '{name}'"));
            }
            return Ok(());
        }
    };
    let initial = if scope == VarScope::Global {
        set.default_value.as_ref().or(set.value.as_ref()).and_then(|v| yaml_lit(v, ty).ok())
    } else {
        None
    };
    let ttl_ns = match &set.ttl {
        None => None,
        Some(secl_syntax::policy::DurationValue::Nanos(n)) => Some(*n),
        Some(secl_syntax::policy::DurationValue::Text(t)) => {
            Some(crate::value::duration::parse_yaml_duration(&t.value)?)
        }
    };
    let size = set.size.filter(|s| *s > 0).map_or(DEFAULT_ARRAY_SIZE, |s| s as usize);
    out.var_inits.push(VarInit { var, initial, size, ttl_ns });
    Ok(())
}

fn strip_index(field: &str) -> &str {
    field.find('[').map_or(field, |i| &field[..i])
}

/// The variable type a YAML value declares (SPEC §8.2).
pub(super) fn yaml_ty(v: &YamlValue) -> Result<Ty, String> {
    Ok(match v {
        YamlValue::Bool(_) => Ty::Bool,
        YamlValue::Int(_) => Ty::Int,
        YamlValue::String(_) => Ty::Str,
        YamlValue::List(items) => match items.first() {
            None => return Err("unable to infer item type".into()),
            Some(first) => {
                let t = yaml_ty(first)?;
                if t.is_array() || items.iter().any(|i| std::mem::discriminant(i) != std::mem::discriminant(first)) {
                    return Err("list values must all be of one scalar type".into());
                }
                t.array_of()
            }
        },
        other => return Err(format!("unsupported value type '{}'", other.type_name())),
    })
}

/// A YAML value as a literal of type `ty` (a scalar becomes a one-element array when the
/// variable is an array).
pub(super) fn yaml_lit(v: &YamlValue, ty: Ty) -> Result<Lit, String> {
    let scalar = |v: &YamlValue| -> Result<Lit, String> {
        Ok(match v {
            YamlValue::Bool(b) => Lit::Bool(*b),
            YamlValue::Int(i) => Lit::Int(*i),
            YamlValue::String(s) => Lit::Str(Arc::from(s.as_str())),
            other => return Err(format!("unsupported value type '{}'", other.type_name())),
        })
    };
    let items: Vec<Lit> = match v {
        YamlValue::List(items) => items.iter().map(scalar).collect::<Result<_, _>>()?,
        other => vec![scalar(other)?],
    };
    if !ty.is_array() {
        return items.into_iter().next().ok_or_else(|| "empty value".into());
    }
    Ok(match ty {
        Ty::IntArray => {
            Lit::Ints(items.iter().filter_map(|l| if let Lit::Int(i) = l { Some(*i) } else { None }).collect())
        }
        Ty::BoolArray => {
            Lit::Bools(items.iter().filter_map(|l| if let Lit::Bool(b) = l { Some(*b) } else { None }).collect())
        }
        Ty::StrArray => {
            Lit::Strs(items.iter().filter_map(|l| if let Lit::Str(s) = l { Some(s.clone()) } else { None }).collect())
        }
        _ => Lit::Ips(Arc::from(Vec::new())),
    })
}
