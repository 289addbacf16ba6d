//! Loading policies: filters and `agent_version` (SPEC §14), merging (§13.5), macros
//! (§10), variable declarations (§8.2), rule compilation with event-type inference and
//! FIM expansion (§11), and action validation (§13.4).
//!
//! Every problem becomes a diagnostic located in its policy file; a broken rule never
//! prevents the others from loading.

// Diagnostics travel by value through the loader: each is built once and moved into the
// report, so boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod accept;
mod actions;
pub mod host;
mod rules;
mod vars;

pub use host::{Host, HostNamespace, NEWEST_AGENT_VERSION, parse_kernel_version};

use crate::check::{MacroTable, VarTable};
use crate::rule::{Rule, VarInit};
use secl_syntax::Diagnostic;
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::{Policy, merge};
use serde::Serialize;

/// What happened to one rule or macro definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Loaded,
    Filtered,
    Error,
}

#[derive(Clone, Debug, Serialize)]
pub struct DefReport {
    pub id: String,
    pub file: String,
    pub line: usize,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

/// The result of loading a set of policies.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Compiled rules, in load order (a FIM rule appears once per expanded event type).
    pub rules: Vec<Rule>,
    pub vars: VarTable,
    pub var_inits: Vec<VarInit>,
    pub macros: MacroTable,
    pub rule_reports: Vec<DefReport>,
    pub macro_reports: Vec<DefReport>,
    pub diagnostics: Vec<Diagnostic>,
    /// Compiled macro sets shared between rules.
    pub set_cache: crate::check::SetCache,
}

impl std::fmt::Debug for crate::check::SetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetCache")
    }
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Loads parsed policies (default policy first, then the others in provider order) for
/// `host`.
pub fn load(policies: &[Policy], host: &Host) -> Loaded {
    let mut out = Loaded::default();
    let mut accept = |def: secl_syntax::policy::Definition<'_>| accept::accept(def, host);
    let merged = merge(policies, &mut accept);
    out.diagnostics.extend(merged.diagnostics.iter().cloned());
    for f in &merged.filtered {
        let report = DefReport {
            id: f.id.clone(),
            file: f.source.name.clone(),
            line: f.source.line_col(f.span.start as usize).0,
            status: Status::Filtered,
            reason: Some(f.reason.clone()),
            event_type: None,
        };
        match f.kind {
            secl_syntax::policy::DefKind::Macro => out.macro_reports.push(report),
            secl_syntax::policy::DefKind::Rule => out.rule_reports.push(report),
        }
    }
    // Definitions whose filters could not be evaluated are errored, not filtered.
    for d in merged.diagnostics.iter().filter(|d| d.is_error()) {
        if let (Some(id), Some(src)) = (&d.rule_id, &d.source) {
            let line = d.line_col().map_or(0, |(l, _)| l);
            let report = DefReport {
                id: id.clone(),
                file: src.name.clone(),
                line,
                status: Status::Error,
                reason: Some(d.message.clone()),
                event_type: None,
            };
            if merged.macros.iter().any(|m| m.def.id.value == *id) && !merged.rules.iter().any(|r| r.id() == id) {
                out.macro_reports.push(report);
            } else {
                out.rule_reports.push(report);
            }
        }
    }
    let linux = host.os == "linux";
    if linux {
        rules::compile_macros(&merged, &mut out);
        vars::declare(&merged, &mut out);
    } else {
        out.diagnostics.push(Diagnostic::warning(
            codes::REFERENCE_INCOMPATIBLE,
            format!("only the Linux event model is carried: rules for `{}` are checked for syntax only", host.os),
        ));
    }
    rules::compile_rules(&merged, &mut out, linux);
    rules::warn_unused_macros(&merged, &mut out);
    out
}
