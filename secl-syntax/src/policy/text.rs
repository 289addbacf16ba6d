//! String scalars that remember where they came from.
//!
//! A rule expression lives inside a YAML scalar, so the byte offsets the expression parser
//! reports are offsets into the *decoded* value, not into the policy file. [`Text`] carries
//! a [`SourceMap`] that translates one into the other for every scalar style (plain,
//! single-quoted, double-quoted, literal and folded block).

use crate::diagnostics::{Diagnostic, SourceFile};
use crate::span::Span;
use std::sync::Arc;

/// A decoded string scalar of a policy file and its location.
///
/// Two texts are equal when their decoded strings are equal: where a value was written is
/// not part of its identity (merging policies compares actions across files).
#[derive(Clone, Debug)]
pub struct Text {
    pub value: String,
    /// The whole scalar in the file, quotes and block header included.
    pub span: Span,
    pub map: SourceMap,
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.value == other.value
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.value == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

impl Text {
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The file the text was read from.
    pub fn source(&self) -> &Arc<SourceFile> {
        &self.map.source
    }

    /// Maps a byte span inside [`Text::value`] (an expression error, say) to a byte span of
    /// the policy file. Offsets past the end of the value are clamped to it.
    pub fn file_span(&self, inner: Span) -> Span {
        let start = self.map.start_of(inner.start as usize, &self.value, self.span);
        if inner.is_empty() {
            return Span::new(start, start);
        }
        let end = self.map.end_of(inner.end as usize, &self.value, self.span).max(start);
        Span::new(start, end)
    }

    /// Re-anchors a diagnostic computed on [`Text::value`] (an expression parsed on its
    /// own) into the policy file: every label is mapped with [`Text::file_span`] and the
    /// source becomes this text's file.
    pub fn relocate(&self, diag: Diagnostic) -> Diagnostic {
        diag.map_spans(|s| self.file_span(s)).with_source(self.source().clone())
    }

    /// A text with no scalar behind it (a default filled in by the loader): every inner
    /// position maps to `span`.
    pub fn synthetic(value: impl Into<String>, span: Span, source: Arc<SourceFile>) -> Text {
        Text { value: value.into(), span, map: SourceMap::empty(source) }
    }
}

/// Piecewise translation from offsets in a decoded scalar to offsets in its file.
///
/// Stored as segments rather than one entry per character so that a large policy costs
/// memory in proportion to its line breaks and escapes, not to its size.
#[derive(Clone, Debug)]
pub struct SourceMap {
    source: Arc<SourceFile>,
    segs: Vec<Seg>,
    exact: bool,
}

/// `vlen` bytes of the value starting at `v` come from `flen` bytes of the file starting at
/// `f`. Equal lengths mean the bytes correspond one to one; otherwise (an escape sequence, a
/// folded line break) the segment is atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    v: u32,
    f: u32,
    vlen: u32,
    flen: u32,
}

impl Seg {
    fn lockstep(self) -> bool {
        self.vlen == self.flen
    }
}

impl SourceMap {
    fn empty(source: Arc<SourceFile>) -> SourceMap {
        SourceMap { source, segs: Vec::new(), exact: false }
    }

    /// Whether every character of the value was matched to the file. `false` only for
    /// scalars whose layout the aligner did not understand (positions then degrade to the
    /// last matched place instead of being wrong).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    fn start_of(&self, v: usize, value: &str, whole: Span) -> usize {
        let v = v.min(value.len());
        if self.segs.is_empty() {
            return whole.start as usize;
        }
        let i = self.segs.partition_point(|s| (s.v + s.vlen) as usize <= v);
        match self.segs.get(i) {
            Some(s) if v >= s.v as usize && s.lockstep() => s.f as usize + (v - s.v as usize),
            Some(s) => s.f as usize,
            None => self.end_of(value.len(), value, whole),
        }
    }

    fn end_of(&self, v: usize, value: &str, whole: Span) -> usize {
        let v = v.min(value.len());
        if self.segs.is_empty() {
            return whole.end as usize;
        }
        if v == 0 {
            return self.segs[0].f as usize;
        }
        let i = self.segs.partition_point(|s| ((s.v + s.vlen) as usize) < v);
        match self.segs.get(i) {
            Some(s) if v <= s.v as usize => s.f as usize,
            Some(s) if s.lockstep() => s.f as usize + (v - s.v as usize),
            Some(s) => (s.f + s.flen) as usize,
            None => self.segs.last().map_or(whole.end as usize, |s| (s.f + s.flen) as usize),
        }
    }
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`, `|-`, `|+`: `header` is the byte offset of the indicator, `body` the start of
    /// the first line after the header, `indent` the content indentation in spaces.
    Literal {
        header: usize,
        body: usize,
        indent: usize,
    },
    /// `>` and its variants, same fields as `Literal`.
    Folded {
        header: usize,
        body: usize,
        indent: usize,
    },
}

/// Works out the style of the scalar whose marker is at byte `start` of `src` and whose
/// decoded value is `value`. `plain` is whether the loader saw a plain scalar; block
/// scalars are the non-plain ones whose marker is not on their `|` or `>` but on their
/// first content character.
///
/// A quote at the marker is a quoted scalar unless it is the first character of a block
/// scalar's content (`|-` then a line `"bash" == exec.comm`): then it starts a line of its
/// own under a block header, and the value's first line is that line, verbatim.
pub(crate) fn detect_style(src: &str, start: usize, plain: bool, value: &str) -> Style {
    let quote = match src.as_bytes().get(start) {
        _ if plain => return Style::Plain,
        Some(b'\'') => Style::SingleQuoted,
        Some(b'"') => Style::DoubleQuoted,
        _ => return block_style(src, start).unwrap_or(Style::Plain),
    };
    if starts_block_content(src, start, value)
        && let Some(block) = block_style(src, start)
    {
        return block;
    }
    quote
}

/// Whether the text at `start` reads as the first content line of a block scalar with
/// value `value`: only indentation before it on its line, and the value (after leading
/// empty lines) starts with the rest of the line, verbatim, then a line break (literal) or
/// a space (folded) or its end. A quoted scalar cannot: its value lacks at least the
/// opening quote.
fn starts_block_content(src: &str, start: usize, value: &str) -> bool {
    // Only spaces back to the line start (looked at from `start`, not from the line start:
    // a one-line document has many scalars on its line).
    let before = src.as_bytes()[..start].iter().rev().find(|&&b| b != b' ');
    if !matches!(before, None | Some(b'\n' | b'\r')) {
        return false;
    }
    let rest = &src[start..];
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    value
        .trim_start_matches('\n')
        .strip_prefix(line)
        .is_some_and(|after| matches!(after.bytes().next(), None | Some(b'\n' | b' ')))
}

fn line_start(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |p| p + 1)
}

fn block_style(src: &str, marker: usize) -> Option<Style> {
    let bytes = src.as_bytes();
    let marker = marker.min(src.len());
    let mut body = line_start(src, marker);
    let indent = marker - body;
    // Blank lines may separate the header from the first content line; the header is the
    // nearest line above that holds anything.
    loop {
        if body == 0 {
            return None;
        }
        let mut prev_end = body - 1;
        if bytes[prev_end] == b'\n' && prev_end > 0 && bytes[prev_end - 1] == b'\r' {
            prev_end -= 1;
        }
        let prev_start = line_start(src, prev_end);
        let line = &src[prev_start..prev_end];
        if line.trim_matches([' ', '\t']).is_empty() {
            body = prev_start;
            continue;
        }
        let (pos, folded) = find_block_indicator(line)?;
        let header = prev_start + pos;
        return Some(if folded {
            Style::Folded { header, body, indent }
        } else {
            Style::Literal { header, body, indent }
        });
    }
}

/// The last `|` or `>` on a header line that is followed only by chomping/indentation
/// indicators, blanks and an optional comment.
fn find_block_indicator(line: &str) -> Option<(usize, bool)> {
    line.char_indices().rev().find_map(|(i, c)| {
        if c != '|' && c != '>' {
            return None;
        }
        let rest = line[i + 1..].trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
        let rest = rest.trim_start_matches([' ', '\t']);
        (rest.is_empty() || rest.starts_with('#')).then_some((i, c == '>'))
    })
}

fn break_len(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at) {
        Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => Some(2),
        Some(b'\n' | b'\r') => Some(1),
        _ => None,
    }
}

fn char_at(src: &str, at: usize) -> Option<char> {
    src.get(at..).and_then(|s| s.chars().next())
}

struct Builder {
    segs: Vec<Seg>,
}

impl Builder {
    fn push(&mut self, v: usize, f: usize, vlen: usize, flen: usize) {
        let seg = Seg { v: v as u32, f: f as u32, vlen: vlen as u32, flen: flen as u32 };
        if let Some(last) = self.segs.last_mut()
            && last.lockstep()
            && seg.lockstep()
            && last.v + last.vlen == seg.v
            && last.f + last.flen == seg.f
        {
            last.vlen += seg.vlen;
            last.flen += seg.flen;
            return;
        }
        self.segs.push(seg);
    }
}

/// Aligns `value` (the decoded scalar) with the file text from `start` (the loader's
/// marker) and returns the map and the scalar's span in the file.
///
/// The walk advances through the file and the value together, matching each value
/// character to the next file character that can produce it and skipping what decoding
/// removed: indentation, quotes, escape syntax, folded line breaks.
pub(crate) fn align(source: &Arc<SourceFile>, start: usize, value: &str, style: Style) -> (SourceMap, Span) {
    let src = source.text.as_str();
    let bytes = src.as_bytes();
    let start = start.min(src.len());
    let mut b = Builder { segs: Vec::new() };
    let (mut s, span_start, indent, folded, block) = match style {
        Style::Plain => (start, start, 0, false, false),
        Style::SingleQuoted | Style::DoubleQuoted => (start + 1, start, 0, false, false),
        Style::Literal { header, body, indent } => (body, header, indent, false, true),
        Style::Folded { header, body, indent } => (body, header, indent, true, true),
    };
    let mut at_line_start = block;
    let mut exact = true;
    let mut done = 0;
    'chars: for (v, c) in value.char_indices() {
        let clen = c.len_utf8();
        loop {
            if at_line_start {
                let mut k = 0;
                while k < indent && bytes.get(s) == Some(&b' ') {
                    s += 1;
                    k += 1;
                }
                at_line_start = false;
            }
            if s >= src.len() {
                exact = false;
                break 'chars;
            }
            if style == Style::DoubleQuoted && bytes[s] == b'\\' {
                if let Some(bl) = break_len(bytes, s + 1) {
                    // An escaped line break joins the lines without a space.
                    s += 1 + bl;
                    while matches!(bytes.get(s), Some(b' ' | b'\t')) {
                        s += 1;
                    }
                    continue;
                }
                let esc = match bytes.get(s + 1) {
                    Some(b'x') => 4,
                    Some(b'u') => 6,
                    Some(b'U') => 10,
                    _ => 1 + char_at(src, s + 1).map_or(0, char::len_utf8),
                };
                let esc = esc.min(src.len() - s);
                b.push(v, s, clen, esc);
                s += esc;
                break;
            }
            if style == Style::SingleQuoted && c == '\'' && src[s..].starts_with("''") {
                b.push(v, s, 1, 2);
                s += 2;
                break;
            }
            let br = break_len(bytes, s);
            if let Some(bl) = br
                && (c == '\n' || (c == ' ' && (folded || !block)))
            {
                b.push(v, s, 1, bl);
                s += bl;
                at_line_start = block;
                break;
            }
            if char_at(src, s) == Some(c) {
                b.push(v, s, clen, clen);
                s += clen;
                break;
            }
            if let Some(bl) = br {
                s += bl;
                at_line_start = block;
                continue;
            }
            if matches!(bytes[s], b' ' | b'\t') {
                s += 1;
                continue;
            }
            exact = false;
            break 'chars;
        }
        done = v + clen;
    }
    if done < value.len() {
        // Degrade rather than guess: the unmatched rest points at where matching stopped.
        b.push(done, s.min(src.len()), value.len() - done, 0);
    }
    let mut end = s.min(src.len());
    match style {
        Style::SingleQuoted | Style::DoubleQuoted => {
            let quote = if style == Style::SingleQuoted { b'\'' } else { b'"' };
            let mut q = end;
            while q < src.len() {
                match bytes[q] {
                    c if c == quote => {
                        end = q + 1;
                        break;
                    }
                    b' ' | b'\t' | b'\n' | b'\r' | b'\\' => q += 1,
                    _ => break,
                }
            }
        }
        Style::Literal { .. } | Style::Folded { .. } => {
            while end > span_start + 1 && matches!(bytes[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
        }
        Style::Plain => {}
    }
    let map = SourceMap { source: source.clone(), segs: b.segs, exact };
    (map, Span::new(span_start, end.max(span_start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at(yaml: &str, needle: &str, value: &str, plain: bool) -> Text {
        let src = SourceFile::new("t.yaml", yaml);
        let start = yaml.find(needle).unwrap();
        let style = detect_style(yaml, start, plain, value);
        let (map, span) = align(&src, start, value, style);
        Text { value: value.into(), span, map }
    }

    fn check_roundtrip(t: &Text) {
        let src = &t.source().text;
        for (i, c) in t.value.char_indices() {
            if c.is_whitespace() || c == '\'' || c == '"' || c == '\\' {
                continue;
            }
            let sp = t.file_span(Span::new(i, i + c.len_utf8()));
            if src[sp.range()].starts_with('\\') {
                continue;
            }
            assert_eq!(&src[sp.range()], c.to_string(), "char {i} {c:?} of {:?}", t.value);
        }
        assert!(t.map.is_exact());
    }

    #[test]
    fn plain_multiline() {
        let t = text_at("k: a  b\n  cé\n\n  d\n", "a  b", "a  b cé\nd", true);
        check_roundtrip(&t);
        assert_eq!(t.span, Span::new(3, 18));
    }

    #[test]
    fn quoted_escapes() {
        let y = "k: \"a\\\"b\\\\c\\x41\\u00e9 \\\n   d\"\n";
        let t = text_at(y, "\"a", "a\"b\\cAé d", false);
        check_roundtrip(&t);
        assert_eq!(&y[t.span.range()], &y[3..y.len() - 1]);
        let a = t.file_span(Span::new(5, 6)); // the `A` from `\x41`
        assert_eq!(&y[a.range()], "\\x41");
        let y = "k: 'it''s é'\n";
        let t = text_at(y, "'it", "it's é", false);
        check_roundtrip(&t);
        assert_eq!(t.span, Span::new(3, y.len() - 1));
    }

    #[test]
    fn block_styles() {
        let y = "k: |- # c|x\n\n    a\n     b\n    c\nz: 1\n";
        let t = text_at(y, "a\n", "\na\n b\nc", false);
        check_roundtrip(&t);
        assert_eq!(&y[t.span.range()], "|- # c|x\n\n    a\n     b\n    c");
        let y = "k: >\r\n  a\r\n  b\r\n\r\n   c\r\n";
        let t = text_at(y, "a\r", "a b\n c\n", false);
        check_roundtrip(&t);
    }

    #[test]
    fn block_starting_with_a_quote() {
        // A `|-` block whose first content character is a quote is not a quoted scalar.
        let y = "k: |-\n  \"bash\" == exec.comm\n  && exec.pidd == 1\nz: 1\n";
        let t = text_at(y, "\"bash", "\"bash\" == exec.comm\n&& exec.pidd == 1", false);
        assert!(matches!(detect_style(y, y.find("\"bash").unwrap(), false, &t.value), Style::Literal { .. }));
        check_roundtrip(&t);
        let y = "k: >\n\n  'a' b\n  c\n";
        let t = text_at(y, "'a'", "\n'a' b c\n", false);
        assert!(matches!(detect_style(y, y.find("'a'").unwrap(), false, &t.value), Style::Folded { .. }));
        check_roundtrip(&t);
        // Quoted scalars stay quoted, even alone on a line under a block header's line.
        let y = "k: |\n\"b\": 1\n";
        let at = y.find("\"b").unwrap();
        assert_eq!(detect_style(y, at, false, "b"), Style::DoubleQuoted);
        let y = "k:\n  \"\\\"x\"\n";
        assert_eq!(detect_style(y, y.find('"').unwrap(), false, "\"x"), Style::DoubleQuoted);
        let y = "k: |\n  'it''s'\n";
        // Under a header, a line that decodes differently from its text is not the block's.
        assert_eq!(detect_style(y, y.find('\'').unwrap(), false, "it's"), Style::SingleQuoted);
    }

    #[test]
    fn unmatched_value_degrades() {
        let t = text_at("k: abc\n", "abc", "xyz", true);
        assert!(!t.map.is_exact());
        assert_eq!(t.file_span(Span::new(1, 2)), Span::new(3, 3));
    }
}
