//! One renderer per output format. Each returns text or a JSON value; none prints.

use super::{Diagnostic, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{Value, json};

/// Adapter so miette can draw our diagnostic with its source and carets.
struct MietteView<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
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

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.diag.labels.is_empty() {
            return None;
        }
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let len = self.source.as_ref().map_or(0, |s| s.inner().len());
        Some(Box::new(self.diag.labels.iter().enumerate().map(move |(i, l)| {
            let start = (l.span.start as usize).min(len);
            let end = (l.span.end as usize).clamp(start, len);
            let span = SourceSpan::from(start..end);
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if i == 0 { LabeledSpan::new_primary_with_span(text, span) } else { LabeledSpan::new_with_span(text, span) }
        })))
    }
}

/// The human format: miette's graphical report with the file, line and column, the
/// source line and a caret. `color` selects ANSI colours; without it the output is plain
/// ASCII and stable (used by golden snapshots).
pub fn render_human(diag: &Diagnostic, color: bool) -> String {
    let view =
        MietteView { diag, source: diag.source.as_ref().map(|s| NamedSource::new(s.name.clone(), s.text.clone())) };
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &view).is_err() {
        out = format!("{}: {}", diag.code, diag.message);
    }
    if diag.labels.is_empty() {
        if let Some(src) = &diag.source {
            out.push_str(&format!("  in {}\n", src.name));
        }
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
