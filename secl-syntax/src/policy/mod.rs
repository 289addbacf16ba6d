//! Policy files (SPEC §13): decoding the YAML into definitions with exact source
//! locations, the per-definition structural checks, reading files and directories, and
//! merging several policies by ID.
//!
//! Nothing here knows the event model: expressions, filters and `agent_version` are
//! carried as [`Text`] for the semantic layer, which maps its diagnostics back into the
//! file with [`Text::file_span`] (or [`Text::relocate`] for a whole diagnostic):
//!
//! ```
//! use secl_syntax::policy::parse_policy;
//! use secl_syntax::{Diagnostic, SourceFile, Span, diagnostics::codes};
//!
//! let yaml = "rules:\n  - id: r\n    expression: |-\n      exec.file.name == \"sh\"\n        && bogus\n";
//! let (policy, diags) = parse_policy(SourceFile::new("custom.policy", yaml), false);
//! assert!(diags.is_empty());
//! let expr = policy.unwrap().rules[0].expression.clone().unwrap();
//! // An error the expression parser reported at bytes 28..33 of the expression ...
//! let err = Diagnostic::error(codes::UNKNOWN_FIELD, "field `bogus` not found").with_label(Span::new(28, 33), "");
//! // ... is at line 5, column 12 of the file.
//! assert_eq!(expr.relocate(err).line_col(), Some((5, 12)));
//! ```

mod decode;
mod load;
mod merge;
mod text;
mod types;
mod yaml;

pub use load::{DEFAULT_POLICY_NAME, load_paths, policy_files_in, read_policy_file};
pub use merge::{Acceptance, DefKind, Definition, FilteredDef, Merged, MergedMacro, MergedRule, Provenance, merge};
pub use text::{SourceMap, Text};
pub use types::{ActionDef, ActionKind, Combine, DurationValue, MacroDef, Policy, RuleDef, SetAction, YamlValue};
pub use yaml::{MAX_INDICATORS, MAX_LINE_INDENT};

use crate::diagnostics::{Diagnostic, SourceFile};
use std::sync::Arc;

/// Largest policy file accepted, in bytes.
pub const MAX_POLICY_SIZE: usize = 16 << 20;

/// Parses one policy. `is_default` marks the default policy (normally the file named
/// `default.policy`), which may be empty and which custom policies can amend.
///
/// Returns `None` when the file as a whole cannot be used (invalid YAML, a top level that
/// does not decode, an empty custom policy). Otherwise malformed definitions are reported
/// and left out, and the others are returned.
pub fn parse_policy(source: Arc<SourceFile>, is_default: bool) -> (Option<Policy>, Vec<Diagnostic>) {
    decode::parse(source, is_default)
}
