//! Stable diagnostic codes. A code, once published, never changes meaning: tools match on
//! them (`secl check --format json`, SARIF rule ids, CI annotations).

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Code(pub &'static str);

impl Code {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {
        $($(#[$doc])* pub const $name: Code = Code($text);)*
        /// Every code, for documentation and uniqueness tests.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    // Lexing and parsing (SPEC §1, §2).
    /// A character no token starts with (`\r` in the reference, `'`, form feed, NBSP, ...).
    LEX_ERROR = "secl::lex-error";
    /// An unexpected token or end of input.
    SYNTAX_ERROR = "secl::syntax-error";
    /// An integer that does not fit in 64 bits, or a bad octal (`09`).
    INVALID_INTEGER = "secl::invalid-integer";
    /// A duration Go's `time.ParseDuration` rejects (`5hs`).
    INVALID_DURATION = "secl::invalid-duration";
    /// Nesting or operator count past the bound that keeps evaluation stack-safe.
    TOO_DEEP = "secl::nesting-too-deep";
    /// An expression or policy file larger than the accepted input size.
    TOO_LARGE = "secl::input-too-large";

    // Resolution and typing (SPEC §3-§11).
    UNKNOWN_FIELD = "secl::unknown-field";
    UNKNOWN_VARIABLE = "secl::unknown-variable";
    TYPE_MISMATCH = "secl::type-mismatch";
    UNKNOWN_OPERATOR = "secl::unknown-operator";
    UNSUPPORTED_COMPARISON = "secl::unsupported-comparison";
    NON_STATIC_PATTERN = "secl::non-static-pattern";
    INVALID_PATTERN = "secl::invalid-pattern";
    INVALID_REGEX = "secl::invalid-regex";
    REGEX_ON_PATH = "secl::regex-on-path";
    INVALID_PATH = "secl::invalid-path";
    INVALID_IP = "secl::invalid-ip";
    MIXED_ARRAY = "secl::mixed-array";
    ITERATOR = "secl::iterator-error";
    LENGTH_NOT_SUPPORTED = "secl::length-not-supported";
    NO_EVENT_TYPE = "secl::no-event-type";
    MULTIPLE_EVENT_TYPES = "secl::multiple-event-types";
    FIELD_NOT_AVAILABLE = "secl::field-not-available";
    EVENT_TYPE_DISABLED = "secl::event-type-disabled";

    // Policy files (SPEC §10, §13, §14).
    YAML = "secl::yaml-error";
    INVALID_UTF8 = "secl::invalid-utf8";
    EMPTY_POLICY = "secl::empty-policy";
    MISSING_ID = "secl::missing-id";
    INVALID_ID = "secl::invalid-id";
    MISSING_EXPRESSION = "secl::missing-expression";
    MACRO_DEFINITION = "secl::macro-definition";
    MACRO_CYCLE = "secl::macro-cycle";
    CANNOT_MERGE = "secl::cannot-merge";
    AGENT_VERSION = "secl::agent-version";
    INVALID_FILTER = "secl::invalid-filter";
    INVALID_ACTION = "secl::invalid-action";
    VARIABLE_CONFLICT = "secl::variable-conflict";
    UNREADABLE = "secl::unreadable";

    // Warnings.
    UNUSED_MACRO = "secl::unused-macro";
    DUPLICATE_ID = "secl::duplicate-id";
    ALWAYS_TRUE = "secl::always-true";
    ALWAYS_FALSE = "secl::always-false";
    REFERENCE_INCOMPATIBLE = "secl::reference-incompatible";
    ACCEPT_ALL = "secl::kfilter-accept-all";
}
