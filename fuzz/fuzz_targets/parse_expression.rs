//! Lexer + parser + typechecker + diagnostic renderer on arbitrary UTF-8.
//!
//! The input is used both as a rule expression (`parse_expression`, then `check_bool`
//! and `check_any` against the Linux model) and as a macro body (`parse_macro_body`,
//! then `check_macro`). Every diagnostic produced along the way is rendered with
//! `render_human`, attached to the input as its source, the way `secl check` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secl_eval::check::{Checker, Env};
use secl_eval::model::Schema;
use secl_syntax::diagnostics::{Diagnostic, SourceFile, render_human};
use std::sync::Arc;

fn env() -> Env<'static> {
    Env { fields: Schema::linux(), macros: None, vars: None }
}

fn render(d: Diagnostic, src: &Arc<SourceFile>) {
    let out = render_human(&d.with_source(src.clone()), false);
    assert!(!out.is_empty(), "render_human produced nothing");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let src = SourceFile::new("<fuzz>", text);

    match secl_syntax::parser::parse_expression(text) {
        Ok(expr) => {
            match Checker::new(env()).check_bool(&expr) {
                Ok(checked) => {
                    for w in checked.warnings {
                        render(w, &src);
                    }
                }
                Err(d) => render(*d, &src),
            }
            match Checker::new(env()).check_any(&expr) {
                Ok(checked) => {
                    for w in checked.warnings {
                        render(w, &src);
                    }
                }
                Err(d) => render(*d, &src),
            }
        }
        Err(d) => render(d, &src),
    }

    match secl_syntax::parser::parse_macro_body(text) {
        Ok(body) => match Checker::new(env()).check_macro(&body) {
            Ok(checked) => {
                for w in checked.warnings {
                    render(w, &src);
                }
            }
            Err(d) => render(*d, &src),
        },
        Err(d) => render(d, &src),
    }
});
