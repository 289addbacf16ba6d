//! `secl check`: the policy linter.

use crate::{EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE};
use secl::eval::load::{Status, load};
use secl::syntax::diagnostics::{self, Severity, codes};
use secl::syntax::policy::load_paths;
use serde_json::json;
use std::path::PathBuf;

pub const HELP: &str = "\
secl check [PATHS…]: parse, typecheck and lint SECL policy files

PATHS are policy files or directories (a directory loads default.policy first, then the
other *.policy files sorted by name).

Options:
  --agent-version V     agent version rules are filtered for (default: newest supported)
  --kernel-version X.Y.Z  kernel version for rule filters (default: the running kernel)
  --os linux|windows    target OS for rule filters (default: linux)
  --format F            human (default), json, sarif or github
  --fail-level L        error (default) or warning: findings at or above it exit 1
  --color               colour the human output
  --kfilters            report the kernel filters the rules compile to (approvers,
                        accept-all culprits) instead of linting
  --profile P           kernel capabilities for --kfilters: secl (default) or datadog
  --events FILE         with --kfilters: simulate the kernel filter on a JSONL stream

Exit status: 0 clean, 1 findings at or above the fail level, 2 unreadable input,
3 usage error.";

pub fn run(raw: &[String]) -> i32 {
    let (args, host) =
        match crate::host::command(raw, &["format", "fail-level", "profile", "events"], &["color", "kfilters"], HELP) {
            Ok(x) => x,
            Err(code) => return code,
        };
    let format = args.value("format").unwrap_or("human");
    if !matches!(format, "human" | "json" | "sarif" | "github") {
        return crate::usage(&format!("invalid --format `{format}`"), HELP);
    }
    if args.has("kfilters") {
        return crate::kfilters::check(&args, &host, format);
    }
    let fail_level = match args.value("fail-level").unwrap_or("error") {
        "error" => Severity::Error,
        "warning" => Severity::Warning,
        other => return crate::usage(&format!("invalid --fail-level `{other}`"), HELP),
    };
    if args.positionals.is_empty() {
        return crate::usage("no policy file or directory given", HELP);
    }
    let paths: Vec<PathBuf> = args.positionals.iter().map(PathBuf::from).collect();
    let (policies, mut diags) = load_paths(&paths);
    let unreadable = diags.iter().any(|d| matches!(d.code, codes::UNREADABLE | codes::INVALID_UTF8 | codes::TOO_LARGE));
    let loaded = load(&policies, &host);
    diags.extend(loaded.diagnostics.iter().cloned());
    diags.sort_by(|a, b| {
        let key = |d: &diagnostics::Diagnostic| {
            (d.source.as_ref().map(|s| s.name.clone()), d.primary_span().map(|s| s.start), d.severity)
        };
        key(a).cmp(&key(b))
    });
    let count = |s: Status| loaded.rule_reports.iter().filter(|r| r.status == s).count();
    let (ok, filtered, errored) = (count(Status::Loaded), count(Status::Filtered), count(Status::Error));
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.len() - errors;
    match format {
        "json" => {
            let out = json!({
                "rules": loaded.rule_reports,
                "macros": loaded.macro_reports,
                "diagnostics": diags.iter().map(diagnostics::render_json_value).collect::<Vec<_>>(),
                "summary": {
                    "policies": policies.len(),
                    "rules_loaded": ok,
                    "rules_filtered": filtered,
                    "rules_error": errored,
                    "macros": loaded.macro_reports.len(),
                    "errors": errors,
                    "warnings": warnings,
                },
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        "sarif" => {
            let out = diagnostics::render_sarif(&diags, env!("CARGO_PKG_VERSION"));
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        "github" => {
            for d in &diags {
                println!("{}", diagnostics::render_github(d));
            }
        }
        _ => {
            let color = args.has("color");
            for d in &diags {
                eprint!("{}", diagnostics::render_human(d, color));
                eprintln!();
            }
            println!(
                "{} policies: {ok} rules loaded, {filtered} filtered, {errored} errored; {errors} errors, {warnings} warnings",
                policies.len()
            );
        }
    }
    if unreadable {
        return EXIT_UNREADABLE;
    }
    if diags.iter().any(|d| d.severity >= fail_level) { EXIT_FINDINGS } else { EXIT_OK }
}
