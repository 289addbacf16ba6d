//! What a policy file says, decoded but not yet checked against the event model.

use super::text::Text;
use crate::diagnostics::SourceFile;
use crate::span::Span;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One parsed policy file (SPEC §13.1).
#[derive(Clone, Debug)]
pub struct Policy {
    pub source: Arc<SourceFile>,
    /// The policy's name as the reference reports it: the file name without directories.
    pub name: String,
    pub version: Option<String>,
    /// The `type:` key (`policy` for the default policy).
    pub kind: Option<String>,
    pub replace_policy_id: Option<String>,
    /// Well-formed macro definitions, in file order; malformed ones were reported.
    pub macros: Vec<MacroDef>,
    /// Well-formed rule definitions, in file order; malformed ones were reported.
    pub rules: Vec<RuleDef>,
    /// The file named `default.policy` (or passed as the default policy): merging favours
    /// custom policies over it, and it may be empty.
    pub is_default: bool,
}

/// How a definition combines with an earlier one of the same ID (SPEC §10, §13.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    Merge,
    Override,
}

/// A macro definition (SPEC §10, §13.3).
#[derive(Clone, Debug)]
pub struct MacroDef {
    pub id: Text,
    pub expression: Option<Text>,
    /// The list form: scalar strings only.
    pub values: Option<Vec<Text>>,
    pub description: Option<Text>,
    pub agent_version: Option<Text>,
    pub filters: Vec<Text>,
    pub combine: Option<Combine>,
    /// The whole macro mapping.
    pub span: Span,
}

/// A rule definition (SPEC §13.2).
#[derive(Clone, Debug)]
pub struct RuleDef {
    /// Always present and valid: definitions with a missing or malformed ID are reported
    /// and dropped by the parser.
    pub id: Text,
    pub version: Option<Text>,
    pub expression: Option<Text>,
    pub description: Option<Text>,
    pub tags: BTreeMap<String, String>,
    pub product_tags: Vec<String>,
    pub agent_version: Option<Text>,
    pub filters: Vec<Text>,
    pub disabled: bool,
    pub combine: Option<Combine>,
    /// `override_options.fields`, as written (`all`, `actions`, `every`, `tags`,
    /// `product_tags`, and `expression` for older agents).
    pub override_options: Vec<String>,
    pub actions: Vec<ActionDef>,
    pub every: Option<DurationValue>,
    pub limiter_token: Vec<String>,
    pub silent: bool,
    pub group_id: Option<Text>,
    pub priority: Option<i64>,
    /// The whole rule mapping, for diagnostics about the rule as a whole.
    pub span: Span,
}

impl RuleDef {
    /// The expression, if one is written and not empty (the reference treats an empty
    /// string like a missing key).
    pub fn expression(&self) -> Option<&Text> {
        self.expression.as_ref().filter(|e| !e.value.is_empty())
    }
}

impl MacroDef {
    /// The expression, if one is written and not empty.
    pub fn expression(&self) -> Option<&Text> {
        self.expression.as_ref().filter(|e| !e.value.is_empty())
    }
}

/// One item of a rule's `actions:` list (SPEC §13.4).
#[derive(Clone, Debug)]
pub struct ActionDef {
    pub filter: Option<Text>,
    pub kind: ActionKind,
    /// The whole list item.
    pub span: Span,
}

/// Actions are equal when they say the same thing, wherever they were written: an
/// `override` with `actions` appends only actions the rule does not already have.
impl PartialEq for ActionDef {
    fn eq(&self, other: &ActionDef) -> bool {
        self.filter == other.filter && self.kind == other.kind
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Boxed: it is several times larger than the other actions.
    Set(Box<SetAction>),
    Kill {
        signal: Option<Text>,
        scope: Option<Text>,
        disable_container_disarmer: bool,
        disable_executable_disarmer: bool,
    },
    Hash {
        field: Option<Text>,
        max_file_size: Option<i64>,
    },
    CoreDump {
        process: bool,
        mount: bool,
        dentry: bool,
        no_compression: bool,
    },
    Log {
        level: Option<Text>,
        message: Option<Text>,
    },
    NetworkFilter {
        filter: Option<Text>,
        policy: Option<Text>,
        scope: Option<Text>,
    },
    /// An item that does not hold exactly one well-formed action. The parser has already
    /// reported it (code `INVALID_ACTION`); the rule stays loaded without it.
    Invalid(String),
}

/// The `set` action (SPEC §8.2). Only decoded here; the checks of §8.2 need the model.
#[derive(Clone, Debug, PartialEq)]
pub struct SetAction {
    pub name: Option<Text>,
    pub scope: Option<Text>,
    pub value: Option<YamlValue>,
    pub field: Option<Text>,
    pub expression: Option<Text>,
    pub default_value: Option<YamlValue>,
    pub append: bool,
    pub ttl: Option<DurationValue>,
    pub size: Option<i64>,
    pub private: bool,
    pub inherited: bool,
    pub scope_field: Option<Text>,
}

/// A YAML value with the type YAML gave it: `value: 1` and `value: "1"` declare variables
/// of different types.
#[derive(Clone, Debug, PartialEq)]
pub enum YamlValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<YamlValue>),
    /// A mapping: never a valid variable value, kept so the checker can say so.
    Map(Vec<(String, YamlValue)>),
}

impl YamlValue {
    /// The YAML type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            YamlValue::Null => "null",
            YamlValue::Bool(_) => "bool",
            YamlValue::Int(_) => "int",
            YamlValue::Float(_) => "float",
            YamlValue::String(_) => "string",
            YamlValue::List(_) => "list",
            YamlValue::Map(_) => "mapping",
        }
    }
}

/// A duration key (`every`, `ttl`): the reference reads a YAML integer as nanoseconds and
/// anything else as a Go duration string, which the semantic layer parses.
#[derive(Clone, Debug, PartialEq)]
pub enum DurationValue {
    Nanos(i64),
    Text(Text),
}
