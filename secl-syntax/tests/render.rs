//! The human renderer on hostile layouts: labels far to the right of very long lines.

use secl_syntax::diagnostics::{Diagnostic, SourceFile, codes, render_human};
use secl_syntax::span::Span;

fn diag_at(text: &str, start: usize, end: usize) -> Diagnostic {
    Diagnostic::error(codes::UNKNOWN_FIELD, "field `exec.pidd` not found")
        .with_label(Span::new(start, end), "not a field")
        .with_help("did you mean `exec.pid`?")
        .with_source(SourceFile::new("wide.policy", text))
}

#[test]
fn label_past_column_65535_renders_a_window() {
    let prefix = "rules:\n  - id: wide\n    expression: ";
    let text = format!("{prefix}exec.comm == \"{}\" && exec.pidd == 1\n", "x".repeat(70_000));
    let at = text.find("exec.pidd").unwrap();
    let out = render_human(&diag_at(&text, at, at + 9), false);
    // The real position, a window of the line around the label, and no 70 KB line.
    assert!(out.contains("[wide.policy:3:70036]"), "{out}");
    assert!(out.contains(" 3 │ …xxxx"), "{out}");
    assert!(out.contains("xxxx\" && exec.pidd == 1\n"), "{out}");
    assert!(out.contains(" 3 │ "), "line numbers are the file's: {out}");
    assert!(out.contains("not a field") && out.contains("did you mean `exec.pid`?"), "{out}");
    assert!(out.contains("line 3 is 70049 characters long"), "{out}");
    assert!(out.len() < 2_000, "{} bytes:\n{out}", out.len());
    // The caret is under the field: the label's column in the window is the field's.
    let line = out.lines().find(|l| l.starts_with(" 3 │")).unwrap();
    let caret = out.lines().find(|l| l.contains('┬')).unwrap();
    let field = line[..line.find("exec.pidd").unwrap()].chars().count();
    assert_eq!(caret.chars().position(|c| c == '┬' || c == '─'), Some(field), "{out}");
}

#[test]
fn ten_megabyte_line_renders_quickly_and_small() {
    let prefix = "rules:\n  - id: huge\n    expression: ";
    let unit = "exec.comm == \"x\" || ";
    let text = format!("{prefix}{}exec.comm == \"y\"\n", unit.repeat(500_000));
    let at = prefix.len() + (1 << 20);
    let d = Diagnostic::error(codes::TOO_LARGE, "expression too large")
        .with_label(Span::new(at, text.len() - 1), "past the limit")
        .with_source(SourceFile::new("huge.policy", text.clone()));
    let out = render_human(&d, false);
    assert!(out.contains("[huge.policy:3:1048593]"), "{out}");
    assert!(out.len() < 2_000, "{} bytes", out.len());
}

#[test]
fn short_label_line_next_to_a_long_line() {
    // The label's own line is short, but miette would draw the long line after it whole.
    let text = format!("rules:\n  - id: r\n    expression: a\n    description: {}\n", "d".repeat(100_000));
    let at = text.find("a\n").unwrap();
    let out = render_human(&diag_at(&text, at, at + 1), false);
    assert!(out.contains("[wide.policy:3:17]"), "{out}");
    assert!(out.len() < 2_000, "{} bytes", out.len());
}

#[test]
fn labels_outside_the_window_are_listed() {
    let text = format!("a: {}b\nc: d\n", "x".repeat(80_000));
    let b = text.find("b\n").unwrap();
    let d = diag_at(&text, b, b + 1).with_label(Span::new(3, 4), "first x").with_label(Span::new(b + 5, b + 6), "d");
    let out = render_human(&d, false);
    assert!(out.contains("[wide.policy:1:80004]"), "{out}");
    assert!(out.contains("also at wide.policy:1:4: first x"), "{out}");
    // `d` on the next line is in the window's columns? No: it is at column 4, far left.
    assert!(out.contains("also at wide.policy:2:4: d"), "{out}");
}

#[test]
fn ordinary_lines_render_whole() {
    let text = "rules:\n  - id: r\n    expression: exec.pidd == 1\n";
    let at = text.find("exec.pidd").unwrap();
    let out = render_human(&diag_at(text, at, at + 9), false);
    assert!(out.contains("[wide.policy:3:17]"), "{out}");
    assert!(out.contains(" 3 │     expression: exec.pidd == 1"), "{out}");
    assert!(!out.contains('…') && !out.contains("note:"), "{out}");
}

#[test]
fn labels_at_the_end_and_past_the_end_of_the_text() {
    let text = format!("k: {}", "é".repeat(5_000));
    for (s, e) in [(text.len(), text.len()), (text.len() + 10, text.len() + 20), (4, 5), (3, 100_000)] {
        let out = render_human(&diag_at(&text, s, e), false);
        assert!(out.contains("wide.policy:1:"), "{out}");
        assert!(out.len() < 2_000, "{} bytes", out.len());
    }
}
