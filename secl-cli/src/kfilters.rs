//! `secl check --kfilters` and `secl compile --kfilters`: rules compiled to in-kernel
//! filters (approvers, discarders), their report, and the simulator over an event file.

use crate::args::Args;
use crate::{EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE};
use secl::eval::event::Event;
use secl::eval::load::{Host, Loaded, load};
use secl::eval::ruleset::RuleSet;
use secl::syntax::policy::load_paths;
use secl_ebpf_gen::approvers::{Analysis, Mode};
use secl_ebpf_gen::simulator::{Simulator, StreamStats, simulate};
use secl_ebpf_gen::{Plan, Profile, analyze};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const COMPILE_HELP: &str = "\
secl compile --kfilters OUT.json [PATHS…]: compile policies to a kernel filter plan

Options:
  --kfilters FILE       write the plan (approvers, guards, map layout) as JSON
  --profile P           secl (default) or datadog
  --agent-version V, --kernel-version X.Y.Z, --os linux|windows  as for `secl check`

Exit status: 0 written, 2 unreadable or broken policy, 3 usage error.";

fn profile(args: &Args) -> Result<Profile, String> {
    args.value("profile").unwrap_or("secl").parse()
}

/// `secl check --kfilters`: the report (called by `check` when the switch is given).
pub fn check(args: &Args, host: &Host, format: &str) -> i32 {
    let profile = match profile(args) {
        Ok(p) => p,
        Err(e) => return crate::usage(&e, crate::check::HELP),
    };
    if args.positionals.is_empty() {
        return crate::usage("no policy file or directory given", crate::check::HELP);
    }
    let paths: Vec<PathBuf> = args.positionals.iter().map(PathBuf::from).collect();
    let (policies, diags) = load_paths(&paths);
    let loaded = load(&policies, host);
    let errors = diags.iter().chain(loaded.diagnostics.iter()).filter(|d| d.is_error()).count();
    let analysis = analyze(&loaded.rules, profile);
    let simulation = match args.value("events") {
        None => None,
        Some(file) => match run_simulation(&analysis, loaded, file) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_UNREADABLE;
            }
        },
    };
    if format == "json" {
        let mut event_types = serde_json::Map::new();
        for (t, f) in &analysis.event_types {
            event_types.insert(t.clone(), serde_json::to_value(f).unwrap_or_default());
        }
        let mut out = json!({ "kfilters": { "profile": profile.name(), "event_types": event_types } });
        if let Some((s, per_type)) = &simulation {
            let mut sim = serde_json::to_value(s).unwrap_or_default();
            sim["per_event_type"] = serde_json::to_value(per_type).unwrap_or_default();
            out["kfilters"]["simulation"] = sim;
        }
        if errors > 0 {
            out["kfilters"]["policy_errors"] = json!(errors);
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print_human(&analysis, simulation.as_ref(), errors);
    }
    match &simulation {
        Some((s, _)) if s.missed_matches > 0 => EXIT_FINDINGS,
        _ if errors > 0 => EXIT_FINDINGS,
        _ => EXIT_OK,
    }
}

type PerType = BTreeMap<String, StreamStats>;

fn run_simulation(analysis: &Analysis, loaded: Loaded, file: &str) -> Result<(StreamStats, PerType), String> {
    let events = crate::events::read_all(file)?;
    let plan = Plan::build(analysis);
    let sim = Simulator::new(&plan);
    let rs = RuleSet::new(loaded);
    let total = simulate(&sim, &rs, &events, true);
    let mut per_type = PerType::new();
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    types.sort_unstable();
    types.dedup();
    for t in types {
        let evs: Vec<_> = events.iter().filter(|e| e.event_type() == t).collect();
        per_type.insert(t.to_owned(), simulate(&sim, &rs, evs, true));
    }
    Ok((total, per_type))
}

const SHOWN_VALUES: usize = 12;

fn print_human(a: &Analysis, simulation: Option<&(StreamStats, PerType)>, errors: usize) {
    println!("kernel filters ({} profile)", a.profile);
    let mut not_hooked = Vec::new();
    let mut warnings = 0;
    for (t, f) in &a.event_types {
        match f.mode {
            Mode::NotHooked => not_hooked.push(t.as_str()),
            Mode::Approve => {
                println!("  {t}: approve ({} rules)", f.rules.len());
                for (field, vals) in &f.approvers {
                    let shown: Vec<String> = vals.iter().take(SHOWN_VALUES).map(|v| v.value.to_string()).collect();
                    let more = if vals.len() > SHOWN_VALUES {
                        format!(", … {} more", vals.len() - SHOWN_VALUES)
                    } else {
                        String::new()
                    };
                    println!("    {field} ({}): {}{more}", vals.len(), shown.join(", "));
                }
            }
            Mode::AcceptAll if f.no_capability => {
                println!(
                    "  {t}: accept-all ({} rules; the {} profile has no kernel filter for `{t}`)",
                    f.rules.len(),
                    a.profile
                );
            }
            Mode::AcceptAll => {
                println!(
                    "  {t}: accept-all ({} rules, {} without a kernel-filterable condition)",
                    f.rules.len(),
                    f.culprits.len()
                );
                for c in &f.culprits {
                    warnings += 1;
                    eprintln!("warning: rule `{}`: {}\n  hint: {}", c.rule, c.message, c.hint);
                }
            }
        }
    }
    if !not_hooked.is_empty() {
        println!("  not hooked ({}): {}", not_hooked.len(), not_hooked.join(", "));
    }
    if let Some((s, per_type)) = simulation {
        println!(
            "simulation: {} events, {} sent, {} dropped ({:.1}%: {} by approvers, {} by discarders, {} not hooked), {} matched, {} missed matches",
            s.events,
            s.sent,
            s.dropped,
            100.0 * s.drop_share(),
            s.dropped_by_approvers,
            s.dropped_by_discarders,
            s.not_hooked,
            s.matched,
            s.missed_matches
        );
        for (t, s) in per_type {
            println!("  {t}: {} events, {} sent, {} dropped, {} missed", s.events, s.sent, s.dropped, s.missed_matches);
        }
    }
    if errors > 0 {
        println!("{errors} policy errors (rules with errors are not compiled; run `secl check` for details)");
    }
    if warnings > 0 {
        println!("{warnings} rules force accept-all");
    }
}

/// `secl compile --kfilters OUT.json POLICY…`.
pub fn compile(raw: &[String]) -> i32 {
    let (args, host) = match crate::host::command(raw, &["kfilters", "profile"], &[], COMPILE_HELP) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(out) = args.value("kfilters") else {
        return crate::usage("`--kfilters OUT.json` is required", COMPILE_HELP);
    };
    let profile = match profile(&args) {
        Ok(p) => p,
        Err(e) => return crate::usage(&e, COMPILE_HELP),
    };
    if args.positionals.is_empty() {
        return crate::usage("no policy file or directory given", COMPILE_HELP);
    }
    let loaded = match crate::policy::load_policy(&args.positionals, &host) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let plan = secl_ebpf_gen::compile(&loaded.rules, profile);
    let text = plan.to_json();
    let written = if out == "-" {
        println!("{text}");
        Ok(())
    } else {
        std::fs::write(out, text + "\n")
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {out}: {e}");
            EXIT_UNREADABLE
        }
    }
}
