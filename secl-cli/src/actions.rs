//! Fired actions as JSON.

use secl::eval::rule::ActionKind;
use secl::eval::ruleset::RuleSet;
use serde_json::{Value, json};

pub fn action_json(rs: &RuleSet, rule: u32, index: u32) -> Value {
    let rule = rs.rule(rule);
    let Some(action) = rule.actions.get(index as usize) else { return Value::Null };
    let mut v = match &action.kind {
        ActionKind::Set(s) => {
            let name = rs.variables().decls().get(s.var.0 as usize).map(|d| d.name.as_str());
            json!({"type": "set", "variable": name, "append": s.append})
        }
        ActionKind::Kill { signal, signo, scope } => {
            json!({"type": "kill", "signal": signal, "signo": signo, "scope": scope})
        }
        ActionKind::Hash { field, max_file_size } => {
            json!({"type": "hash", "field": field, "max_file_size": max_file_size})
        }
        ActionKind::CoreDump { process, mount, dentry, no_compression } => {
            json!({"type": "coredump", "process": process, "mount": mount, "dentry": dentry, "no_compression": no_compression})
        }
        ActionKind::Log { level, message } => json!({"type": "log", "level": level, "message": message}),
        ActionKind::NetworkFilter { filter, policy, scope } => {
            json!({"type": "network_filter", "filter": filter, "policy": policy, "scope": scope})
        }
    };
    v["rule_id"] = json!(&*rule.id);
    v
}
