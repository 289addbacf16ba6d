//! Reading events: one JSON document, a JSONL stream, or `-` for stdin.

use secl::eval::json_event::JsonEvent;
use std::io::{BufRead, Read};

/// Reads every event of `path` up front (for files and small inputs).
pub fn read_all(path: &str) -> Result<Vec<JsonEvent>, String> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    parse_all(&text, path)
}

pub fn parse_all(text: &str, name: &str) -> Result<Vec<JsonEvent>, String> {
    // One document (possibly pretty-printed, as Datadog's eval files are) or one per line.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return JsonEvent::from_json(&v).map(|e| vec![e]).map_err(|e| format!("{name}: {e}"));
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(JsonEvent::from_str(line).map_err(|e| format!("{name}:{}: {e}", i + 1))?);
    }
    Ok(out)
}

/// Streams JSONL events from a reader, calling `f` for each (for `replay` on a pipe).
pub fn stream(
    reader: impl BufRead,
    mut f: impl FnMut(usize, JsonEvent) -> Result<(), String>,
) -> Result<usize, String> {
    let mut n = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("read error: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let ev = JsonEvent::from_str(&line).map_err(|e| format!("line {}: {e}", i + 1))?;
        f(n, ev)?;
        n += 1;
    }
    Ok(n)
}
