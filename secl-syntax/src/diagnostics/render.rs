//! One renderer per output format. Each returns text or a JSON value; none prints.

use super::{Diagnostic, Severity};
use crate::span::line_col;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan,
    SpanContents,
};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Source lines longer than this (in bytes) are not drawn whole: the human format shows a
/// window of them around the primary label instead. Besides keeping the output readable,
/// this keeps every column miette formats far below the 65 535 its padding accepts.
const MAX_RENDER_LINE: usize = 1000;
/// Characters of a long line shown before the primary label, and in all.
const WINDOW_BEFORE: usize = 60;
const WINDOW_WIDTH: usize = 160;
const ELLIPSIS: &str = "…";

/// The source miette draws from: the whole file, or an excerpt of it (a window of a few
/// lines) that reports the line and column numbers of the file.
struct View<'a> {
    name: &'a str,
    text: Cow<'a, str>,
    /// 0-based line of the file the text starts at.
    first_line: usize,
    /// For an excerpt, per line: the offset in the excerpt of the first character kept
    /// from the file line, and that character's column in the file.
    cuts: Vec<(usize, usize)>,
}

impl SourceCode for View<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text = self.text.as_ref();
        let inner = text.read_span(span, context_lines_before, context_lines_after)?;
        let mut column = inner.column();
        // Only a label's own span (no context) names a column (miette counts it in bytes;
        // diagnostics count characters). A context read starts at a line start, and miette
        // relies on its column being 0 there.
        if context_lines_before == 0 && context_lines_after == 0 {
            let at = floor_boundary(text, span.offset());
            column = match self.cuts.get(inner.line()) {
                Some(&(kept, col)) => col + text.get(kept..at).map_or(0, |s| s.chars().count()),
                None => {
                    let start =
                        text.as_bytes()[..at].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |p| p + 1);
                    text[start..at].chars().count()
                }
            };
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_owned(),
            inner.data(),
            *inner.span(),
            self.first_line + inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

/// Adapter so miette can draw our diagnostic with its source and carets.
struct MietteView<'a> {
    diag: &'a Diagnostic,
    source: Option<View<'a>>,
    labels: Vec<LabeledSpan>,
}

impl std::fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diag.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.labels.is_empty() {
            return None;
        }
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn labeled(text: &str, span: std::ops::Range<usize>, primary: bool) -> LabeledSpan {
    let text = (!text.is_empty()).then(|| text.to_owned());
    let span = SourceSpan::from(span);
    if primary { LabeledSpan::new_primary_with_span(text, span) } else { LabeledSpan::new_with_span(text, span) }
}

fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Byte range of the line holding byte `at` (without its line break).
fn line_bounds(text: &str, at: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let start = b[..at].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let mut end = b[at..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| at + p);
    if end > start && b[end - 1] == b'\r' {
        end -= 1;
    }
    (start, end)
}

/// Whether the line holding byte `at`, or a line next to it (miette shows one line of
/// context on each side), is too long to draw whole.
fn long_line_near(text: &str, at: usize) -> bool {
    let (start, end) = line_bounds(text, at);
    let before = (start > 0).then(|| line_bounds(text, start - 1));
    let after = (end < text.len()).then(|| line_bounds(text, (end + 1).min(text.len())));
    [Some((start, end)), before, after].into_iter().flatten().any(|(s, e)| e - s > MAX_RENDER_LINE)
}

/// One line of an excerpt: the window of columns `lo..lo + WINDOW_WIDTH` of a file line.
struct Cut {
    /// Bytes of the file line kept.
    kept: std::ops::Range<usize>,
    /// Offset in the excerpt of the first kept byte.
    at: usize,
}

/// The human-format view of a diagnostic whose labels sit on very long lines: the primary
/// label's line and its neighbours, cut to a window of columns around the label. Labels
/// outside the window are returned apart, with their line and column in the file.
fn excerpt<'a>(diag: &'a Diagnostic, name: &'a str, text: &str) -> (View<'a>, Vec<LabeledSpan>, String) {
    let primary = diag.labels[0].span;
    let p = floor_boundary(text, primary.start as usize);
    let (ls, le) = line_bounds(text, p);
    let col = text[ls..p].chars().count();
    let lo = col.saturating_sub(WINDOW_BEFORE);
    let mut lines = Vec::new();
    if ls > 0 {
        lines.push(line_bounds(text, ls - 1));
    }
    let primary_index = lines.len();
    lines.push((ls, le));
    if le < text.len() {
        lines.push(line_bounds(text, (le + 1).min(text.len())));
    }
    let first_line = line_col(text, ls).0 - 1 - primary_index;
    let mut out = String::new();
    let mut cuts = Vec::new();
    let mut view_cuts = Vec::new();
    for (i, &(s, e)) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = &text[s..e];
        let mut chars = line.char_indices().map(|(b, _)| b).chain([line.len()]);
        let from = chars.nth(lo).unwrap_or(line.len());
        let to = chars.nth(WINDOW_WIDTH - 1).unwrap_or(line.len());
        if from > 0 {
            out.push_str(ELLIPSIS);
        }
        cuts.push(Cut { kept: s + from..s + to, at: out.len() });
        view_cuts.push((out.len(), line[..from].chars().count()));
        // A lone `\r` would be a line break to miette: keep the excerpt's lines its own.
        out.extend(line[from..to].chars().map(|c| if c == '\r' { ' ' } else { c }));
        if to < line.len() {
            out.push_str(ELLIPSIS);
        }
    }
    // A span maps into the excerpt when it starts inside a kept window; its end is cut to
    // the window.
    let map = |start: usize, end: usize| {
        cuts.iter().find(|c| c.kept.start <= start && start <= c.kept.end).map(|c| {
            let end = end.clamp(start, c.kept.end);
            c.at + (start - c.kept.start)..c.at + (end - c.kept.start)
        })
    };
    let mut labels = Vec::new();
    let mut elsewhere = String::new();
    for (i, l) in diag.labels.iter().enumerate() {
        let start = floor_boundary(text, l.span.start as usize);
        let end = floor_boundary(text, (l.span.end as usize).max(start));
        // The window is placed around the primary label, so it always maps.
        let start = if i == 0 { p } else { start };
        match map(start, end.max(start)) {
            Some(span) => labels.push(labeled(&l.text, span, i == 0)),
            None => {
                let (line, col) = line_col(text, start);
                let _ = writeln!(elsewhere, "  also at {name}:{line}:{col}: {}", l.text);
            }
        }
    }
    let (line, _) = line_col(text, ls);
    let _ = writeln!(
        elsewhere,
        "  note: line {line} is {} characters long; only columns {} to {} are shown",
        text[ls..le].chars().count(),
        lo + 1,
        lo + WINDOW_WIDTH
    );
    (View { name, text: Cow::Owned(out), first_line, cuts: view_cuts }, labels, elsewhere)
}

/// The human format: miette's graphical report with the file, line and column, the
/// source line and a caret. `color` selects ANSI colours; without it the output is plain
/// ASCII and stable (used by golden snapshots).
///
/// Labels on very long lines (a one-line 10 MB expression) are drawn on a window of the
/// line around the primary label, with the line and column of the file in the header.
pub fn render_human(diag: &Diagnostic, color: bool) -> String {
    let mut extra = String::new();
    let windowed = diag.source.as_ref().is_some_and(|src| {
        diag.labels.iter().any(|l| long_line_near(&src.text, floor_boundary(&src.text, l.span.start as usize)))
    });
    let (source, labels) = match &diag.source {
        None => (None, Vec::new()),
        Some(src) if windowed => {
            let (view, labels, notes) = excerpt(diag, &src.name, &src.text);
            extra = notes;
            (Some(view), labels)
        }
        Some(src) => {
            let text = src.text.as_str();
            let labels = diag
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let start = floor_boundary(text, l.span.start as usize);
                    let end = floor_boundary(text, (l.span.end as usize).max(start));
                    labeled(&l.text, start..end, i == 0)
                })
                .collect();
            let view = View { name: &src.name, text: Cow::Borrowed(text), first_line: 0, cuts: Vec::new() };
            (Some(view), labels)
        }
    };
    let view = MietteView { diag, source, labels };
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    // miette formats columns as padding widths, which panic past 65 535; the windowing
    // above keeps them small, and a rendering failure of any kind falls back to one line.
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.render_report(&mut out, &view)));
    if !matches!(rendered, Ok(Ok(()))) {
        out = plain_line(diag);
    }
    out.push_str(&extra);
    if diag.labels.is_empty()
        && let Some(src) = &diag.source
    {
        let _ = writeln!(out, "  in {}", src.name);
    }
    out
}

/// `file:line:col: code: message`, and the help on a line of its own.
fn plain_line(diag: &Diagnostic) -> String {
    let mut out = String::new();
    if let Some(src) = &diag.source {
        out.push_str(&src.name);
        if let Some((l, c)) = diag.line_col() {
            let _ = write!(out, ":{l}:{c}");
        }
        out.push_str(": ");
    }
    let _ = writeln!(out, "{}: {}", diag.code, diag.message);
    if let Some(h) = &diag.help {
        let _ = writeln!(out, "  help: {h}");
    }
    out
}

/// One diagnostic as the JSON object of `secl check --format json`.
pub fn render_json_value(diag: &Diagnostic) -> Value {
    let (line, column) = diag.line_col().map_or((Value::Null, Value::Null), |(l, c)| (json!(l), json!(c)));
    let mut v = json!({
        "code": diag.code.as_str(),
        "severity": diag.severity,
        "message": diag.message,
        "file": diag.source.as_ref().map(|s| s.name.clone()),
        "line": line,
        "column": column,
    });
    if let Some(id) = &diag.rule_id {
        v["rule_id"] = json!(id);
    }
    if let Some(h) = &diag.help {
        v["help"] = json!(h);
    }
    v
}

/// GitHub Actions workflow commands (`::error file=…,line=…,col=…::message`).
pub fn render_github(diag: &Diagnostic) -> String {
    let kind = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = Vec::new();
    if let Some(src) = &diag.source {
        props.push(format!("file={}", escape_property(&src.name)));
    }
    if let Some((l, c)) = diag.line_col() {
        props.push(format!("line={l}"));
        props.push(format!("col={c}"));
    }
    props.push(format!("title={}", escape_property(diag.code.as_str())));
    let mut msg = diag.message.clone();
    if let Some(h) = &diag.help {
        msg.push_str("\nhelp: ");
        msg.push_str(h);
    }
    format!("::{kind} {}::{}", props.join(","), escape_data(&msg))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A SARIF 2.1.0 log holding every diagnostic as a result.
pub fn render_sarif(diags: &[Diagnostic], tool_version: &str) -> Value {
    let mut rule_ids: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut r = json!({
                "ruleId": d.code.as_str(),
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": d.message },
            });
            if let Some(src) = &d.source {
                let mut region = json!({});
                if let Some((l, c)) = d.line_col() {
                    region = json!({ "startLine": l, "startColumn": c });
                }
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": src.name },
                        "region": region,
                    }
                }]);
            }
            if let Some(id) = &d.rule_id {
                r["properties"] = json!({ "secl_rule_id": id });
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "secl",
                "version": tool_version,
                "rules": rule_ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}
