//! Compiled rules and actions: the output of loading a policy, input of every engine.

use crate::ir::{FieldLoad, Lit, Node, Register, VarId};
use crate::model::FieldId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One compiled rule for one event type. A FIM rule (SPEC §11) compiles to several.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Arc<str>,
    pub event_type: Arc<str>,
    pub node: Node,
    pub register: Option<Register>,
    /// Fields the rule reads (event-type inference included), sorted and deduplicated.
    pub fields: Vec<FieldId>,
    pub actions: Vec<Action>,
    pub meta: Arc<RuleMeta>,
}

/// What a rule says about itself; shared by the expansions of one definition.
#[derive(Clone, Debug, Default)]
pub struct RuleMeta {
    pub id: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub product_tags: Vec<String>,
    pub silent: bool,
    pub policy: String,
    /// `file:line:col` of the definition.
    pub location: String,
    pub expression: String,
}

/// A compiled action with its optional `filter`.
#[derive(Clone, Debug)]
pub struct Action {
    pub filter: Option<Node>,
    pub kind: ActionKind,
}

#[derive(Clone, Debug)]
pub enum ActionKind {
    Set(SetAction),
    /// Returned to the embedder: the engine does not kill.
    Kill {
        signal: String,
        signo: i64,
        scope: String,
    },
    Hash {
        field: String,
        max_file_size: Option<i64>,
    },
    CoreDump {
        process: bool,
        mount: bool,
        dentry: bool,
        no_compression: bool,
    },
    Log {
        level: String,
        message: String,
    },
    NetworkFilter {
        filter: String,
        policy: Option<String>,
        scope: String,
    },
}

#[derive(Clone, Debug)]
pub struct SetAction {
    pub var: VarId,
    pub source: SetSource,
    pub append: bool,
    pub ttl_ns: Option<i64>,
    pub size: usize,
    pub inherited: bool,
    /// Process scope only: the pid field selecting the process (newest agents).
    pub scope_field: Option<FieldId>,
}

#[derive(Clone, Debug)]
pub enum SetSource {
    Value(Lit),
    Field(FieldLoad),
    Expression(Node),
}

/// The initial state of a declared variable (SPEC §8.1).
#[derive(Clone, Debug)]
pub struct VarInit {
    pub var: VarId,
    /// The value a global variable holds before any `set` (its `default_value`, else its
    /// `value`); scoped variables start at the zero value.
    pub initial: Option<Lit>,
    pub size: usize,
    pub ttl_ns: Option<i64>,
}
