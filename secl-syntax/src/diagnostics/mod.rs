//! The one home of diagnostics: every error and warning any stage reports is a
//! [`Diagnostic`] with a stable [`Code`]. Renderers (one per output format) live in the
//! submodules and only turn diagnostics into text; they never print.

pub mod codes;
mod render;

pub use codes::Code;
pub use render::{render_github, render_human, render_json_value, render_sarif};

use crate::span::Span;
use serde::Serialize;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A named source text (a policy file, or an expression given on the command line).
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offsets of line starts, built on first use: positions of hundreds of rules in
    /// a large policy are then found by binary search instead of rescanning the file.
    line_starts: std::sync::OnceLock<Vec<u32>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile { name: name.into(), text: text.into(), line_starts: std::sync::OnceLock::new() })
    }

    /// 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i as u32 + 1))
                .collect()
        });
        let offset = offset.min(self.text.len());
        let line = starts.partition_point(|&s| s as usize <= offset);
        let start = starts[line.saturating_sub(1)] as usize;
        let col = String::from_utf8_lossy(&self.text.as_bytes()[start..offset]).chars().count() + 1;
        (line, col)
    }
}

/// A secondary or primary label: a span of the source with a short text under the caret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// The file the spans point into; `None` for diagnostics with no source (a usage error).
    pub source: Option<Arc<SourceFile>>,
    /// The rule or macro the diagnostic belongs to; `None` for policy-level problems.
    pub rule_id: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            source: None,
            rule_id: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, text: text.into() });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_source(mut self, source: Arc<SourceFile>) -> Diagnostic {
        self.source = Some(source);
        self
    }

    pub fn with_rule_id(mut self, id: impl Into<String>) -> Diagnostic {
        self.rule_id = Some(id.into());
        self
    }

    /// Re-anchor every label: spans computed relative to an embedded text (an expression
    /// inside a YAML scalar) are mapped to spans of the enclosing file by `map`.
    pub fn map_spans(mut self, map: impl Fn(Span) -> Span) -> Diagnostic {
        for l in &mut self.labels {
            l.span = map(l.span);
        }
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    /// 1-based line and column of the primary label in its source.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let src = self.source.as_ref()?;
        let span = self.primary_span()?;
        Some(src.line_col(span.start as usize))
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::SourceFile;
    use crate::span::line_col;

    #[test]
    fn indexed_line_col_agrees_with_the_scan() {
        let text = "ab\ncdé\n\nx\n";
        let f = SourceFile::new("t", text);
        for off in 0..=text.len() + 2 {
            if off <= text.len() && !text.is_char_boundary(off) {
                continue;
            }
            assert_eq!(f.line_col(off), line_col(text, off), "offset {off}");
        }
    }
}
