//! Reading events: one JSON document, a JSONL stream, or `-` for stdin.

use secl::eval::json_event::JsonEvent;
use std::io::Read;

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

/// A run of whole lines of a JSONL stream, read together, then their events once parsed
/// ([`LineReader`] fills it, [`Batch::parse`] parses it). Batches are reused: a batch
/// keeps its buffers, and its previous events until the next [`Batch::parse`].
#[derive(Default)]
pub struct Batch {
    /// `buf[..len]` holds whole lines (the last one may lack its `\n` at the end of the
    /// input); the rest is room for the next read.
    buf: Vec<u8>,
    len: usize,
    /// How many lines the batch holds, blank and invalid ones included.
    pub lines: usize,
    /// The events and invalid lines, in input order.
    pub items: Vec<Item>,
    /// Emptied items, reused by the next parse.
    spare: Vec<Item>,
    /// The input failed after the lines of this batch: the stream ends with this error.
    pub error: Option<String>,
}

pub enum Item {
    /// `line` is the event's text, trimmed: a range of [`Batch::text`] (see [`line_text`]).
    Event { line: std::ops::Range<usize>, event: JsonEvent },
    /// `line` is 0-based within the batch.
    Invalid { line: usize, error: String },
}

impl Batch {
    /// The text of the batch's lines.
    pub fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Parses the batch's lines into [`Batch::items`], dropping the previous ones.
    pub fn parse(&mut self) {
        // The previous events are dropped one at a time, each just before a new one is
        // made: a dropped `JsonEvent` gives its buffers to this thread's pool and the next
        // one takes them back, as when one thread reads, evaluates and drops each event.
        let mut old = std::mem::replace(&mut self.items, std::mem::take(&mut self.spare));
        let text = &self.buf[..self.len];
        let mut n = 0;
        for line in lines(text) {
            drop(old.pop());
            self.items.extend(item(text, n, line));
            n += 1;
        }
        old.clear();
        self.spare = old;
        self.lines = n;
    }

    /// Parses the batch's lines one at a time, handing each event or invalid line to `f`
    /// (with the batch's text) as soon as it is made, and dropping it before the next.
    pub fn parse_each<E>(&mut self, mut f: impl FnMut(&[u8], &Item) -> Result<(), E>) -> Result<(), E> {
        self.items.clear();
        let text = &self.buf[..self.len];
        let mut n = 0;
        for line in lines(text) {
            if let Some(item) = item(text, n, line) {
                f(text, &item)?;
            }
            n += 1;
        }
        self.lines = n;
        Ok(())
    }
}

/// The text of an event's line: `line` from [`Item::Event`] (valid UTF-8: it was parsed).
pub fn line_text(text: &[u8], line: std::ops::Range<usize>) -> &str {
    std::str::from_utf8(&text[line]).unwrap_or_default()
}

/// What line `n` of `text` holds: an event, an invalid line, or nothing (a blank line).
fn item(text: &[u8], n: usize, line: Result<&str, std::str::Utf8Error>) -> Option<Item> {
    match line.map(str::trim) {
        Err(_) => Some(Item::Invalid { line: n, error: "not UTF-8".into() }),
        Ok("") => None,
        Ok(line) => Some(match JsonEvent::from_str(line) {
            Ok(event) => {
                let start = line.as_ptr() as usize - text.as_ptr() as usize;
                Item::Event { line: start..start + line.len(), event }
            }
            Err(e) => Item::Invalid { line: n, error: e.to_string() },
        }),
    }
}

/// The lines of `text` (without their `\n`), as `BufRead::read_until` would cut them: an
/// unterminated last line counts, nothing after a final `\n` does.
fn lines(text: &[u8]) -> impl Iterator<Item = Result<&str, std::str::Utf8Error>> {
    let valid = std::str::from_utf8(text).ok();
    // The common case: one validation, and `split` finds newlines with `memchr`.
    let fast = valid.map(|text| text.split_terminator('\n').map(Ok));
    let slow = match valid {
        Some(_) => None,
        None => Some(text.strip_suffix(b"\n").unwrap_or(text).split(|&b| b == b'\n').map(std::str::from_utf8)),
    };
    fast.into_iter().flatten().chain(slow.into_iter().flatten())
}

/// Cuts a JSONL stream into [`Batch`]es of whole lines.
pub struct LineReader<R> {
    input: R,
    /// An incomplete last line, carried over to the next batch.
    carry: Vec<u8>,
    read_size: usize,
    done: bool,
}

impl<R: Read> LineReader<R> {
    /// `read_size`: how much one read asks for, so the most a batch holds (besides a
    /// line longer than that).
    pub fn new(input: R, read_size: usize) -> LineReader<R> {
        LineReader { input, carry: Vec::new(), read_size: read_size.max(1), done: false }
    }

    /// Fills `batch` with the lines of the next read: the whole lines it completes (reading
    /// on only while no line is complete), so a batch never waits for data the writer has
    /// not sent; the next read is the one that may wait. A read error gives a batch with
    /// no lines and the error. False at the end of the input.
    pub fn next(&mut self, batch: &mut Batch) -> bool {
        if self.done {
            return false;
        }
        batch.error = None;
        batch.lines = 0;
        batch.len = 0;
        let carried = self.carry.len();
        Self::reserve(batch, carried);
        batch.buf[..carried].copy_from_slice(&self.carry);
        batch.len = carried;
        self.carry.clear();
        loop {
            let from = batch.len;
            Self::reserve(batch, from + self.read_size);
            let n = match self.input.read(&mut batch.buf[from..from + self.read_size]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // What was read of an incomplete line is dropped, as `read_until` does.
                    batch.len = 0;
                    batch.error = Some(format!("read error: {e}"));
                    self.done = true;
                    return true;
                }
            };
            batch.len += n;
            if n == 0 {
                self.done = true;
                return batch.len > 0;
            }
            if let Some(i) = batch.buf[from..batch.len].iter().rposition(|&b| b == b'\n') {
                let end = from + i + 1;
                self.carry.extend_from_slice(&batch.buf[end..batch.len]);
                batch.len = end;
                return true;
            }
        }
    }

    /// Makes `batch.buf` at least `len` bytes long (zeroed once: buffers are reused).
    fn reserve(batch: &mut Batch, len: usize) {
        if batch.buf.len() < len {
            batch.buf.resize(len, 0);
        }
    }
}
