//! `secl replay`: a recorded event stream through one stateful rule set.

use crate::actions::action_json;
use crate::{EXIT_OK, EXIT_UNREADABLE};
use secl::eval::ruleset::RuleSet;
use serde_json::Value;
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

pub const HELP: &str = "\
secl replay --policy PATH [host flags] EVENTS.jsonl|-

Streams recorded events (JSON lines, `-` for stdin), in order, through one stateful rule
set: `set` actions persist from one event to the next, process-scoped variables are keyed
by `process.pid` (and dropped at the process's `exit` event), container- and
cgroup-scoped ones by the container and cgroup ids, and TTLs are measured on the events'
`timestamp`s (the wall clock for events without one).

Prints one JSON line per rule match:
  {\"rule_id\", \"event_index\" (0-based), \"actions\", \"event\"}
then a summary line {\"summary\": {\"events\", \"matches\", …}}. Output is flushed whenever
the input has no more data waiting, so a pipe sees matches as they happen.

Options:
  --policy PATH      policy file or directory (required)
  --quiet            print the summary line only
  --agent-version V, --kernel-version X.Y.Z, --os linux|windows   as in `secl check`

Exit status: 0 done, 2 unreadable policy or input, or an invalid event line (reported on
stderr; the stream goes on), 3 usage error.";

pub fn run(raw: &[String]) -> i32 {
    let (args, host) = match crate::host::command(raw, &["policy"], &["quiet"], HELP) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(policy) = args.value("policy") else { return crate::usage("--policy is required", HELP) };
    let input = match args.positionals.as_slice() {
        [one] => one.clone(),
        [] => return crate::usage("give the events file, or `-` for stdin", HELP),
        _ => return crate::usage("give one events file", HELP),
    };
    let loaded = match crate::policy::load_policy(&[policy.to_owned()], &host) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let rs = RuleSet::new(loaded);
    let reader: Box<dyn Read> = if input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&input) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: {input}: {e}");
                return EXIT_UNREADABLE;
            }
        }
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let quiet = args.has("quiet");
    match replay(&rs, BufReader::with_capacity(1 << 16, reader), &mut out, quiet) {
        Ok(s) => {
            let summary = serde_json::json!({"summary": {
                "events": s.events,
                "matches": s.matches,
                "invalid_lines": s.invalid,
                "rules": rs.rules().len(),
                "seconds": (s.seconds * 1e6).round() / 1e6,
                "events_per_second": if s.seconds > 0.0 { (s.events as f64 / s.seconds).round() } else { 0.0 },
            }});
            let written = writeln!(out, "{summary}").and_then(|()| out.flush());
            if written.is_err() {
                // The reader went away (`| head`): not an error of ours.
                return EXIT_OK;
            }
            if s.invalid > 0 { EXIT_UNREADABLE } else { EXIT_OK }
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            EXIT_UNREADABLE
        }
    }
}

pub struct Summary {
    pub events: u64,
    pub matches: u64,
    pub invalid: u64,
    pub seconds: f64,
}

/// Evaluates every line of `input` in order on one state, writing a JSON line per match.
pub fn replay<R: Read>(
    rs: &RuleSet,
    input: BufReader<R>,
    out: &mut impl Write,
    quiet: bool,
) -> Result<Summary, String> {
    let start = Instant::now();
    let mut st = rs.new_state();
    let mut s = Summary { events: 0, matches: 0, invalid: 0, seconds: 0.0 };
    let mut ids: Vec<&str> = Vec::new();
    let mut text = String::new();
    let out = std::cell::RefCell::new(out);
    let each = |e: crate::events::Streamed<'_>| -> Result<(), String> {
        let v = rs.evaluate(&e.event, &mut st);
        if v.matched.is_empty() {
            return Ok(());
        }
        ids.clear();
        for r in v.matched {
            let id = &*rs.rule(*r).id;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        s.matches += ids.len() as u64;
        if quiet {
            return Ok(());
        }
        for id in &ids {
            let actions: Vec<Value> = v
                .fired
                .iter()
                .filter(|f| &*rs.rule(f.rule).id == *id)
                .map(|f| action_json(rs, f.rule, f.action))
                .collect();
            text.clear();
            text.push_str("{\"rule_id\":");
            text.push_str(&Value::String((*id).to_owned()).to_string());
            text.push_str(",\"event_index\":");
            text.push_str(&e.index.to_string());
            text.push_str(",\"actions\":");
            text.push_str(&Value::Array(actions).to_string());
            text.push_str(",\"event\":");
            // The line parsed as one JSON object: it is embedded as it was recorded.
            text.push_str(e.line);
            text.push_str("}\n");
            out.borrow_mut().write_all(text.as_bytes()).map_err(|e| format!("write error: {e}"))?;
        }
        Ok(())
    };
    let mut invalid = 0;
    let bad = |line: usize, e: String| {
        eprintln!("error: line {line}: {e}");
        invalid += 1;
    };
    // Keep up with a pipe: flush whenever the next read may wait for the writer.
    let idle = || out.borrow_mut().flush().map_err(|e| format!("write error: {e}"));
    let events = crate::events::stream(input, each, bad, idle)?;
    s.events = events as u64;
    s.invalid = invalid;
    s.seconds = start.elapsed().as_secs_f64();
    Ok(s)
}
