//! Explanations for the commands: what `secl test` prints under a failed expectation and
//! `secl eval --explain` prints for each event.

use secl::eval::check::{MacroTable, VarTable};
use secl::eval::event::Event;
use secl::eval::explain::{Explanation, Names, explain_expression, explain_rule, inherited_flags, scopes_of};
use secl::eval::load::Loaded;
use secl::eval::rule::Rule;
use secl::eval::vars::{ScopedVars, VarStore};

/// What explanations need of a load (the rule set keeps only what evaluation needs).
pub struct Explainer {
    macros: MacroTable,
    vars: VarTable,
    inherited: Vec<bool>,
}

impl Explainer {
    pub fn new(loaded: &Loaded) -> Explainer {
        Explainer {
            macros: loaded.macros.clone(),
            vars: loaded.vars.clone(),
            inherited: inherited_flags(&loaded.rules, &loaded.vars),
        }
    }

    fn names(&self) -> Names<'_> {
        Names { macros: &self.macros, vars: &self.vars }
    }

    /// Explains `rule` on `ev` with the variables of `store` (the state before the event).
    pub fn rule(&self, rule: &Rule, ev: &dyn Event, store: &VarStore) -> Explanation {
        let scopes = scopes_of(ev);
        let view = ScopedVars { store, scopes: &scopes, inherited: &self.inherited };
        explain_rule(rule, self.names(), ev, &view)
    }

    /// Explains a standalone expression.
    pub fn expression(&self, text: &str, ev: &dyn Event, store: &VarStore) -> Result<Explanation, String> {
        let scopes = scopes_of(ev);
        let view = ScopedVars { store, scopes: &scopes, inherited: &self.inherited };
        explain_expression(text, self.names(), ev, &view).map_err(|d| d.message.clone())
    }
}

/// Indents every line of a rendered explanation.
pub fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// `secl eval --policy … --explain`: the explanations to print for one event, the rules
/// kept by `--rule-id` (matched or not), else the rules that matched; `Err` with a note
/// when the `--rule-id` rule applies to other events.
pub fn for_event(
    explainer: &Explainer,
    rs: &secl::eval::ruleset::RuleSet,
    ev: &dyn Event,
    matched: &[u32],
    rule_id: Option<&str>,
    store: &VarStore,
) -> Result<Vec<Explanation>, String> {
    let rules: Vec<&Rule> = match rule_id {
        Some(id) => {
            let rules: Vec<&Rule> =
                rs.rules().iter().filter(|r| &*r.id == id && &*r.event_type == ev.event_type()).collect();
            if rules.is_empty() {
                let types: Vec<String> =
                    rs.rules().iter().filter(|r| &*r.id == id).map(|r| format!("`{}`", r.event_type)).collect();
                return Err(format!("rule `{id}` applies to {} events", types.join(", ")));
            }
            rules
        }
        None => matched.iter().map(|i| rs.rule(*i)).collect(),
    };
    Ok(rules.into_iter().map(|r| explainer.rule(r, ev, store)).collect())
}
