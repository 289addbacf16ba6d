//! `secl`: the facade crate embedders depend on.
//!
//! It re-exports the syntax layer (`secl_syntax`: lexer, parser, AST, policy files,
//! diagnostics) and the semantic layer (`secl_eval`: event model, typechecker, rule engine).
pub use secl_eval as eval;
pub use secl_syntax as syntax;
