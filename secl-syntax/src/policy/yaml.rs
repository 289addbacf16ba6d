//! Turning policy text into a marked YAML tree without letting hostile input hurt us.
//!
//! `marked-yaml` rejects anchors and aliases outright, so alias-expansion bombs cannot
//! happen. What it does not bound is nesting (its parser recurses once per level, so a deep
//! document overflows the stack) and node count (about 190 bytes of memory per node). Both
//! are bounded here with a cheap pre-scan before the parser sees the text: a tokenizer that
//! follows the scanner's rules for where tokens start and end (so that the content of
//! quoted, block and multi-line plain scalars is never taken for structure) and keeps the
//! scanner's stack of block indentation columns.

use crate::diagnostics::{Code, Diagnostic, SourceFile, codes};
use crate::span::{Span, line_col};
use marked_yaml::{LoadError, LoaderOptions, Marker, Node};
use std::sync::Arc;

/// Column (0-based, in characters) past which no block collection may start: a line whose
/// mapping key, `- ` or `? ` sits further right is refused. A nested block collection starts
/// on a strictly deeper column than its parent (an indentless sequence shares its mapping's),
/// and flow nesting is capped at 255 by the scanner, so this bounds the parser's recursion.
pub const MAX_LINE_INDENT: usize = 256;

/// Flow collections (`[`, `{`) nested deeper than this are refused; the scanner's own limit.
const MAX_FLOW_DEPTH: usize = 255;

/// Structural indicators (`- `, `? `, `: `, `,`, `[`, `{`, outside scalars) past which the
/// document is refused. Every node needs one of them nearby, so this bounds the node count
/// (and memory) well above any real policy: the 226 KB default policy has about 10 000.
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
    let limits = Limits { indent: MAX_LINE_INDENT, flow: MAX_FLOW_DEPTH, indicators: MAX_INDICATORS };
    let refusal = match PreScan::new(text, limits).run() {
        Ok(()) => return Ok(()),
        Err(r) => r,
    };
    let d = match refusal {
        Refusal::Indicators => Diagnostic::error(
            codes::TOO_LARGE,
            format!("the policy has too many YAML nodes (more than {MAX_INDICATORS} structural indicators)"),
        ),
        Refusal::Block { line, at } => Diagnostic::error(
            codes::TOO_DEEP,
            format!("YAML nesting too deep: indentation deeper than {MAX_LINE_INDENT} columns"),
        )
        .with_label(Span::new(base + line, base + at), "indented too deep"),
        Refusal::Flow { at } => Diagnostic::error(
            codes::TOO_DEEP,
            format!("YAML nesting too deep: more than {MAX_FLOW_DEPTH} nested flow collections"),
        )
        .with_label(Span::new(base + at, base + at + 1), "nested too deep"),
    };
    Err(Box::new(d.with_source(source.clone())))
}

#[derive(Clone, Copy, Debug)]
struct Limits {
    indent: usize,
    flow: usize,
    indicators: usize,
}

/// Why the pre-scan refused a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A block collection starting at byte `at`, too far right; `line` is its line's start.
    Block { line: usize, at: usize },
    /// The flow collection opened at byte `at` is nested too deep.
    Flow { at: usize },
    /// Too many structural indicators.
    Indicators,
}

/// A mapping key that may be followed by `:` (the scanner's "simple key").
#[derive(Clone, Copy, Debug)]
struct SimpleKey {
    pos: usize,
    col: usize,
    line: usize,
    line_start: usize,
}

/// The pre-scan: a tokenizer that follows `yaml-rust2`'s scanner as far as nesting goes.
///
/// It skips what the scanner reads as scalar content (quoted scalars, block scalars with
/// the content indentation the scanner computes, plain scalars continued on more indented
/// lines, comments) and tracks what makes the parser recurse: the stack of block
/// indentation columns, which grows only where a `- `, `? ` or `key:` opens a collection
/// on a deeper column, and the flow depth. Errors of the scanner are not reported (the
/// parser reports them); past one, the scanner stops, so what the pre-scan makes of the
/// rest cannot matter.
struct PreScan<'a> {
    b: &'a [u8],
    pos: usize,
    /// Column (in characters) of `pos`, its line number and the start of its line.
    col: usize,
    line: usize,
    line_start: usize,
    /// Column of the innermost block collection (-1 at the top), and the enclosing ones.
    indent: isize,
    indents: Vec<isize>,
    flow: usize,
    simple_key_allowed: bool,
    /// The possible simple key of the block context (flow ones never open a collection).
    key: Option<SimpleKey>,
    /// Where a `:` right after a JSON-like key (`"a":1`) is a value indicator in a flow.
    adjacent_value_at: usize,
    indicators: usize,
    limits: Limits,
}

fn is_blank(c: Option<u8>) -> bool {
    matches!(c, Some(b' ' | b'\t'))
}

fn is_break(c: Option<u8>) -> bool {
    matches!(c, Some(b'\n' | b'\r'))
}

fn is_blankz(c: Option<u8>) -> bool {
    matches!(c, None | Some(b' ' | b'\t' | b'\n' | b'\r'))
}

fn is_flow(c: Option<u8>) -> bool {
    matches!(c, Some(b',' | b'[' | b']' | b'{' | b'}'))
}

impl<'a> PreScan<'a> {
    fn new(text: &'a str, limits: Limits) -> PreScan<'a> {
        PreScan {
            b: text.as_bytes(),
            pos: 0,
            col: 0,
            line: 0,
            line_start: 0,
            indent: -1,
            indents: Vec::new(),
            flow: 0,
            simple_key_allowed: true,
            key: None,
            adjacent_value_at: usize::MAX,
            indicators: 0,
            limits,
        }
    }

    fn cur(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.b.get(self.pos + k).copied()
    }

    /// Moves past one byte that is not a line break.
    fn bump(&mut self) {
        if let Some(&c) = self.b.get(self.pos) {
            if c & 0xC0 != 0x80 {
                self.col += 1;
            }
            self.pos += 1;
        }
    }

    /// Moves past the line break at `pos` (`\r\n`, `\n` or `\r`).
    fn newline(&mut self) {
        self.pos += if self.cur() == Some(b'\r') && self.at(1) == Some(b'\n') { 2 } else { 1 };
        self.line += 1;
        self.col = 0;
        self.line_start = self.pos;
    }

    /// Moves to the next line break (or the end), leaving the column stale: a line break or
    /// the end of the text follows.
    fn skip_to_eol(&mut self) {
        let rest = &self.b[self.pos..];
        self.pos += rest.iter().position(|&c| c == b'\n' || c == b'\r').unwrap_or(rest.len());
    }

    fn at_document_marker(&self) -> bool {
        self.col == 0
            && (self.b[self.pos..].starts_with(b"---") || self.b[self.pos..].starts_with(b"..."))
            && is_blankz(self.at(3))
    }

    fn count(&mut self) -> Result<(), Refusal> {
        self.indicators += 1;
        if self.indicators > self.limits.indicators {
            return Err(Refusal::Indicators);
        }
        Ok(())
    }

    fn save_key(&mut self) {
        if self.flow == 0 && self.simple_key_allowed {
            self.key = Some(SimpleKey { pos: self.pos, col: self.col, line: self.line, line_start: self.line_start });
        }
    }

    fn remove_key(&mut self) {
        if self.flow == 0 {
            self.key = None;
        }
    }

    /// A block collection may start at column `col` (byte `at` of the line at `line`).
    fn roll(&mut self, col: usize, line: usize, at: usize) -> Result<(), Refusal> {
        if self.flow > 0 {
            return Ok(());
        }
        if col > self.limits.indent {
            return Err(Refusal::Block { line, at });
        }
        if self.indent < col as isize {
            self.indents.push(self.indent);
            self.indent = col as isize;
        }
        Ok(())
    }

    /// Closes the block collections deeper than `col`.
    fn unroll(&mut self, col: isize) {
        if self.flow > 0 {
            return;
        }
        while self.indent > col {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn skip_to_next_token(&mut self) {
        loop {
            match self.cur() {
                Some(b' ' | b'\t') => self.bump(),
                Some(b'\n' | b'\r') => {
                    self.newline();
                    if self.flow == 0 {
                        self.simple_key_allowed = true;
                    }
                }
                Some(b'#') => self.skip_to_eol(),
                _ => return,
            }
        }
    }

    fn run(&mut self) -> Result<(), Refusal> {
        loop {
            self.skip_to_next_token();
            let Some(c) = self.cur() else {
                return Ok(());
            };
            // In the block context a simple key ends with its line (or 1024 bytes).
            if let Some(k) = self.key
                && self.flow == 0
                && (k.line < self.line || k.pos + 1024 < self.pos)
            {
                self.key = None;
            }
            self.unroll(self.col as isize);
            if self.col == 0 && c == b'%' {
                self.skip_to_eol();
                continue;
            }
            if self.at_document_marker() {
                self.unroll(-1);
                self.key = None;
                self.simple_key_allowed = false;
                self.pos += 3;
                self.col += 3;
                continue;
            }
            let next = self.at(1);
            match c {
                b'[' | b'{' => {
                    self.save_key();
                    self.flow += 1;
                    if self.flow > self.limits.flow {
                        return Err(Refusal::Flow { at: self.pos });
                    }
                    self.count()?;
                    self.simple_key_allowed = true;
                    self.bump();
                }
                b']' | b'}' => {
                    self.remove_key();
                    self.flow = self.flow.saturating_sub(1);
                    self.simple_key_allowed = false;
                    self.bump();
                    self.json_like_key_ends();
                }
                b',' => {
                    self.remove_key();
                    self.count()?;
                    self.simple_key_allowed = true;
                    self.bump();
                }
                b'-' | b'?' if is_blankz(next) => {
                    self.roll(self.col, self.line_start, self.pos)?;
                    self.remove_key();
                    self.count()?;
                    self.simple_key_allowed = true;
                    self.bump();
                }
                b':' if is_blankz(next) || (self.flow > 0 && (is_flow(next) || self.pos == self.adjacent_value_at)) => {
                    if self.flow == 0 {
                        match self.key.take() {
                            Some(k) => {
                                self.roll(k.col, k.line_start, k.pos)?;
                                self.simple_key_allowed = false;
                            }
                            None => {
                                self.roll(self.col, self.line_start, self.pos)?;
                                self.simple_key_allowed = true;
                            }
                        }
                    }
                    self.count()?;
                    self.bump();
                }
                b'*' | b'&' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.bump();
                    while !is_blankz(self.cur()) && !is_flow(self.cur()) {
                        self.bump();
                    }
                }
                b'!' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.bump();
                    while !(is_blankz(self.cur()) || (self.flow > 0 && is_flow(self.cur()))) {
                        self.bump();
                    }
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.save_key();
                    self.simple_key_allowed = true;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.quoted(c);
                    self.json_like_key_ends();
                }
                _ => {
                    self.save_key();
                    self.simple_key_allowed = false;
                    self.plain();
                }
            }
        }
    }

    /// After a quoted scalar or a flow collection, a `:` may follow at once in a flow.
    fn json_like_key_ends(&mut self) {
        if self.flow > 0 {
            while is_blank(self.cur()) {
                self.bump();
            }
            self.adjacent_value_at = self.pos;
        }
    }

    /// A single- or double-quoted scalar, from its opening quote to past its closing one.
    fn quoted(&mut self, quote: u8) {
        self.bump();
        while let Some(c) = self.cur() {
            match c {
                b'\'' if quote == b'\'' && self.at(1) == Some(b'\'') => {
                    self.bump();
                    self.bump();
                }
                _ if c == quote => {
                    self.bump();
                    return;
                }
                b'\\' if quote == b'"' => {
                    self.bump();
                    if is_break(self.cur()) {
                        self.newline();
                    } else {
                        self.bump();
                    }
                }
                b'\n' | b'\r' => self.newline(),
                _ => self.bump(),
            }
        }
    }

    /// A plain scalar: runs of characters separated by blanks, continued on the next lines
    /// while they are indented deeper than the enclosing block collection (or in a flow).
    fn plain(&mut self) {
        let indent = self.indent + 1;
        let mut after_break = false;
        loop {
            if self.cur() == Some(b'#') || self.at_document_marker() {
                break;
            }
            let start = self.pos;
            while !is_blankz(self.cur()) && self.can_be_plain() {
                self.bump();
            }
            if self.pos > start {
                after_break = false;
            }
            if !is_blank(self.cur()) && !is_break(self.cur()) {
                break;
            }
            while is_blank(self.cur()) || is_break(self.cur()) {
                if is_break(self.cur()) {
                    self.newline();
                    after_break = true;
                } else {
                    self.bump();
                }
            }
            if self.flow == 0 && (self.col as isize) < indent {
                break;
            }
        }
        if after_break {
            self.simple_key_allowed = true;
        }
    }

    fn can_be_plain(&self) -> bool {
        match self.cur() {
            Some(b':') => !(is_blankz(self.at(1)) || (self.flow > 0 && is_flow(self.at(1)))),
            c => !(self.flow > 0 && is_flow(c)),
        }
    }

    /// A literal or folded block scalar, from its indicator to the first line less indented
    /// than its content (the indentation the scanner computes: explicit, or that of the
    /// first non-empty line, and at least one more than the enclosing collection's).
    fn block_scalar(&mut self) {
        let parent = self.indent;
        self.bump();
        let digit = |c: Option<u8>| c.filter(u8::is_ascii_digit).map(|d| usize::from(d - b'0'));
        let mut increment = 0;
        if matches!(self.cur(), Some(b'+' | b'-')) {
            self.bump();
            if let Some(d) = digit(self.cur()) {
                increment = d;
                self.bump();
            }
        } else if let Some(d) = digit(self.cur()) {
            increment = d;
            self.bump();
            if matches!(self.cur(), Some(b'+' | b'-')) {
                self.bump();
            }
        }
        // Blanks and a comment (anything else is an error of the scanner).
        self.skip_to_eol();
        if self.cur().is_none() {
            return;
        }
        self.newline();
        let floor = usize::try_from(parent + 1).unwrap_or(0);
        let indent = if increment > 0 {
            let indent = if parent >= 0 { floor - 1 + increment } else { increment };
            self.skip_block_indent(indent);
            indent
        } else {
            let mut widest = 0;
            loop {
                while self.cur() == Some(b' ') {
                    self.bump();
                }
                widest = widest.max(self.col);
                if !is_break(self.cur()) {
                    break;
                }
                self.newline();
            }
            widest.max(floor)
        };
        while self.col == indent && self.cur().is_some() {
            if indent == 0 && self.b[self.pos..].starts_with(b"...") && is_blankz(self.at(3)) {
                break;
            }
            self.skip_to_eol();
            if self.cur().is_none() {
                break;
            }
            self.newline();
            self.skip_block_indent(indent);
        }
    }

    /// Skips the indentation of block scalar lines, up to `indent` spaces, and empty lines.
    fn skip_block_indent(&mut self, indent: usize) {
        loop {
            while self.col < indent && self.cur() == Some(b' ') {
                self.bump();
            }
            if !is_break(self.cur()) {
                return;
            }
            self.newline();
        }
    }
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
        // The scanner's only nesting limit, on flow collections; the pre-scan normally
        // refuses them first, with the same code.
        LoadError::ScanError(m, se) if se.info() == "recursion limit exceeded" => (
            codes::TOO_DEEP,
            format!("YAML nesting too deep: more than {MAX_FLOW_DEPTH} nested flow collections"),
            Some(at(m)),
            "nested too deep",
        ),
        LoadError::ScanError(m, se) => {
            let span = offending(src, at(m), se.info());
            (codes::YAML, format!("invalid YAML: {}", se.info()), Some(span), "here")
        }
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

/// Where the scanner's error `info`, reported at `span`, really is, for the errors whose
/// marker is known to be elsewhere:
///
/// - a tab in indentation is reported at the start of the scalar being scanned (the line
///   above) or after the tabs: point at the first tab indenting the marker's line or a
///   later one;
/// - a misplaced mapping key is reported at its `:`, where the scanner decides that a
///   mapping starts: point at the key, the first token of its line.
fn offending(src: &str, span: Span, info: &str) -> Span {
    let at = span.start as usize;
    let line_start = src[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1);
    if info.contains("found a tab") || info.contains("tabs disallowed") || info.contains("tab cannot be used") {
        let mut start = line_start;
        while start < src.len() {
            let indentation = src[start..].find(|c| c != ' ' && c != '\t').map_or(src.len(), |n| start + n);
            if let Some(tab) = src[start..indentation].find('\t') {
                return Span::new(start + tab, start + tab + 1);
            }
            match src[indentation..].find(['\n', '\r']) {
                Some(n) => start = indentation + n + 1,
                None => break,
            }
        }
        return span;
    }
    let misplaced_key =
        info.contains("did not find expected '-' indicator") || info.contains("did not find expected key");
    let is_value_indicator = src[at..].starts_with(':')
        && src[at + 1..].chars().next().is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if misplaced_key && is_value_indicator {
        let line = &src[line_start..at];
        let mut key = 0;
        loop {
            let rest = &line[key..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            key += rest.len() - trimmed.len();
            match trimmed.as_bytes() {
                [b'-' | b'?', b' ' | b'\t', ..] => key += 1,
                _ => break,
            }
        }
        if key < line.len() {
            let start = line_start + key;
            let end = start + src[start..].chars().next().map_or(0, char::len_utf8);
            return Span::new(start, end);
        }
    }
    span
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

    fn scan(text: &str, indent: usize, flow: usize) -> Result<(), Refusal> {
        PreScan::new(text, Limits { indent, flow, indicators: usize::MAX }).run()
    }

    #[test]
    fn block_collections_past_the_column_limit_are_refused() {
        let at = |text: &str, needle: &str| {
            let at = text.find(needle).unwrap();
            let line = text[..at].rfind('\n').map_or(0, |p| p + 1);
            Err(Refusal::Block { line, at })
        };
        let deep = "a:\n  b:\n    c:\n      d: 1\n";
        assert_eq!(scan(deep, 6, 9), Ok(()));
        assert_eq!(scan(deep, 5, 9), at(deep, "d:"));
        let compact = "- - - - x\n";
        assert_eq!(scan(compact, 6, 9), Ok(()));
        assert_eq!(scan(compact, 5, 9), at(compact, "- x"));
        // Keys after a compact sequence, explicit keys.
        assert_eq!(scan("- - k: v\n", 3, 9), at("- - k: v\n", "k:"));
        assert_eq!(scan("? ? ? k\n", 4, 9), Ok(()));
        assert_eq!(scan("? ? ? k\n", 3, 9), at("? ? ? k\n", "? k"));
        // A deep value that opens nothing is not nesting.
        assert_eq!(scan("k:\n          value\n", 3, 9), Ok(()));
    }

    #[test]
    fn scalar_content_is_not_structure() {
        // Block scalars: `!` runs are not tags, indentation and long lines are content.
        let block =
            format!("r:\n  e: |-\n    {}x\n        - - - - - k: v\n{}\n  f: 1\n", "!".repeat(50), " ".repeat(40));
        assert_eq!(scan(&block, 4, 9), Ok(()));
        let header = format!("r:\n  e: >2-  # comment\n      {}\n  f: 1\n", "- ".repeat(20));
        assert_eq!(scan(&header, 4, 9), Ok(()));
        // Quoted scalars, on one line or several.
        let quoted = "k: \"[[[[[[[[[[ \\\" - - - - k:\n  - - - - - k: {{{{{{{{\"\nl: 'it''s [[[[[[['\n";
        assert_eq!(scan(quoted, 4, 3), Ok(()));
        // Plain scalars continued on deeper lines, with quotes and indicators inside.
        let plain = "k: exec.comm == \"a\"\n   && 'x [[[[[[\n     - - - - - k not a key\nl: 1\n";
        assert_eq!(scan(plain, 4, 3), Ok(()));
        // Comments.
        assert_eq!(scan("k: 1 # [[[[[[ - - - - - - k:\n", 4, 3), Ok(()));
        // But what follows a scalar is structure again.
        let after = "k: |\n  text\n- - - - - - x\n";
        assert!(scan(after, 4, 3).is_err());
        let after = "k: \"a\n  b\"\nl:\n  - - - - - - x\n";
        assert!(scan(after, 4, 3).is_err());
    }

    #[test]
    fn flow_nesting_is_refused_at_the_first_bracket_past_the_limit() {
        let text = "k: [[{a: [[b]]}]]\n";
        assert_eq!(scan(text, 9, 5), Ok(()));
        assert_eq!(scan(text, 9, 4), Err(Refusal::Flow { at: text.find("[b").unwrap() }));
        // Brackets inside scalars do not count.
        assert_eq!(scan("k: [\"[[[[\", '[[[[', a]\nl: a[[[[b\n", 9, 1), Ok(()));
        // In a flow, a bracket ends a plain scalar.
        assert_eq!(scan("k: [a[b]]\n", 9, 1), Err(Refusal::Flow { at: 5 }));
    }

    #[test]
    fn indicators_are_counted_outside_scalars() {
        let count = |text: &str| {
            let mut s = PreScan::new(text, Limits { indent: 99, flow: 99, indicators: usize::MAX });
            s.run().unwrap();
            s.indicators
        };
        assert_eq!(count("a: [1, 2, {b: c}]\n- x\n? y\n"), 8);
        assert_eq!(count("a: \"- : , [ {\"\nb: |\n  - : , [ {\nc: d-e:f,g\n"), 3);
    }

    /// Nesting depth of a parsed tree (a scalar is 0).
    fn depth(n: &Node) -> usize {
        match n {
            Node::Scalar(_) => 0,
            Node::Mapping(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            Node::Sequence(s) => 1 + s.iter().map(depth).max().unwrap_or(0),
        }
    }

    /// Scalars that look like structure, as written after `key: ` or `- ` (their further
    /// lines are indented under the entry).
    const SCALARS: &[&str] = &[
        "v",
        "\"q [[[ - k: {\"",
        "'it''s [[ - - x'",
        "|\n- - - k: v\n!!! [[[ \"\n  - - k:",
        ">-\n  - - - k:\n x '",
        "|2\n  - k: [[[\n   '",
        "[a, [b, {c: d}]]",
        "[[[x]]]",
        "plain\n&& - - - k - x\n  [[[ \"a",
        "\"multi\n  - - - k: {\n end\"",
        "'multi\n - - k: ['",
        "x # - k: [[[",
        "{a: [b, \"c\":d], e: f}",
        "\"a # [[[ - k:\"",
        "'b # - - x'",
    ];

    /// Builds a document from steps: open a nested collection (`k:` in a mapping, `- k:`
    /// or `- - k:` in a sequence), write a scalar entry, or close levels.
    fn document(steps: &[(u8, &str, usize)], crlf: bool) -> String {
        let mut out = String::new();
        // Per level: its column and whether it is a sequence (`None`: not decided yet).
        let mut levels: Vec<(usize, Option<bool>)> = vec![(0, None)];
        let mut line = |col: usize, body: &str| {
            let pad = " ".repeat(col);
            out.push_str(&pad);
            out.push_str(&body.replace('\n', &format!("\n{pad}  ")));
            out.push('\n');
        };
        for &(op, scalar, n) in steps {
            let Some(&mut (col, ref mut kind)) = levels.last_mut() else { break };
            let seq = *kind.get_or_insert(op % 2 == 1);
            match (op, seq) {
                (0..=3, false) => {
                    line(col, "k:");
                    levels.push((col + 1 + n, None));
                }
                (0..=3, true) => {
                    line(col, &format!("{}k:", "- ".repeat(n + 1)));
                    levels.push((col + 2 * n + 4, None));
                }
                (4 | 5, false) => line(col, &format!("k: {scalar}")),
                (4 | 5, true) => line(col, &format!("{}{scalar}", "- ".repeat(n + 1))),
                _ => {
                    for _ in 0..=n {
                        if levels.len() > 1 {
                            levels.pop();
                        }
                    }
                }
            }
        }
        if crlf { out.replace('\n', "\r\n") } else { out }
    }

    fn parsed_depth(text: &str) -> Option<usize> {
        [LoaderOptions::default(), LoaderOptions::default().toplevel_sequence()]
            .into_iter()
            .find_map(|options| marked_yaml::parse_yaml_with_options(0, text, options).ok())
            .map(|node| depth(&node))
    }

    fn steps() -> impl proptest::strategy::Strategy<Value = Vec<(u8, &'static str, usize)>> {
        proptest::collection::vec((0u8..8, proptest::sample::select(SCALARS), 0usize..3), 1..30)
    }

    #[test]
    fn generated_documents_are_deep_and_valid() {
        // The property below is not vacuous: documents of the generator parse, some of
        // them deeper than the limits allow.
        let block = "|\n- - - k: v\n!!! [[[ \"\n  - - k:";
        let steps = [(1, "", 1), (0, "", 1), (4, block, 0), (1, "", 2), (1, "", 1), (5, "[[[x]]]", 2)];
        let text = document(&steps, false);
        assert!(parsed_depth(&text).is_some_and(|d| d > 2 * (3 + 1) + 1), "{text}");
        assert!(scan(&text, 3, 1).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 3000,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Whatever the pre-scan lets through parses no deeper than its limits allow: block
        /// collections start on strictly increasing columns up to the limit (an indentless
        /// sequence shares its mapping's column), flow ones nest up to theirs.
        #[test]
        fn prescan_bounds_the_parsed_depth(steps in steps(), crlf in proptest::bool::ANY, cut in 0usize..400) {
            let (indent, flow) = (3, 1);
            let text = document(&steps, crlf);
            // Also a prefix of it, which may end inside a scalar.
            let mut end = cut.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            for text in [text.as_str(), &text[..end]] {
                if scan(text, indent, flow).is_ok()
                    && let Some(d) = parsed_depth(text)
                {
                    proptest::prop_assert!(d <= 2 * (indent + 1) + flow, "depth {d} of {text:?}");
                }
            }
        }
    }
}
