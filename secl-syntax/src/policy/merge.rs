//! Merging the definitions of several policies by ID (SPEC §13.5.4), as the newest agents
//! do. Pure logic: whether a definition is accepted (filters, `agent_version`) is decided
//! by the caller, which has the model this crate does not.

use super::text::Text;
use super::types::{Combine, MacroDef, Policy, RuleDef};
use crate::diagnostics::{Diagnostic, SourceFile, codes};
use crate::span::Span;
use std::collections::HashMap;
use std::sync::Arc;

/// A definition offered to the caller's acceptance test, with the policy it comes from.
#[derive(Clone, Copy, Debug)]
pub enum Definition<'a> {
    Macro { def: &'a MacroDef, policy: &'a Policy },
    Rule { def: &'a RuleDef, policy: &'a Policy },
}

impl<'a> Definition<'a> {
    pub fn kind(&self) -> DefKind {
        match self {
            Definition::Macro { .. } => DefKind::Macro,
            Definition::Rule { .. } => DefKind::Rule,
        }
    }

    pub fn id(&self) -> &'a str {
        match self {
            Definition::Macro { def, .. } => &def.id.value,
            Definition::Rule { def, .. } => &def.id.value,
        }
    }

    pub fn policy(&self) -> &'a Policy {
        match self {
            Definition::Macro { policy, .. } | Definition::Rule { policy, .. } => policy,
        }
    }

    pub fn agent_version(&self) -> Option<&'a Text> {
        match self {
            Definition::Macro { def, .. } => def.agent_version.as_ref(),
            Definition::Rule { def, .. } => def.agent_version.as_ref(),
        }
    }

    pub fn filters(&self) -> &'a [Text] {
        match self {
            Definition::Macro { def, .. } => &def.filters,
            Definition::Rule { def, .. } => &def.filters,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Definition::Macro { def, .. } => def.span,
            Definition::Rule { def, .. } => def.span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
    Macro,
    Rule,
}

impl std::fmt::Display for DefKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DefKind::Macro => "macro",
            DefKind::Rule => "rule",
        })
    }
}

/// The caller's verdict on one definition.
#[derive(Clone, Debug)]
pub enum Acceptance {
    Accepted,
    /// Rejected by `filters` or `agent_version`: reported, not an error.
    Filtered {
        reason: String,
    },
    /// The definition cannot be evaluated (a filter that does not compile, an unparsable
    /// version constraint): reported as this diagnostic and left out.
    Error(Diagnostic),
}

/// Where a definition was written.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// The policy name (its file name).
    pub policy: String,
    pub source: Arc<SourceFile>,
    /// The definition's mapping in `source`.
    pub span: Span,
    pub is_default: bool,
}

impl Provenance {
    fn new(policy: &Policy, span: Span) -> Provenance {
        Provenance { policy: policy.name.clone(), source: policy.source.clone(), span, is_default: policy.is_default }
    }

    /// `name:line:col`, for messages that mention a definition in another file.
    pub fn location(&self) -> String {
        let (line, col) = self.source.line_col(self.span.start as usize);
        format!("{}:{line}:{col}", self.source.name)
    }
}

#[derive(Clone, Debug)]
pub struct MergedMacro {
    /// The merged definition: the first accepted one with later `values` merged in or
    /// overridden.
    pub def: MacroDef,
    /// The first accepted definition.
    pub origin: Provenance,
    /// Later definitions that changed it.
    pub contributors: Vec<Provenance>,
}

#[derive(Clone, Debug)]
pub struct MergedRule {
    /// The merged definition. Its texts keep their own files: after an override, actions
    /// may come from another policy than the expression (see [`Text::source`]).
    pub def: RuleDef,
    /// The policy the rule is attributed to (the overriding policy after an override
    /// without fields).
    pub policy: Provenance,
    /// The first accepted definition, which the expression always comes from.
    pub origin: Provenance,
    /// Later definitions that changed it.
    pub contributors: Vec<Provenance>,
}

impl MergedRule {
    pub fn id(&self) -> &str {
        &self.def.id.value
    }

    /// Disabled rules are kept (so tools can list them) but must not be compiled.
    pub fn is_disabled(&self) -> bool {
        self.def.disabled
    }
}

/// A definition left out by its filters.
#[derive(Clone, Debug)]
pub struct FilteredDef {
    pub kind: DefKind,
    pub id: String,
    pub policy: String,
    pub reason: String,
    pub span: Span,
    pub source: Arc<SourceFile>,
}

#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// In order of first acceptance.
    pub macros: Vec<MergedMacro>,
    /// In order of first acceptance, disabled ones included.
    pub rules: Vec<MergedRule>,
    pub filtered: Vec<FilteredDef>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Merged {
    pub fn macro_def(&self, id: &str) -> Option<&MergedMacro> {
        self.macros.iter().find(|m| m.def.id.value == id)
    }

    pub fn rule(&self, id: &str) -> Option<&MergedRule> {
        self.rules.iter().find(|r| r.def.id.value == id)
    }
}

/// Merges `policies` (in load order: the default policy first) by ID. `accept` is asked
/// about every definition, macros of a policy before its rules.
pub fn merge(policies: &[Policy], accept: &mut dyn FnMut(Definition<'_>) -> Acceptance) -> Merged {
    let mut out = Merged::default();
    let mut macro_index: HashMap<String, usize> = HashMap::new();
    let mut rule_index: HashMap<String, usize> = HashMap::new();
    for policy in policies {
        for def in &policy.macros {
            if offer(accept, Definition::Macro { def, policy }, &mut out) {
                merge_macro(&mut out, &mut macro_index, def, policy);
            }
        }
        for def in &policy.rules {
            if offer(accept, Definition::Rule { def, policy }, &mut out) {
                merge_rule(&mut out, &mut rule_index, def, policy);
            }
        }
    }
    out.rules.retain(|r| {
        if r.def.disabled || r.def.expression().is_some() {
            return true;
        }
        // The parser only lets a rule without expression through when it is disabled or
        // combines with another definition; here no base was accepted (a typo in the ID,
        // or the base was filtered out on this host), so there is nothing to override.
        out.diagnostics.push(
            Diagnostic::warning(
                codes::MISSING_EXPRESSION,
                format!("rule `{}` only exists as an override; it is not loaded", r.id()),
            )
            .with_label(r.def.id.span, "no accepted definition of this rule has an expression")
            .with_source(r.def.id.source().clone())
            .with_rule_id(r.id()),
        );
        false
    });
    out
}

fn offer(accept: &mut dyn FnMut(Definition<'_>) -> Acceptance, d: Definition<'_>, out: &mut Merged) -> bool {
    match accept(d) {
        Acceptance::Accepted => true,
        Acceptance::Filtered { reason } => {
            out.filtered.push(FilteredDef {
                kind: d.kind(),
                id: d.id().to_string(),
                policy: d.policy().name.clone(),
                reason,
                span: d.span(),
                source: d.policy().source.clone(),
            });
            false
        }
        Acceptance::Error(diag) => {
            out.diagnostics.push(diag);
            false
        }
    }
}

fn duplicate(kind: DefKind, id: &Text, first: &Provenance, what: &str) -> Diagnostic {
    Diagnostic::warning(
        codes::DUPLICATE_ID,
        format!("{kind} `{}` is already defined at {}", id.value, first.location()),
    )
    .with_label(id.span, what)
    .with_help(format!(
        "add `combine: {}` to change the earlier definition",
        match kind {
            DefKind::Macro => "merge` or `combine: override",
            DefKind::Rule => "override",
        }
    ))
    .with_source(id.source().clone())
    .with_rule_id(id.value.clone())
}

fn merge_macro(out: &mut Merged, index: &mut HashMap<String, usize>, def: &MacroDef, policy: &Policy) {
    let here = Provenance::new(policy, def.span);
    let Some(&i) = index.get(&def.id.value) else {
        index.insert(def.id.value.clone(), out.macros.len());
        out.macros.push(MergedMacro { def: def.clone(), origin: here, contributors: Vec::new() });
        return;
    };
    let base = &mut out.macros[i];
    match def.combine {
        Some(Combine::Merge) => {
            if def.expression().is_some() || base.def.expression().is_some() {
                let d = Diagnostic::error(codes::CANNOT_MERGE, "cannot merge expression")
                    .with_help("only macros defined with `values` can be merged")
                    .with_source(def.id.source().clone())
                    .with_rule_id(def.id.value.clone());
                out.diagnostics.push(match def.expression() {
                    Some(e) => d.with_label(e.span, "this macro has an expression"),
                    None => d.with_label(
                        def.id.span,
                        format!("the definition at {} has an expression", base.origin.location()),
                    ),
                });
                return;
            }
            let extra = def.values.clone().unwrap_or_default();
            base.def.values.get_or_insert_with(Vec::new).extend(extra);
            base.contributors.push(here);
        }
        Some(Combine::Override) => {
            if def.expression().is_some() {
                base.def.expression = def.expression.clone();
                base.def.values = None;
            } else {
                // As the reference: the later `values` (possibly none) replace the earlier.
                base.def.values = Some(def.values.clone().unwrap_or_default());
                if def.values.is_some() {
                    base.def.expression = None;
                }
            }
            base.contributors.push(here);
        }
        None => out.diagnostics.push(duplicate(DefKind::Macro, &def.id, &base.origin, "this definition is ignored")),
    }
}

fn merge_rule(out: &mut Merged, index: &mut HashMap<String, usize>, def: &RuleDef, policy: &Policy) {
    let here = Provenance::new(policy, def.span);
    let Some(&i) = index.get(&def.id.value) else {
        index.insert(def.id.value.clone(), out.rules.len());
        out.rules.push(MergedRule { def: def.clone(), policy: here.clone(), origin: here, contributors: Vec::new() });
        return;
    };
    let base = &mut out.rules[i];
    if def.combine == Some(Combine::Override) && !def.disabled {
        apply_override(base, def, here, &mut out.diagnostics);
        return;
    }
    if base.def.disabled == def.disabled {
        // Disabling twice is harmless; anything else is a definition that has no effect.
        if !def.disabled {
            out.diagnostics.push(duplicate(DefKind::Rule, &def.id, &base.origin, "this definition is ignored"));
        }
        return;
    }
    if base.def.disabled || (base.origin.is_default && !policy.is_default) {
        base.def.disabled = def.disabled;
        if !def.disabled && base.def.expression().is_none() {
            // A rule first seen only as `disabled: true` gets its body from the definition
            // that enables it.
            base.def.expression = def.expression.clone();
        }
        base.contributors.push(here);
    } else {
        let what = if def.disabled { "this `disabled: true` has no effect" } else { "this definition is ignored" };
        out.diagnostics.push(duplicate(DefKind::Rule, &def.id, &base.origin, what));
    }
}

fn apply_override(base: &mut MergedRule, def: &RuleDef, here: Provenance, diags: &mut Vec<Diagnostic>) {
    let fields = &def.override_options;
    if let Some(expr) = def.expression()
        && base.def.expression() != Some(expr)
    {
        diags.push(
            Diagnostic::warning(codes::REFERENCE_INCOMPATIBLE, "the expression of an override is ignored")
                .with_label(expr.span, "not used: the rule keeps its original expression")
                .with_help("newer agents never replace a rule's expression; agents up to ~7.6x did")
                .with_source(expr.source().clone())
                .with_rule_id(def.id.value.clone()),
        );
    }
    if fields.is_empty() {
        base.policy = here.clone();
        base.contributors.push(here);
        return;
    }
    let has = |f: &str| fields.iter().any(|x| x == f);
    if has("all") && base.origin.is_default {
        let d = &mut base.def;
        d.version = def.version.clone();
        d.description = def.description.clone();
        d.tags = def.tags.clone();
        d.product_tags = def.product_tags.clone();
        d.agent_version = def.agent_version.clone();
        d.filters = def.filters.clone();
        d.actions = def.actions.clone();
        d.every = def.every.clone();
        d.limiter_token = def.limiter_token.clone();
        d.silent = def.silent;
        d.group_id = def.group_id.clone();
        d.priority = def.priority;
    }
    if has("actions") {
        for action in &def.actions {
            if !base.def.actions.contains(action) {
                base.def.actions.push(action.clone());
            }
        }
    }
    if has("every") {
        base.def.every = def.every.clone();
    }
    if has("tags") {
        base.def.tags.extend(def.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if has("product_tags") {
        base.def.product_tags = def.product_tags.clone();
    }
    base.contributors.push(here);
}
