//! `secl eval`: evaluate an expression or a policy on events.

use crate::actions::action_json;
use crate::{EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE};
use secl::eval::check::{Checker, Env};
use secl::eval::event::Event;
use secl::eval::load::Loaded;
use secl::eval::model::Schema;
use secl::eval::rule::{Rule, RuleMeta};
use secl::eval::ruleset::RuleSet;
use std::sync::Arc;

use secl::syntax::SourceFile;
use secl::syntax::diagnostics::render_human;
use serde_json::json;

pub const HELP: &str = "\
secl eval: evaluate SECL on events

  secl eval --expr E [--policy PATH] --event FILE
  secl eval --policy PATH [--rule-id R] --event FILE

FILE is one JSON event, a JSONL stream, or `-` for stdin; each event of a stream is
evaluated on its own fresh state. With --expr, the expression sees the policy's macros
and the variables its `set` actions declare, and needs no event-specific field.

Options:
  --format human|json   json prints one line per event: {\"matched\", \"rules\", \"actions\"}
  --explain             show each sub-expression's value on the event (the rule of
                        --rule-id, else the matched rules; or the --expr expression)
  --agent-version V, --kernel-version X.Y.Z, --os linux|windows   as in `secl check`

Exit status: 0 when an event matched, 1 when none did, 2 on error.";

pub fn run(raw: &[String]) -> i32 {
    let (args, host) =
        match crate::host::command(raw, &["expr", "policy", "rule-id", "event", "format"], &["explain"], HELP) {
            Ok(x) => x,
            Err(code) => return code,
        };
    let Some(event_path) = args.value("event") else { return crate::usage("--event is required", HELP) };
    let json_out = args.value("format") == Some("json");
    let policy: Vec<String> = args.value("policy").map(|p| vec![p.to_owned()]).unwrap_or_default();
    if args.value("expr").is_none() && policy.is_empty() {
        return crate::usage("give --expr or --policy", HELP);
    }
    let loaded = if policy.is_empty() {
        secl::eval::load::Loaded::default()
    } else {
        match crate::policy::load_policy(&policy, &host) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_UNREADABLE;
            }
        }
    };
    let events = match crate::events::read_all(event_path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let mut any = false;
    if let Some(expr) = args.value("expr") {
        let src = SourceFile::new("<expr>", expr);
        let parsed = match secl::syntax::parser::parse_expression(expr) {
            Ok(e) => e,
            Err(d) => {
                eprint!("{}", render_human(&d.with_source(src), false));
                return EXIT_UNREADABLE;
            }
        };
        let env = Env { fields: Schema::linux(), macros: Some(&loaded.macros), vars: Some(&loaded.vars) };
        let checked = match Checker::new(env).check_bool(&parsed) {
            Ok(c) => c,
            Err(d) => {
                eprint!("{}", render_human(&d.with_source(src), false));
                return EXIT_UNREADABLE;
            }
        };
        let explainer = args.has("explain").then(|| crate::explain::Explainer::new(&loaded));
        let mut sets: std::collections::HashMap<String, RuleSet> = std::collections::HashMap::new();
        for ev in &events {
            let why = explainer.as_ref().map(|x| x.expression(expr, ev, &Default::default()));
            // The expression runs as a one-rule set of the event's type, so registers,
            // variables' initial values and scopes behave exactly as in a policy.
            let rs = sets
                .entry(ev.event_type().to_owned())
                .or_insert_with(|| expr_ruleset(&checked, ev.event_type(), &loaded));
            let mut st = rs.new_state();
            let m = !rs.evaluate(ev, &mut st).matched.is_empty();
            any |= m;
            if json_out {
                let mut out = json!({"matched": m, "rules": [], "actions": []});
                if let Some(Ok(e)) = &why {
                    out["explanation"] = json!(e);
                }
                println!("{out}");
            } else {
                println!("{}", if m { "true" } else { "false" });
                if let Some(Ok(e)) = &why {
                    print!("{}", crate::explain::indent(&e.render(), 2));
                }
            }
        }
    } else {
        let mut loaded = loaded;
        if let Some(id) = args.value("rule-id") {
            loaded.rules.retain(|r| &*r.id == id);
            if loaded.rules.is_empty() {
                let why = loaded.rule_reports.iter().find(|r| r.id == id).and_then(|r| r.reason.clone());
                eprintln!("error: rule `{id}` is not loaded{}", why.map(|w| format!(": {w}")).unwrap_or_default());
                return EXIT_UNREADABLE;
            }
        }
        let explainer = args.has("explain").then(|| crate::explain::Explainer::new(&loaded));
        let rs = RuleSet::new(loaded);
        let fresh = rs.new_state();
        for ev in &events {
            let mut st = rs.new_state();
            let v = rs.evaluate(ev, &mut st);
            let why = explainer
                .as_ref()
                .map(|x| crate::explain::for_event(x, &rs, ev, v.matched, args.value("rule-id"), &fresh.vars));
            any |= !v.matched.is_empty();
            let rules: Vec<&str> = v.matched.iter().map(|i| &*rs.rule(*i).id).collect();
            let actions: Vec<serde_json::Value> = v.fired.iter().map(|f| action_json(&rs, f.rule, f.action)).collect();
            if json_out {
                let mut out = json!({"matched": !rules.is_empty(), "rules": rules, "actions": actions});
                match &why {
                    Some(Ok(why)) => out["explanations"] = json!(why),
                    Some(Err(note)) => out["explanations"] = json!([{"note": note}]),
                    None => {}
                }
                println!("{out}");
            } else {
                if rules.is_empty() {
                    println!("no match ({} event)", ev.event_type());
                } else {
                    println!("matched: {}", rules.join(", "));
                    for a in actions.iter().filter(|a| a["type"] != "set") {
                        println!("  action: {a}");
                    }
                }
                match &why {
                    Some(Ok(why)) if why.is_empty() => println!("  (add --rule-id R to see why rule R did not match)"),
                    Some(Ok(why)) => why.iter().for_each(|e| print!("{}", crate::explain::indent(&e.render(), 2))),
                    Some(Err(note)) => println!("  ({note})"),
                    None => {}
                }
            }
        }
    }
    if any { EXIT_OK } else { EXIT_FINDINGS }
}

/// A rule set holding one rule, the checked expression, for events of `event_type`.
fn expr_ruleset(checked: &secl::eval::check::Checked, event_type: &str, loaded: &Loaded) -> RuleSet {
    let mut fields: Vec<_> = checked.fields.iter().map(|(f, _)| *f).chain(checked.field_refs.iter().copied()).collect();
    fields.sort_unstable();
    fields.dedup();
    let rule = Rule {
        id: Arc::from("<expr>"),
        event_type: Arc::from(event_type),
        node: checked.node.clone(),
        register: checked.register.clone(),
        fields,
        actions: Vec::new(),
        meta: Arc::new(RuleMeta { id: "<expr>".into(), ..RuleMeta::default() }),
    };
    RuleSet::new(Loaded {
        rules: vec![rule],
        vars: loaded.vars.clone(),
        var_inits: loaded.var_inits.clone(),
        ..Loaded::default()
    })
}
