//! SECL semantics: the Linux event model, the typechecker, the rule engine.
//!
//! The crate does no I/O: policies arrive as parsed [`secl_syntax::policy`] values and
//! events through the [`event::Event`] trait.

pub mod check;
pub mod event;
pub mod explain;
pub mod fxhash;
pub mod interp;
pub mod ir;
pub mod json_event;
pub mod load;
pub mod matcher;
pub mod model;
pub mod partial;
pub mod pattern_index;
pub mod rule;
pub mod ruleset;
pub mod suggest;
pub mod value;
pub mod vars;
pub mod vm;
