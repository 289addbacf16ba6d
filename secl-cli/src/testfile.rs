//! Test files (`*.test.yaml`) for `secl test`: decoding and validation.
//!
//! ```yaml
//! name: cryptominer detections           # optional
//! policies: [cryptominer.policy]         # files or directories, relative to this file
//! host: {agent_version: 7.70.0, os: linux, kernel_version: 6.8.0}
//! optional: true      # skip the file when a policy is missing (e.g. ../shared)
//! coverage: false     # keep this file's policies out of the coverage report
//! cases:
//!   - name: nc to a mining port
//!     event: {type: exec, values: {exec.file.path: /usr/bin/nc}}   # or event_file:
//!     expect: [network_utility]           # exactly these rules match
//!   - name: the pool is resolved, then connected to
//!     events:                             # one rule-set state, in order
//!       - {type: dns, values: {...}}      # a bare event, or a step with expectations:
//!       - event: {type: connect, values: {...}}
//!         expect_match: [mining_pool_connection]
//!     events_file: host.jsonl             # (instead of `events:`) a recorded stream
//!     expect_match: [a]                   # on a sequence: some event matched it
//!     expect_no_match: [b]                #                no event matched it
//!     expect_actions: [{rule: kill_miner, type: kill, signal: SIGKILL}]
//!     todo: known miss                    # failures are reported, not fatal
//! ```

use marked_yaml::Node;
use marked_yaml::types::MarkedScalarNode;
use secl::eval::json_event::JsonEvent;
use secl::eval::load::{Host, parse_kernel_version};
use secl::eval::value::semver::Version;
use serde_json::{Map, Value};
use std::path::{Component, Path, PathBuf};

pub struct TestFile {
    pub name: Option<String>,
    pub policies: Vec<PathBuf>,
    pub host: Host,
    pub optional: bool,
    pub coverage: bool,
    pub cases: Vec<Case>,
}

pub struct Case {
    pub name: String,
    pub line: usize,
    pub steps: Vec<Step>,
    /// On the whole case: the union of every step's matches and actions.
    pub expect: Expect,
    pub todo: Option<String>,
    pub skip: Option<String>,
}

pub struct Step {
    pub event: JsonEvent,
    /// Where the event came from (`file.jsonl:3`, `line 12`).
    pub origin: String,
    pub expect: Expect,
}

#[derive(Default)]
pub struct Expect {
    /// Exactly these rules.
    pub exact: Option<Vec<String>>,
    pub matched: Vec<String>,
    pub not_matched: Vec<String>,
    /// Each a set of keys a fired action must have (`rule_id`, `type`, `signal`, …).
    pub actions: Vec<Map<String, Value>>,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self.exact.is_none() && self.matched.is_empty() && self.not_matched.is_empty() && self.actions.is_empty()
    }

    /// Every rule id the expectations name.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        let actions = self.actions.iter().filter_map(|a| a.get("rule_id").and_then(Value::as_str));
        self.exact.iter().flatten().chain(&self.matched).chain(&self.not_matched).map(String::as_str).chain(actions)
    }
}

/// A decoding error with its location.
type R<T> = Result<T, String>;

fn line_of(n: &Node) -> usize {
    n.span().start().map_or(0, |m| m.line())
}

fn at(n: &Node, msg: impl std::fmt::Display) -> String {
    format!("line {}: {msg}", line_of(n))
}

pub fn read(path: &Path) -> R<TestFile> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode(path, &text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn decode(path: &Path, text: &str) -> R<TestFile> {
    // Quoted scalars stay strings (`"4444"` in an argv); a repeated key is a mistake.
    let options = || marked_yaml::LoaderOptions::default().prevent_coercion(true).error_on_duplicate_keys(true);
    let parsed = std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, text, options()))
        .map_err(|_| "the YAML parser failed on this file".to_owned())?;
    let root = parsed.map_err(|e| format!("invalid YAML: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let map = root.as_mapping().ok_or_else(|| at(&root, "a test file is a mapping"))?;
    known_keys(&root, &["name", "policies", "policy", "host", "optional", "coverage", "cases", "tests"])?;
    let get = |k: &str| map.get_node(k);
    let name = get("name").map(|n| string(n, "name")).transpose()?;
    let policies = match (get("policies"), get("policy")) {
        (Some(n), _) | (None, Some(n)) => strings(n, "policies")?,
        (None, None) => return Err(at(&root, "`policies` is required: the policy files or directories to load")),
    };
    let policies = policies.iter().map(|p| normalize(&dir.join(p))).collect();
    let host = match get("host") {
        Some(n) => host(n)?,
        None => Host::default(),
    };
    let optional = get("optional").map(|n| boolean(n, "optional")).transpose()?.unwrap_or(false);
    let coverage = get("coverage").map(|n| boolean(n, "coverage")).transpose()?.unwrap_or(true);
    let cases_node = get("cases").or_else(|| get("tests")).ok_or_else(|| at(&root, "`cases` is required"))?;
    let seq = cases_node.as_sequence().ok_or_else(|| at(cases_node, "`cases` is a list"))?;
    let mut cases = Vec::with_capacity(seq.len());
    for (i, c) in seq.iter().enumerate() {
        cases.push(case(c, i, &dir)?);
    }
    Ok(TestFile { name, policies, host, optional, coverage, cases })
}

fn known_keys(n: &Node, keys: &[&str]) -> R<()> {
    let Some(map) = n.as_mapping() else { return Ok(()) };
    for k in map.keys() {
        if !keys.contains(&k.as_str()) {
            let hint = secl::eval::suggest::closest(k.as_str(), keys.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "line {}: unknown key `{}`{hint}",
                k.span().start().map_or(0, |m| m.line()),
                k.as_str()
            ));
        }
    }
    Ok(())
}

const EXPECT_KEYS: [&str; 4] = ["expect", "expect_match", "expect_no_match", "expect_actions"];

fn case(n: &Node, index: usize, dir: &Path) -> R<Case> {
    let map = n.as_mapping().ok_or_else(|| at(n, "a case is a mapping"))?;
    let mut keys = vec!["name", "event", "event_file", "events", "events_file", "todo", "skip", "description"];
    keys.extend(EXPECT_KEYS);
    known_keys(n, &keys)?;
    let name = match map.get_node("name") {
        Some(v) => string(v, "name")?,
        None => format!("case {}", index + 1),
    };
    let sources: Vec<&str> =
        ["event", "event_file", "events", "events_file"].into_iter().filter(|k| map.get_node(k).is_some()).collect();
    if sources.len() != 1 {
        return Err(at(
            n,
            format!("case `{name}`: give exactly one of `event`, `event_file`, `events`, `events_file`"),
        ));
    }
    let mut steps = Vec::new();
    match sources[0] {
        "event" => steps.push(inline_step(map.get_node("event").unwrap_or(n), Expect::default())?),
        "event_file" => steps.extend(file_steps(map.get_node("event_file").unwrap_or(n), dir)?),
        "events_file" => steps.extend(file_steps(map.get_node("events_file").unwrap_or(n), dir)?),
        _ => {
            let events = map.get_node("events").unwrap_or(n);
            let seq = events.as_sequence().ok_or_else(|| at(events, "`events` is a list"))?;
            for item in seq.iter() {
                steps.extend(sequence_item(item, dir)?);
            }
        }
    }
    if steps.is_empty() {
        return Err(at(n, format!("case `{name}` has no events")));
    }
    let expect = expectations(n)?;
    if expect.is_empty() && steps.iter().all(|s| s.expect.is_empty()) {
        return Err(at(
            n,
            format!(
                "case `{name}` expects nothing: add `expect`, `expect_match`, `expect_no_match` or `expect_actions`"
            ),
        ));
    }
    let reason = |k: &str| -> R<Option<String>> {
        Ok(match map.get_node(k) {
            None => None,
            Some(Node::Scalar(s)) if s.may_coerce() && s.as_bool() == Some(false) => None,
            Some(Node::Scalar(s)) if s.may_coerce() && s.as_bool() == Some(true) => Some(String::new()),
            Some(v) => Some(string(v, k)?),
        })
    };
    Ok(Case { name, line: line_of(n), steps, expect, todo: reason("todo")?, skip: reason("skip")? })
}

/// One element of `events:`: a bare event, or a step (`event`/`event_file` with its own
/// expectations).
fn sequence_item(n: &Node, dir: &Path) -> R<Vec<Step>> {
    let map = n.as_mapping().ok_or_else(|| at(n, "an element of `events` is a mapping"))?;
    let is_step = ["event", "event_file"].iter().any(|k| map.get_node(k).is_some());
    if !is_step {
        return Ok(vec![inline_step(n, Expect::default())?]);
    }
    let mut keys = vec!["event", "event_file", "name"];
    keys.extend(EXPECT_KEYS);
    known_keys(n, &keys)?;
    let expect = expectations(n)?;
    match (map.get_node("event"), map.get_node("event_file")) {
        (Some(e), None) => Ok(vec![inline_step(e, expect)?]),
        (None, Some(f)) => {
            let mut steps = file_steps(f, dir)?;
            if let Some(last) = steps.last_mut() {
                last.expect = expect;
            }
            Ok(steps)
        }
        _ => Err(at(n, "give one of `event` and `event_file`")),
    }
}

fn inline_step(n: &Node, expect: Expect) -> R<Step> {
    let json = to_json(n);
    let event = JsonEvent::from_json(&json).map_err(|e| at(n, format!("invalid event: {e}")))?;
    Ok(Step { event, origin: format!("line {}", line_of(n)), expect })
}

fn file_steps(n: &Node, dir: &Path) -> R<Vec<Step>> {
    let rel = string(n, "event_file")?;
    let path = normalize(&dir.join(&rel));
    let text = std::fs::read_to_string(&path).map_err(|e| at(n, format!("{}: {e}", path.display())))?;
    let shown = path.display().to_string();
    // One JSON document (Datadog's pretty-printed eval files), or JSON lines.
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        let event = JsonEvent::from_json(&v).map_err(|e| at(n, format!("{shown}: {e}")))?;
        return Ok(vec![Step { event, origin: shown, expect: Expect::default() }]);
    }
    let mut steps = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = JsonEvent::from_str(line).map_err(|e| at(n, format!("{shown}:{}: {e}", i + 1)))?;
        steps.push(Step { event, origin: format!("{shown}:{}", i + 1), expect: Expect::default() });
    }
    Ok(steps)
}

fn expectations(n: &Node) -> R<Expect> {
    let Some(map) = n.as_mapping() else { return Ok(Expect::default()) };
    let list = |k: &str| map.get_node(k).map(|v| strings(v, k)).transpose();
    let mut e = Expect {
        exact: list("expect")?,
        matched: list("expect_match")?.unwrap_or_default(),
        not_matched: list("expect_no_match")?.unwrap_or_default(),
        actions: Vec::new(),
    };
    if let Some(a) = map.get_node("expect_actions") {
        let seq = a.as_sequence().ok_or_else(|| at(a, "`expect_actions` is a list of mappings"))?;
        for item in seq.iter() {
            let Value::Object(obj) = to_json(item) else {
                return Err(at(
                    item,
                    "an expected action is a mapping such as `{rule: r, type: kill, signal: SIGKILL}`",
                ));
            };
            let mut want = Map::new();
            for (k, v) in obj {
                match k.as_str() {
                    "rule" | "rule_id" => {
                        want.insert("rule_id".into(), Value::String(scalar_text(&v)));
                    }
                    "action" | "type" => {
                        want.insert("type".into(), Value::String(scalar_text(&v)));
                    }
                    // Shorthands: `kill: SIGKILL`, `set: var_name`.
                    "kill" => {
                        want.insert("type".into(), "kill".into());
                        want.insert("signal".into(), Value::String(scalar_text(&v)));
                    }
                    "set" => {
                        want.insert("type".into(), "set".into());
                        want.insert("variable".into(), Value::String(scalar_text(&v)));
                    }
                    _ => {
                        want.insert(k, v);
                    }
                }
            }
            e.actions.push(want);
        }
    }
    Ok(e)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn host(n: &Node) -> R<Host> {
    known_keys(n, &["agent_version", "os", "kernel_version"])?;
    let map = n.as_mapping().ok_or_else(|| at(n, "`host` is a mapping"))?;
    let mut host = Host::default();
    if let Some(v) = map.get_node("agent_version") {
        let text = string(v, "agent_version")?;
        host.agent_version =
            Version::parse(&text).map_err(|e| at(v, format!("invalid agent_version `{text}`: {e}")))?;
    }
    if let Some(v) = map.get_node("os") {
        let os = string(v, "os")?;
        if os != "linux" && os != "windows" {
            return Err(at(v, format!("invalid os `{os}`: use linux or windows")));
        }
        host.os = os;
    }
    if let Some(v) = map.get_node("kernel_version") {
        let text = string(v, "kernel_version")?;
        host.kernel = parse_kernel_version(&text).ok_or_else(|| at(v, format!("invalid kernel_version `{text}`")))?;
    }
    Ok(host)
}

fn string(n: &Node, key: &str) -> R<String> {
    match n {
        Node::Scalar(s) => Ok(s.as_str().to_owned()),
        _ => Err(at(n, format!("`{key}` is a string"))),
    }
}

fn boolean(n: &Node, key: &str) -> R<bool> {
    n.as_scalar().and_then(MarkedScalarNode::as_bool).ok_or_else(|| at(n, format!("`{key}` is true or false")))
}

/// A string or a list of strings.
fn strings(n: &Node, key: &str) -> R<Vec<String>> {
    match n {
        Node::Scalar(s) if s.as_str().is_empty() && s.may_coerce() => Ok(Vec::new()),
        Node::Scalar(s) => Ok(vec![s.as_str().to_owned()]),
        Node::Sequence(seq) => seq.iter().map(|i| string(i, key)).collect(),
        Node::Mapping(_) => Err(at(n, format!("`{key}` is a list of rule ids"))),
    }
}

/// YAML as JSON, plain scalars typed by the YAML 1.2 core schema (quoted ones stay
/// strings).
pub fn to_json(n: &Node) -> Value {
    match n {
        Node::Scalar(s) => scalar(s),
        Node::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(map) => Value::Object(map.iter().map(|(k, v)| (k.as_str().to_owned(), to_json(v))).collect()),
    }
}

fn scalar(s: &MarkedScalarNode) -> Value {
    let text = s.as_str();
    if !s.may_coerce() {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let (sign, digits) = match text.strip_prefix('-') {
        Some(d) => (-1i128, d),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let int = if let Some(h) = digits.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i128>().ok()
    } else {
        None
    };
    if let Some(i) = int.map(|i| i * sign) {
        if let Ok(v) = i64::try_from(i) {
            return Value::from(v);
        }
        if let Ok(v) = u64::try_from(i) {
            return Value::from(v);
        }
    }
    let looks_float = text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_float && let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Test files under `paths`: `*.test.yaml` found recursively in directories (sorted),
/// files given by name whatever their name.
pub fn discover(paths: &[String]) -> R<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let path = PathBuf::from(p);
        let meta = std::fs::metadata(&path).map_err(|e| format!("{p}: {e}"))?;
        if meta.is_dir() {
            walk(&path, &mut out)?;
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> R<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.yaml")) {
            out.push(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_cases_steps_and_expectations() {
        let text = r#"
policies: [p.policy, ../shared]
host: {agent_version: 7.70.0, kernel_version: 5.15.0}
cases:
  - name: one
    event: {type: exec, values: {exec.file.path: /usr/bin/nc, process.pid: 7, exec.argv: ["-l", "4444"]}}
    expect: [nc]
    expect_actions: [{rule: nc, kill: SIGKILL}]
  - events:
      - {type: dns, values: {dns.question.name: "c3pool.com"}, timestamp: 10}
      - event: {type: connect, values: {connect.addr.port: 3333}}
        expect_match: pool
    todo: not yet
"#;
        let f = decode(Path::new("dir/x.test.yaml"), text).unwrap();
        assert_eq!(f.policies, vec![PathBuf::from("dir/p.policy"), PathBuf::from("shared")]);
        assert_eq!(f.host.kernel, (5, 15, 0));
        assert_eq!(f.cases.len(), 2);
        assert_eq!(f.cases[0].expect.exact, Some(vec!["nc".to_owned()]));
        assert_eq!(f.cases[0].expect.actions[0]["signal"], "SIGKILL");
        assert_eq!(f.cases[1].name, "case 2");
        assert_eq!(f.cases[1].steps.len(), 2);
        assert_eq!(f.cases[1].steps[1].expect.matched, vec!["pool".to_owned()]);
        assert_eq!(f.cases[1].todo.as_deref(), Some("not yet"));
        assert_eq!(f.cases[1].steps[0].event.timestamp_ns(), Some(10));
    }

    #[test]
    fn reports_mistakes_with_lines() {
        let e = decode(Path::new("x.test.yaml"), "policies: [p]\ncases:\n  - name: a\n    evnt: {}\n")
            .err()
            .expect("an error");
        assert!(e.contains("line 4: unknown key `evnt` (did you mean `event`?)"), "{e}");
        let e = decode(Path::new("x.test.yaml"), "policies: [p]\ncases:\n  - event: {type: exec}\n")
            .err()
            .expect("an error");
        assert!(e.contains("expects nothing"), "{e}");
        let e = decode(Path::new("x.test.yaml"), "policies: [p]\ncases:\n  - event: {type: exce}\n    expect: []\n")
            .err()
            .expect("an error");
        assert!(e.contains("unknown event type `exce`"), "{e}");
    }

    #[test]
    fn yaml_scalars_are_typed() {
        let text = "a: 1\nb: '1'\nc: true\nd: 0x10\ne: -3\nf: x\ng: 1.5\nh:\ni: [\"2\", 2]\n";
        let options = marked_yaml::LoaderOptions::default().prevent_coercion(true);
        let n = marked_yaml::parse_yaml_with_options(0, text, options).unwrap();
        let v = to_json(&n);
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": 16, "e": -3, "f": "x", "g": 1.5, "h": null, "i": ["2", 2]})
        );
    }

    use secl::eval::event::Event;
}
