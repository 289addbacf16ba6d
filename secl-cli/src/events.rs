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

/// What [`stream`] hands its callback for each event.
pub struct Streamed<'a> {
    /// 0-based among the events (blank and invalid lines are not counted).
    pub index: usize,
    /// The line as read, trimmed: one JSON object.
    pub line: &'a str,
    pub event: JsonEvent,
}

/// Streams JSONL events from a reader (for `replay` on a pipe), calling `f` for each.
/// An invalid line goes to `bad` (with its 1-based number) and the stream goes on;
/// `idle` runs whenever nothing is left in the read buffer, before a read that may wait
/// for the writer: the moment to flush output. Returns the number of events.
pub fn stream<R: Read>(
    mut reader: std::io::BufReader<R>,
    mut f: impl FnMut(Streamed<'_>) -> Result<(), String>,
    mut bad: impl FnMut(usize, String),
    mut idle: impl FnMut() -> Result<(), String>,
) -> Result<usize, String> {
    let mut n = 0;
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(|e| format!("read error: {e}"))? == 0 {
            return Ok(n);
        }
        line_no += 1;
        match std::str::from_utf8(&buf).map(str::trim) {
            Err(_) => bad(line_no, "not UTF-8".into()),
            Ok("") => {}
            Ok(line) => match JsonEvent::from_str(line) {
                Ok(event) => {
                    f(Streamed { index: n, line, event })?;
                    n += 1;
                }
                Err(e) => bad(line_no, e.to_string()),
            },
        }
        if reader.buffer().is_empty() {
            idle()?;
        }
    }
}
