//! Turning policy text into a marked YAML tree without letting hostile input hurt us.
//!
//! `marked-yaml` rejects anchors and aliases outright, so alias-expansion bombs cannot
//! happen. What it does not bound is nesting (its parser recurses once per level, so a deep
//! document overflows the stack) and node count (about 190 bytes of memory per node). Both
//! are bounded here with a cheap pre-scan before the parser sees the text.

use crate::diagnostics::{Code, Diagnostic, SourceFile, codes};
use crate::span::{Span, line_col};
use marked_yaml::{LoadError, LoaderOptions, Marker, Node};
use std::sync::Arc;

/// Width of the indentation-and-indicator prefix of a line (`    - - ? `) past which the
/// document is refused. Block nesting can only grow with that width, and flow nesting is
/// capped at 255 by the scanner, so this bounds the parser's recursion.
pub const MAX_LINE_INDENT: usize = 256;

/// Structural indicator characters (`, - : ? [ {`) past which the document is refused.
/// Every node needs one of them nearby, so this bounds the node count (and memory) well
/// above any real policy: the 226 KB default policy has about 10 000.
pub const MAX_INDICATORS: usize = 1_000_000;

/// Byte offsets of YAML markers.
///
/// Markers carry a character index, a line and a column; the index drifts after some
/// folded block scalars (a scanner bug), so positions are computed from line and column.
/// Every lookup is O(1) amortised: a document that is one long line with many nodes must
/// not cost a scan of the line per node.
pub(crate) struct LineIndex {
    /// Per line, with `\n`, `\r\n` and a lone `\r` as breaks as the scanner counts them:
    /// the byte offset of its start, of its end (before the break) and the character
    /// index of its start.
    lines: Vec<(u32, u32, u32)>,
    /// Byte offset of every `STEP`-th character.
    checkpoints: Vec<u32>,
    base: usize,
}

const STEP: usize = 64;

impl LineIndex {
    fn new(text: &str, base: usize) -> LineIndex {
        let b = text.as_bytes();
        let mut lines = Vec::new();
        let mut checkpoints = Vec::new();
        let (mut line_start, mut line_char) = (0usize, 0usize);
        let mut chars = 0usize;
        let mut i = 0;
        while i < b.len() {
            let is_char_start = b[i] & 0xC0 != 0x80;
            if is_char_start {
                if chars.is_multiple_of(STEP) {
                    checkpoints.push((base + i) as u32);
                }
                chars += 1;
            }
            let brk = match b[i] {
                b'\r' if b.get(i + 1) == Some(&b'\n') => 2,
                b'\n' | b'\r' => 1,
                _ => 0,
            };
            if brk > 0 {
                lines.push(((base + line_start) as u32, (base + i) as u32, line_char as u32));
                if brk == 2 {
                    if chars.is_multiple_of(STEP) {
                        checkpoints.push((base + i + 1) as u32);
                    }
                    chars += 1;
                }
                i += brk;
                line_start = i;
                line_char = chars;
            } else {
                i += 1;
            }
        }
        lines.push(((base + line_start) as u32, (base + b.len()) as u32, line_char as u32));
        LineIndex { lines, checkpoints, base }
    }

    /// Byte offset in the whole source text of the marker's character.
    pub(crate) fn byte(&self, src: &str, marker: &Marker) -> usize {
        let Some(&(start, end, first_char)) = self.lines.get(marker.line().saturating_sub(1)) else {
            return src.len();
        };
        let ch = first_char as usize + marker.column().saturating_sub(1);
        let Some(&cp) = self.checkpoints.get(ch / STEP) else {
            return end as usize;
        };
        let cp = cp as usize;
        let at = src[cp..].char_indices().nth(ch % STEP).map_or(src.len(), |(b, _)| cp + b);
        at.clamp(start as usize, end as usize)
    }

    pub(crate) fn base(&self) -> usize {
        self.base
    }
}

/// The parsed tree, or the diagnostic that stops the whole file.
pub(crate) fn load(source: &Arc<SourceFile>) -> Result<(Node, LineIndex), Box<Diagnostic>> {
    let full = source.text.as_str();
    // The scanner would read a byte-order mark as part of the first key.
    let base = if full.starts_with('\u{feff}') { 3 } else { 0 };
    let text = &full[base..];
    prescan(source, text, base)?;
    let options = LoaderOptions::default().prevent_coercion(true).error_on_duplicate_keys(true);
    // The parser is a dependency we do not control; a panic in it must become a
    // diagnostic, not take down the caller (the input is untrusted).
    let parsed = std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, text, options));
    let index = LineIndex::new(text, base);
    match parsed {
        Ok(Ok(node)) => Ok((node, index)),
        Ok(Err(e)) => Err(Box::new(load_error(source, &index, &e))),
        Err(_) => Err(Box::new(
            Diagnostic::error(codes::YAML, "the YAML parser failed on this file").with_source(source.clone()),
        )),
    }
}

fn prescan(source: &Arc<SourceFile>, text: &str, base: usize) -> Result<(), Box<Diagnostic>> {
    let indicators = text.bytes().filter(|b| matches!(b, b',' | b'-' | b':' | b'?' | b'[' | b'{')).count();
    if indicators > MAX_INDICATORS {
        return Err(Box::new(
            Diagnostic::error(
                codes::TOO_LARGE,
                format!("the policy has too many YAML nodes (more than {MAX_INDICATORS} structural indicators)"),
            )
            .with_source(source.clone()),
        ));
    }
    let mut line_start = 0;
    for line in text.split(['\n', '\r']) {
        let width = indent_width(line);
        if width > MAX_LINE_INDENT {
            let at = base + line_start;
            return Err(Box::new(
                Diagnostic::error(
                    codes::TOO_DEEP,
                    format!("YAML nesting too deep: indentation deeper than {MAX_LINE_INDENT} columns"),
                )
                .with_label(Span::new(at, at + width), "indented too deep")
                .with_source(source.clone()),
            ));
        }
        line_start += line.len() + 1;
    }
    Ok(())
}

/// Length of the leading run of blanks, block indicators (`- `, `? `, `: `), anchors and
/// tags: the column at which a block collection on this line can start at the latest.
fn indent_width(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'-' | b'?' | b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\t')) => i += 1,
            b'&' | b'!' => {
                while i < b.len() && !matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}

fn load_error(source: &Arc<SourceFile>, index: &LineIndex, e: &LoadError) -> Diagnostic {
    let src = source.text.as_str();
    let at = |m: &Marker| {
        let b = index.byte(src, m);
        let end = src[b..].chars().next().map_or(b, |c| b + c.len_utf8());
        Span::new(b, end)
    };
    let (code, message, span, label): (Code, String, Option<Span>, &str) = match e {
        LoadError::TopLevelMustBeMapping(m) | LoadError::TopLevelMustBeSequence(m) => (
            codes::YAML,
            "a policy must be a YAML mapping (with `rules:`, `macros:`, ...)".into(),
            Some(at(m)),
            "expected a mapping here",
        ),
        LoadError::UnexpectedAnchor(m) => {
            // The marker is on the anchored node; point at the `&name` before it.
            let node = at(m);
            let line_start = src[..node.start as usize].rfind(['\n', '\r']).map_or(0, |p| p + 1);
            let span = src[line_start..node.start as usize].rfind('&').map_or(node, |a| {
                let a = line_start + a;
                let end = src[a..].find([' ', '\t', '\n', '\r']).map_or(src.len(), |e| a + e);
                Span::new(a, end)
            });
            (codes::YAML, "YAML anchors and aliases are not supported in policy files".into(), Some(span), "anchor")
        }
        LoadError::MappingKeyMustBeScalar(m) => {
            (codes::YAML, "mapping keys must be plain strings".into(), Some(at(m)), "complex key")
        }
        LoadError::UnexpectedTag(m) => {
            (codes::YAML, "YAML tags are not supported in policy files".into(), Some(at(m)), "tag")
        }
        LoadError::ScanError(m, se) => (codes::YAML, format!("invalid YAML: {}", se.info()), Some(at(m)), "here"),
        LoadError::DuplicateKey(inner) => {
            let first = inner.prev_key.span().start().map(|m| index.byte(src, m));
            let first = first.map(|b| line_col(src, b));
            let msg = match first {
                Some((l, c)) => {
                    format!("mapping key `{}` already defined at line {l}, column {c}", inner.key.as_str())
                }
                None => format!("mapping key `{}` already defined", inner.key.as_str()),
            };
            let span = inner.key.span().start().map(|m| {
                let b = index.byte(src, m);
                // The decoded key can be longer than its source (escapes), so stay inside
                // the text and on a character boundary.
                let mut end = (b + inner.key.as_str().len()).min(src.len());
                while !src.is_char_boundary(end) {
                    end -= 1;
                }
                Span::new(b, end)
            });
            (codes::YAML, msg, span, "duplicate key")
        }
    };
    let mut d = Diagnostic::error(code, message).with_source(source.clone());
    if let Some(span) = span {
        d = d.with_label(span, label);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_maps_line_and_column() {
        let text = "ab\r\né\rx\n\nyé".to_string() + &"z".repeat(200) + "\n";
        let idx = LineIndex::new(&text, 0);
        let at = |line, col| idx.byte(&text, &Marker::new(0, 0, line, col));
        assert_eq!(at(1, 2), 1);
        assert_eq!(at(1, 9), 2, "clamped to the line end");
        assert_eq!(at(2, 1), 4);
        assert_eq!(at(3, 1), 7);
        assert_eq!(at(4, 1), 9);
        assert_eq!(at(5, 2), 11);
        assert_eq!(at(5, 150), 13 + 147);
        assert_eq!(at(6, 1), text.len());
        assert_eq!(at(9, 1), text.len());
    }

    #[test]
    fn indent_width_counts_indicators() {
        assert_eq!(indent_width("  - - a: b"), 6);
        assert_eq!(indent_width("- &x !t - y"), 10);
        assert_eq!(indent_width("-a"), 0);
        assert_eq!(indent_width("key: - x"), 0);
    }
}
