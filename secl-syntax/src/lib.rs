//! SECL syntax: the lexer, the parser, the AST with spans, policy files and diagnostics.
//!
//! Nothing here knows the event model or evaluates anything; that is `secl-eval`'s job.
//! Nothing here does I/O either, except the explicit file-loading helpers of [`policy`].

pub mod ast;
pub mod diagnostics;
pub mod lexer;
pub mod parser;
pub mod policy;
pub mod span;

pub use diagnostics::{Diagnostic, Severity, SourceFile};
pub use parser::{MAX_EXPRESSION_BYTES, MAX_OPERATORS, parse_expression, parse_macro_body};
pub use span::Span;
