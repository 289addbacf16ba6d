//! SECL syntax: the lexer, the parser, the AST with spans, policy files and diagnostics.
//!
//! Nothing here knows the event model or evaluates anything; that is `secl-eval`'s job.
//! Nothing here does I/O either, except the explicit file-loading helpers of [`policy`].

pub mod ast;
pub mod diagnostics;
pub mod span;

pub use diagnostics::{Diagnostic, Severity, SourceFile};
pub use span::Span;
