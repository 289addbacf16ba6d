//! The acceptance test of one definition: `agent_version` then `filters` (SPEC §14).

use super::host::{Host, HostNamespace};
use crate::check::{Checker, Env};
use crate::interp::{Context, RVal, eval};
use crate::ir::VarRead;
use crate::value::semver::Constraint;
use secl_syntax::Diagnostic;
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::{Acceptance, Definition, Text};

pub(super) fn accept(def: Definition<'_>, host: &Host) -> Acceptance {
    if let Some(constraint) = def.agent_version()
        && !constraint.value.trim().is_empty()
    {
        match Constraint::parse(&constraint.value) {
            Err(e) => {
                let d =
                    Diagnostic::error(codes::AGENT_VERSION, format!("failed to parse agent version constraint: {e}"))
                        .with_label(constraint.span, "not a semantic-version constraint")
                        .with_help("write constraints such as `>= 7.60`, `>=7.65 <7.70`, `~7.70` or `^7`")
                        .with_source(constraint.source().clone())
                        .with_rule_id(def.id());
                return Acceptance::Error(d);
            }
            Ok(c) if !c.matches(&host.agent_version) => {
                return Acceptance::Filtered {
                    reason: format!(
                        "agent version incompatible: {} does not satisfy `{}`",
                        host.agent_version, constraint.value
                    ),
                };
            }
            Ok(_) => {}
        }
    }
    let filters = def.filters();
    if filters.is_empty() {
        return Acceptance::Accepted;
    }
    let mut any = false;
    for f in filters {
        match eval_filter(f, host) {
            Ok(true) => any = true,
            Ok(false) => {}
            Err(d) => return Acceptance::Error(d.with_rule_id(def.id())),
        }
    }
    if any {
        Acceptance::Accepted
    } else {
        let shown: Vec<&str> = filters.iter().map(|f| f.value.as_str()).collect();
        Acceptance::Filtered {
            reason: format!("agent rule filtered: no filter holds on this host ({})", shown.join(" || ")),
        }
    }
}

/// Parses, checks and evaluates one filter against the host.
pub(super) fn eval_filter(f: &Text, host: &Host) -> Result<bool, Diagnostic> {
    let located = |d: Diagnostic| d.map_spans(|s| f.file_span(s)).with_source(f.source().clone());
    let expr = secl_syntax::parser::parse_expression(&f.value).map_err(&located)?;
    let env = Env { fields: &HostNamespace, macros: None, vars: None };
    let checked = Checker::new(env).check_bool(&expr).map_err(|d| {
        let mut d = located(*d);
        d.code = match d.code {
            codes::UNKNOWN_FIELD => codes::INVALID_FILTER,
            other => other,
        };
        d
    })?;
    struct HostContext;
    impl Context for HostContext {
        fn now(&self) -> i64 {
            0
        }
        fn register(&self) -> Option<usize> {
            None
        }
        fn var(&self, _: &VarRead) -> RVal {
            RVal::Bool(false)
        }
    }
    Ok(matches!(eval(&checked.node, host, &HostContext), RVal::Bool(true)))
}
