//! SECL semantics.
