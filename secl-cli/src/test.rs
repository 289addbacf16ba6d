//! `secl test`: rules tested against recorded events, with coverage and explanations.

use crate::actions::action_json;
use crate::args::{Args, Spec};
use crate::explain::{Explainer, indent};
use crate::testfile::{Case, Expect, TestFile};
use crate::{EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE};
use secl::eval::event::Event;
use secl::eval::explain::Explanation;
use secl::eval::load::{DefReport, Status, load};
use secl::eval::ruleset::RuleSet;
use secl::eval::vars::VarStore;
use secl::syntax::diagnostics::render_human;
use secl::syntax::policy::load_paths;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

pub const HELP: &str = "\
secl test [PATHS…]: run policy tests (`*.test.yaml`) against their events

PATHS are test files or directories searched recursively for `*.test.yaml` (default: .).
A test file names the policies it loads (relative to itself), the target host, and
cases: an event (`event:` inline, `event_file:`), or a sequence evaluated in order in
one rule-set state (`events:`, `events_file:`), with expectations (`expect`,
`expect_match`, `expect_no_match`, `expect_actions`) and `todo:` for known misses.

A failed expectation shows the rule's expression with the value of every
sub-expression on the event. Coverage lists the loaded rules that no case matched.

Options:
  --format F          human (default), json or junit
  --fail-on-missing   rules that no case matched are a failure
  --coverage          list covered rules too (human format)

Exit status: 0 all cases pass, 1 a case failed (or a rule is not covered with
--fail-on-missing), 2 an unreadable test file, event or policy, 3 usage error.";

pub fn run(raw: &[String]) -> i32 {
    let spec = Spec { valued: &["format"], switches: &["help", "fail-on-missing", "coverage"] };
    let args = match Args::parse(raw, &spec) {
        Ok(a) => a,
        Err(e) => return crate::usage(&e, HELP),
    };
    if args.has("help") {
        println!("{HELP}");
        return EXIT_OK;
    }
    let format = args.value("format").unwrap_or("human");
    if !matches!(format, "human" | "json" | "junit") {
        return crate::usage(&format!("invalid --format `{format}`"), HELP);
    }
    let paths = if args.positionals.is_empty() { vec![".".to_owned()] } else { args.positionals.clone() };
    let files = match crate::testfile::discover(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    if files.is_empty() {
        eprintln!("error: no `*.test.yaml` file under {}", paths.join(", "));
        return EXIT_UNREADABLE;
    }
    let results: Vec<FileResult> = files.iter().map(|f| run_file(f)).collect();
    let report = Report::new(results);
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&report.json()).unwrap_or_default()),
        "junit" => print!("{}", report.junit(args.has("fail-on-missing"))),
        _ => print!("{}", report.human(args.has("coverage"))),
    }
    let missing = args.has("fail-on-missing") && report.coverage.values().any(|c| !c);
    if report.results.iter().any(|f| f.error.is_some()) {
        EXIT_UNREADABLE
    } else if report.count(CaseStatus::Failed) > 0 || missing {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaseStatus {
    Passed,
    Failed,
    /// A known miss: failed, marked `todo`.
    Todo,
    /// Marked `todo` but passes now.
    TodoPassed,
    Skipped,
}

impl CaseStatus {
    fn name(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::Todo => "todo",
            CaseStatus::TodoPassed => "todo_passed",
            CaseStatus::Skipped => "skipped",
        }
    }
}

struct Failure {
    message: String,
    explanations: Vec<Explanation>,
}

struct CaseResult {
    name: String,
    line: usize,
    status: CaseStatus,
    reason: Option<String>,
    matched: Vec<String>,
    failures: Vec<Failure>,
}

struct FileResult {
    path: String,
    name: Option<String>,
    error: Option<String>,
    skipped: Option<String>,
    cases: Vec<CaseResult>,
    /// (policy file, rule id) of every loaded rule, when the file counts for coverage.
    rules: Vec<(String, String)>,
    matched: BTreeSet<String>,
}

impl FileResult {
    fn bare(path: &Path) -> FileResult {
        FileResult {
            path: path.display().to_string(),
            name: None,
            error: None,
            skipped: None,
            cases: Vec::new(),
            rules: Vec::new(),
            matched: BTreeSet::new(),
        }
    }
}

fn run_file(path: &Path) -> FileResult {
    let mut out = FileResult::bare(path);
    let tf = match crate::testfile::read(path) {
        Ok(t) => t,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    out.name = tf.name.clone();
    if tf.optional
        && let Some(missing) = tf.policies.iter().find(|p| !p.exists())
    {
        out.skipped = Some(format!("{} is not present", missing.display()));
        return out;
    }
    let (policies, diags) = load_paths(&tf.policies);
    let loaded = load(&policies, &tf.host);
    let errors: Vec<String> = diags
        .iter()
        .chain(loaded.diagnostics.iter())
        .filter(|d| d.is_error())
        .map(|d| render_human(d, false))
        .collect();
    if !errors.is_empty() {
        out.error = Some(format!("{} error(s) loading the policies:\n{}", errors.len(), errors.concat()));
        return out;
    }
    let explainer = Explainer::new(&loaded);
    let reports = loaded.rule_reports.clone();
    if tf.coverage {
        out.rules =
            reports.iter().filter(|r| r.status == Status::Loaded).map(|r| (r.file.clone(), r.id.clone())).collect();
    }
    let rs = RuleSet::new(loaded);
    let cx = FileCx { tf: &tf, rs: &rs, explainer: &explainer, reports: &reports };
    for case in &tf.cases {
        let r = cx.run_case(case);
        out.matched.extend(r.matched.iter().cloned());
        out.cases.push(r);
    }
    out
}

struct FileCx<'a> {
    tf: &'a TestFile,
    rs: &'a RuleSet,
    explainer: &'a Explainer,
    reports: &'a [DefReport],
}

/// What one evaluated step left behind, for checks and explanations.
struct Ran {
    /// Variables before the event.
    before: VarStore,
    matched: Vec<String>,
    actions: Vec<Value>,
}

impl FileCx<'_> {
    fn run_case(&self, case: &Case) -> CaseResult {
        let mut result = CaseResult {
            name: case.name.clone(),
            line: case.line,
            status: CaseStatus::Passed,
            reason: None,
            matched: Vec::new(),
            failures: Vec::new(),
        };
        if let Some(why) = &case.skip {
            result.status = CaseStatus::Skipped;
            result.reason = Some(why.clone());
            return result;
        }
        let mut st = self.rs.new_state();
        let mut ran = Vec::with_capacity(case.steps.len());
        for step in &case.steps {
            let before = st.vars.clone();
            let v = self.rs.evaluate(&step.event, &mut st);
            let mut matched: Vec<String> = Vec::new();
            for r in v.matched {
                let id = self.rs.rule(*r).id.to_string();
                if !matched.contains(&id) {
                    matched.push(id);
                }
            }
            let actions = v.fired.iter().map(|f| action_json(self.rs, f.rule, f.action)).collect();
            ran.push(Ran { before, matched, actions });
        }
        let several = case.steps.len() > 1;
        for (i, step) in case.steps.iter().enumerate() {
            if step.expect.is_empty() {
                continue;
            }
            let at = format!(" on event {i} ({}, {})", step.event.event_type(), step.origin);
            let failures = self.check(&step.expect, &ran[i].matched, &ran[i].actions, &at, case, &ran, Some(i));
            result.failures.extend(failures);
        }
        let mut union: Vec<String> = Vec::new();
        for r in &ran {
            for id in &r.matched {
                if !union.contains(id) {
                    union.push(id.clone());
                }
            }
        }
        let actions: Vec<Value> = ran.iter().flat_map(|r| r.actions.iter().cloned()).collect();
        if !case.expect.is_empty() {
            let at = if several { format!(" on any of the {} events", case.steps.len()) } else { String::new() };
            let single = (!several).then_some(0);
            result.failures.extend(self.check(&case.expect, &union, &actions, &at, case, &ran, single));
        }
        result.matched = union;
        result.status = match (result.failures.is_empty(), case.todo.is_some()) {
            (true, false) => CaseStatus::Passed,
            (true, true) => CaseStatus::TodoPassed,
            (false, false) => CaseStatus::Failed,
            (false, true) => CaseStatus::Todo,
        };
        result.reason = case.todo.clone().filter(|r| !r.is_empty());
        result
    }

    /// Checks expectations against matched rule ids and fired actions; `step` is the
    /// event they apply to, or `None` for a whole sequence.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        expect: &Expect,
        matched: &[String],
        actions: &[Value],
        at: &str,
        case: &Case,
        ran: &[Ran],
        step: Option<usize>,
    ) -> Vec<Failure> {
        let mut out = Vec::new();
        let mut unknown = BTreeSet::new();
        for id in expect.rule_ids() {
            if !self.rs.rules().iter().any(|r| &*r.id == id) && unknown.insert(id.to_owned()) {
                out.push(Failure { message: self.not_loaded(id), explanations: Vec::new() });
            }
        }
        let known = |id: &str| !unknown.contains(id);
        if let Some(exact) = &expect.exact {
            let missing: Vec<&String> = exact.iter().filter(|id| !matched.contains(id) && known(id)).collect();
            let extra: Vec<&String> = matched.iter().filter(|id| !exact.contains(id)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                let mut explanations = Vec::new();
                for id in &missing {
                    explanations.extend(self.why_not(id, case, ran, step));
                }
                for id in &extra {
                    explanations.extend(self.why(id, case, ran, step));
                }
                out.push(Failure {
                    message: format!(
                        "expected exactly {}{at}, matched {}{}{}",
                        list(exact),
                        list(matched),
                        if missing.is_empty() { String::new() } else { format!("; missing {}", list(&missing)) },
                        if extra.is_empty() { String::new() } else { format!("; unexpected {}", list(&extra)) },
                    ),
                    explanations,
                });
            }
        }
        for id in expect.matched.iter().filter(|id| !matched.contains(id) && known(id)) {
            out.push(Failure {
                message: format!("rule `{id}` was expected to match{at}, it did not"),
                explanations: self.why_not(id, case, ran, step),
            });
        }
        for id in expect.not_matched.iter().filter(|id| matched.contains(id)) {
            out.push(Failure {
                message: format!("rule `{id}` matched{at}, it was expected not to"),
                explanations: self.why(id, case, ran, step),
            });
        }
        for want in &expect.actions {
            if actions.iter().any(|a| action_has(a, want)) {
                continue;
            }
            let rule = want.get("rule_id").and_then(Value::as_str);
            if rule.is_some_and(|r| !known(r)) {
                continue;
            }
            let fired: Vec<String> = actions
                .iter()
                .filter(|a| rule.is_none_or(|r| a.get("rule_id").and_then(Value::as_str) == Some(r)))
                .map(Value::to_string)
                .collect();
            let fired = if fired.is_empty() { "none".to_owned() } else { fired.join(", ") };
            let explanations = match rule {
                Some(r) if !matched.iter().any(|m| m == r) => self.why_not(r, case, ran, step),
                _ => Vec::new(),
            };
            out.push(Failure {
                message: format!("expected action {}{at}; fired: {fired}", Value::Object(want.clone())),
                explanations,
            });
        }
        out
    }

    fn not_loaded(&self, id: &str) -> String {
        let mut msg = format!("rule `{id}` is not loaded by {}", self.policies());
        if let Some(r) = self.reports.iter().find(|r| r.id == id) {
            let status = match r.status {
                Status::Filtered => "filtered",
                Status::Error => "in error",
                Status::Loaded => "loaded",
            };
            let _ = write!(msg, ": it is {status}");
            if let Some(reason) = &r.reason {
                let _ = write!(msg, " ({reason})");
            }
        } else if let Some(s) = secl::eval::suggest::closest(id, self.rs.rules().iter().map(|r| &*r.id)) {
            let _ = write!(msg, " (did you mean `{s}`?)");
        }
        msg
    }

    fn policies(&self) -> String {
        let names: Vec<String> = self.tf.policies.iter().map(|p| p.display().to_string()).collect();
        names.join(", ")
    }

    /// Why `id` did not match: on the given step, or on the step of the sequence that
    /// came closest.
    fn why_not(&self, id: &str, case: &Case, ran: &[Ran], step: Option<usize>) -> Vec<Explanation> {
        let steps: Vec<usize> = match step {
            Some(i) => vec![i],
            None => (0..case.steps.len()).collect(),
        };
        let mut candidates = Vec::new();
        for i in steps {
            let ev = &case.steps[i].event;
            for rule in self.rs.rules().iter().filter(|r| &*r.id == id && &*r.event_type == ev.event_type()) {
                candidates.push(self.explainer.rule(rule, ev, &ran[i].before));
            }
        }
        if candidates.is_empty() {
            // No event of the rule's type: explain on the step itself when there is one.
            let rule = self.rs.rules().iter().find(|r| &*r.id == id);
            return match (rule, step) {
                (Some(rule), Some(i)) => vec![self.explainer.rule(rule, &case.steps[i].event, &ran[i].before)],
                (Some(rule), None) => {
                    let mut e = self.explainer.rule(rule, &case.steps[0].event, &ran[0].before);
                    e.notes.insert(0, format!("no event of the sequence is a `{}` event", rule.event_type));
                    vec![e]
                }
                _ => Vec::new(),
            };
        }
        let best = candidates.iter().enumerate().max_by_key(|(i, e)| (e.root.true_leaves(), std::cmp::Reverse(*i)));
        let best = best.map_or(0, |(i, _)| i);
        vec![candidates.swap_remove(best)]
    }

    /// Why `id` matched: on the given step, or on the first step it matched.
    fn why(&self, id: &str, case: &Case, ran: &[Ran], step: Option<usize>) -> Vec<Explanation> {
        let i = match step {
            Some(i) => i,
            None => match ran.iter().position(|r| r.matched.iter().any(|m| m == id)) {
                Some(i) => i,
                None => return Vec::new(),
            },
        };
        let ev = &case.steps[i].event;
        self.rs
            .rules()
            .iter()
            .filter(|r| &*r.id == id && &*r.event_type == ev.event_type())
            .take(1)
            .map(|r| {
                let mut e = self.explainer.rule(r, ev, &ran[i].before);
                if step.is_none() && case.steps.len() > 1 {
                    e.notes.insert(0, format!("on event {i} ({})", case.steps[i].origin));
                }
                e
            })
            .collect()
    }
}

/// Whether a fired action has every key of `want` (scalars compared as text).
fn action_has(action: &Value, want: &Map<String, Value>) -> bool {
    want.iter().all(|(k, v)| match (action.get(k), v) {
        (Some(a), b) if a == b => true,
        (Some(Value::String(a)), Value::Number(b)) => a.parse::<serde_json::Number>().is_ok_and(|a| a == *b),
        (Some(Value::Number(a)), Value::String(b)) => b.parse::<serde_json::Number>().is_ok_and(|b| b == *a),
        (Some(Value::Bool(a)), Value::String(b)) => b.parse::<bool>().is_ok_and(|b| b == *a),
        _ => false,
    })
}

fn list<S: AsRef<str>>(ids: &[S]) -> String {
    let inner: Vec<String> = ids.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

struct Report {
    results: Vec<FileResult>,
    /// (policy file, rule id) → matched by some case.
    coverage: BTreeMap<(String, String), bool>,
}

impl Report {
    fn new(results: Vec<FileResult>) -> Report {
        let mut coverage: BTreeMap<(String, String), bool> = BTreeMap::new();
        for f in &results {
            for (file, id) in &f.rules {
                *coverage.entry((file.clone(), id.clone())).or_default() |= f.matched.contains(id);
            }
        }
        Report { results, coverage }
    }

    fn count(&self, s: CaseStatus) -> usize {
        self.results.iter().flat_map(|f| &f.cases).filter(|c| c.status == s).count()
    }

    fn cases(&self) -> usize {
        self.results.iter().map(|f| f.cases.len()).sum()
    }

    fn summary(&self) -> String {
        let errors = self.results.iter().filter(|f| f.error.is_some()).count();
        let mut s = format!(
            "{} passed, {} failed, {} todo, {} skipped",
            self.count(CaseStatus::Passed),
            self.count(CaseStatus::Failed),
            self.count(CaseStatus::Todo) + self.count(CaseStatus::TodoPassed),
            self.count(CaseStatus::Skipped)
        );
        if errors > 0 {
            let _ = write!(s, ", {errors} unreadable file(s)");
        }
        s
    }

    fn human(&self, list_covered: bool) -> String {
        let mut out = String::new();
        let n_files = self.results.len();
        let _ = writeln!(
            out,
            "running {} case{} from {n_files} test file{}\n",
            self.cases(),
            if self.cases() == 1 { "" } else { "s" },
            if n_files == 1 { "" } else { "s" }
        );
        for f in &self.results {
            if let Some(e) = &f.error {
                let _ = writeln!(out, "error: {e}");
                continue;
            }
            if let Some(why) = &f.skipped {
                let _ = writeln!(out, "skipped {}: {why}", f.path);
                continue;
            }
            for c in &f.cases {
                let status = match c.status {
                    CaseStatus::Passed => "ok".to_owned(),
                    CaseStatus::Failed => "FAILED".to_owned(),
                    CaseStatus::Todo => match &c.reason {
                        Some(r) => format!("todo ({r})"),
                        None => "todo".to_owned(),
                    },
                    CaseStatus::TodoPassed => "ok (marked todo: it passes now)".to_owned(),
                    CaseStatus::Skipped => match &c.reason {
                        Some(r) if !r.is_empty() => format!("skipped ({r})"),
                        _ => "skipped".to_owned(),
                    },
                };
                let _ = writeln!(out, "test {} :: {} ... {status}", f.path, c.name);
            }
        }
        let failed: Vec<(&FileResult, &CaseResult)> = self
            .results
            .iter()
            .flat_map(|f| f.cases.iter().map(move |c| (f, c)))
            .filter(|(_, c)| c.status == CaseStatus::Failed)
            .collect();
        if !failed.is_empty() {
            out.push_str("\nfailures:\n");
            for (f, c) in &failed {
                let _ = writeln!(out, "\n---- {} :: {} (line {}) ----", f.path, c.name, c.line);
                for fail in &c.failures {
                    let _ = writeln!(out, "{}", fail.message);
                    for e in &fail.explanations {
                        out.push_str(&indent(&e.render(), 4));
                    }
                }
            }
        }
        let todo: Vec<(&FileResult, &CaseResult)> = self
            .results
            .iter()
            .flat_map(|f| f.cases.iter().map(move |c| (f, c)))
            .filter(|(_, c)| c.status == CaseStatus::Todo)
            .collect();
        if !todo.is_empty() {
            out.push_str("\nknown misses (todo):\n");
            for (f, c) in &todo {
                let _ = writeln!(out, "  {} :: {}", f.path, c.name);
                for fail in &c.failures {
                    let _ = writeln!(out, "    {}", fail.message);
                }
            }
        }
        if !self.coverage.is_empty() {
            let covered = self.coverage.values().filter(|c| **c).count();
            let _ = writeln!(
                out,
                "\ncoverage: {covered}/{} rules matched by some case{}",
                self.coverage.len(),
                if covered == self.coverage.len() { "" } else { "; not covered:" }
            );
            for ((file, id), ok) in &self.coverage {
                if !ok {
                    let _ = writeln!(out, "    {file}: {id}");
                }
            }
            if list_covered {
                out.push_str("  covered:\n");
                for ((file, id), _) in self.coverage.iter().filter(|(_, ok)| **ok) {
                    let _ = writeln!(out, "    {file}: {id}");
                }
            }
        }
        let verdict = if failed.is_empty() && self.results.iter().all(|f| f.error.is_none()) { "ok" } else { "FAILED" };
        let _ = writeln!(out, "\ntest result: {verdict}. {}", self.summary());
        out
    }

    fn json(&self) -> Value {
        let files: Vec<Value> = self
            .results
            .iter()
            .map(|f| {
                let cases: Vec<Value> = f
                    .cases
                    .iter()
                    .map(|c| {
                        let failures: Vec<Value> = c
                            .failures
                            .iter()
                            .map(|fl| {
                                json!({
                                    "message": fl.message,
                                    "explanations": fl.explanations.iter().map(|e| json!({
                                        "text": e.render(),
                                        "tree": e,
                                    })).collect::<Vec<_>>(),
                                })
                            })
                            .collect();
                        json!({
                            "name": c.name,
                            "line": c.line,
                            "status": c.status.name(),
                            "reason": c.reason,
                            "matched": c.matched,
                            "failures": failures,
                        })
                    })
                    .collect();
                let status = if f.error.is_some() {
                    "error"
                } else if f.skipped.is_some() {
                    "skipped"
                } else {
                    "ok"
                };
                json!({
                    "path": f.path,
                    "name": f.name,
                    "status": status,
                    "error": f.error,
                    "skipped": f.skipped,
                    "cases": cases,
                })
            })
            .collect();
        let not_covered: Vec<Value> = self
            .coverage
            .iter()
            .filter(|(_, ok)| !**ok)
            .map(|((file, id), _)| json!({"policy": file, "rule_id": id}))
            .collect();
        json!({
            "files": files,
            "coverage": {
                "rules": self.coverage.len(),
                "covered": self.coverage.values().filter(|c| **c).count(),
                "not_covered": not_covered,
            },
            "summary": {
                "passed": self.count(CaseStatus::Passed),
                "failed": self.count(CaseStatus::Failed),
                "todo": self.count(CaseStatus::Todo) + self.count(CaseStatus::TodoPassed),
                "skipped": self.count(CaseStatus::Skipped),
                "errors": self.results.iter().filter(|f| f.error.is_some()).count(),
            },
        })
    }

    fn junit(&self, fail_on_missing: bool) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let errors = self.results.iter().filter(|f| f.error.is_some()).count();
        let _ = writeln!(
            out,
            "<testsuites name=\"secl test\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\">",
            self.cases(),
            self.count(CaseStatus::Failed),
            self.count(CaseStatus::Skipped) + self.count(CaseStatus::Todo)
        );
        for f in &self.results {
            let failures = f.cases.iter().filter(|c| c.status == CaseStatus::Failed).count();
            let skipped = f.cases.iter().filter(|c| matches!(c.status, CaseStatus::Skipped | CaseStatus::Todo)).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" skipped=\"{skipped}\">",
                xml(&f.path),
                f.cases.len(),
                usize::from(f.error.is_some())
            );
            if let Some(e) = &f.error {
                let _ = writeln!(
                    out,
                    "    <testcase name=\"(load)\" classname=\"{}\"><error message=\"unreadable\">{}</error></testcase>",
                    xml(&f.path),
                    xml(e)
                );
            }
            for c in &f.cases {
                let _ = write!(
                    out,
                    "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                    xml(&c.name),
                    xml(&f.path),
                    xml(&f.path),
                    c.line
                );
                match c.status {
                    CaseStatus::Passed | CaseStatus::TodoPassed => out.push_str("/>\n"),
                    CaseStatus::Skipped => {
                        let _ = writeln!(
                            out,
                            "><skipped message=\"{}\"/></testcase>",
                            xml(c.reason.as_deref().unwrap_or("skip"))
                        );
                    }
                    CaseStatus::Todo => {
                        let _ = writeln!(
                            out,
                            "><skipped message=\"todo: {}\"/></testcase>",
                            xml(c.reason.as_deref().unwrap_or(""))
                        );
                    }
                    CaseStatus::Failed => {
                        let mut text = String::new();
                        for fl in &c.failures {
                            let _ = writeln!(text, "{}", fl.message);
                            for e in &fl.explanations {
                                text.push_str(&indent(&e.render(), 4));
                            }
                        }
                        let first = c.failures.first().map_or("", |f| f.message.as_str());
                        let _ = writeln!(
                            out,
                            ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                            xml(first),
                            xml(&text)
                        );
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        if !self.coverage.is_empty() {
            let missing: Vec<&(String, String)> =
                self.coverage.iter().filter(|(_, ok)| !**ok).map(|(k, _)| k).collect();
            let _ = writeln!(
                out,
                "  <testsuite name=\"coverage\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
                self.coverage.len(),
                if fail_on_missing { missing.len() } else { 0 }
            );
            for ((file, id), ok) in &self.coverage {
                let _ = write!(out, "    <testcase name=\"{}\" classname=\"coverage.{}\"", xml(id), xml(file));
                if *ok || !fail_on_missing {
                    out.push_str("/>\n");
                } else {
                    let _ = writeln!(
                        out,
                        "><failure message=\"rule `{}` is not matched by any case\"/></testcase>",
                        xml(id)
                    );
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
