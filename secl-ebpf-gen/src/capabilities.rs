//! What the kernel side can filter on: per event type, the approver-capable fields, the
//! kinds of literal values each accepts, its weight, and how its values become kernel
//! map keys ([`Key`]).
//!
//! Two profiles: [`Profile::Datadog`] declares exactly the reference's capabilities
//! (SPEC §15.1, agent 7.70); [`Profile::Secl`] is ours: everything `datadog` has, with
//! whole-path and prefix keys besides basenames, plus exec, network and DNS fields.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A set of capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The reference agent's approvers, computed by its algorithm.
    Datadog,
    /// Ours (the default): richer keys, sound partial evaluation, per-rule guards.
    #[default]
    Secl,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Datadog => "datadog",
            Profile::Secl => "secl",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "datadog" => Ok(Profile::Datadog),
            "secl" => Ok(Profile::Secl),
            other => Err(format!("unknown profile `{other}`: use datadog or secl")),
        }
    }
}

/// Value kinds a capability accepts (the reference's `FieldValueType` bits).
pub mod types {
    pub const SCALAR: u8 = 1;
    pub const PATTERN: u8 = 2;
    pub const GLOB: u8 = 4;
    pub const BITMASK: u8 = 8;
    pub const RANGE: u8 = 16;
    pub const IPNET: u8 = 32;
}

/// How the kernel turns a field into a map key, and how approver values project onto
/// that key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// The last path element (the dentry name), exact or by prefix.
    Basename,
    /// The whole path, exact or by prefix (an LPM trie over the bytes).
    Path,
    /// The whole string, exact or by prefix.
    Str,
    /// The whole string read backwards: suffixes become prefixes.
    StrRev,
    /// ASCII-lower-cased string (case-insensitive fields), exact or by prefix; strings
    /// with non-ASCII bytes are always approved.
    Folded,
    /// [`Key::Folded`] read backwards.
    FoldedRev,
    /// An exact integer (bools as 0/1).
    Int,
    /// `value & mask != 0` for a per-guard mask.
    Flags,
    /// `lo <= value <= hi`.
    Ranges,
    /// An address in a network (LPM trie).
    Cidr,
    /// The reference's network approvers: any value of the field only lets the kernel
    /// check the address family of the named field (`AF_INET`/`AF_INET6`).
    InetFamily,
}

impl Key {
    pub fn name(self) -> &'static str {
        match self {
            Key::Basename => "basename",
            Key::Path => "path",
            Key::Str => "str",
            Key::StrRev => "str_rev",
            Key::Folded => "folded",
            Key::FoldedRev => "folded_rev",
            Key::Int => "int",
            Key::Flags => "flags",
            Key::Ranges => "ranges",
            Key::Cidr => "cidr",
            Key::InetFamily => "inet_family",
        }
    }

    /// Whether the key is matched through the string LPM map.
    pub fn is_string(self) -> bool {
        matches!(self, Key::Basename | Key::Path | Key::Str | Key::StrRev | Key::Folded | Key::FoldedRev)
    }
}

/// The reference's validation of a value for a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validate {
    None,
    /// Scalars, and globs whose basename has no `*` (`validateBasenameFilter`).
    Basename,
}

/// One approver-capable field of an event type.
#[derive(Clone, Debug)]
pub struct FieldCap {
    pub field: String,
    /// Accepted value kinds, [`types`] bits.
    pub types: u8,
    pub weight: i32,
    pub validate: Validate,
    /// Approver-only (never a discarder source): `process.auid`.
    pub approver_only: bool,
    /// Bounds of range approvers.
    pub range: Option<(i64, i64)>,
    /// `field != X` becomes the range `[range.0, X - 1]` (the reference turns
    /// `process.auid != AUDIT_AUID_UNSET` into "any set auid").
    pub not_value_as_range: Option<i64>,
    /// Kernel keys the values project onto; the first is the reference's.
    pub keys: Vec<Key>,
}

impl FieldCap {
    fn new(field: impl Into<String>, types: u8, weight: i32, keys: &[Key]) -> FieldCap {
        FieldCap {
            field: field.into(),
            types,
            weight,
            validate: Validate::None,
            approver_only: false,
            range: None,
            not_value_as_range: None,
            keys: keys.to_vec(),
        }
    }

    fn validated(mut self) -> FieldCap {
        self.validate = Validate::Basename;
        self
    }
}

/// `AUDIT_AUID_UNSET`.
pub const AUDIT_AUID_UNSET: i64 = 4_294_967_295;
pub const AF_INET: i64 = 2;
pub const AF_INET6: i64 = 10;

use types::{BITMASK, GLOB, IPNET, PATTERN, RANGE, SCALAR};

/// Event types with file path approvers on `file` only.
const ONE_FILE: [&str; 7] = ["chmod", "chown", "mkdir", "rmdir", "unlink", "utimes", "chdir"];
/// Event types with a source and a destination file.
const TWO_FILES: [&str; 2] = ["link", "rename"];

fn auid(profile: Profile) -> FieldCap {
    let mut c = FieldCap::new("process.auid", SCALAR | RANGE, 10, &[Key::Ranges]);
    c.approver_only = true;
    if profile == Profile::Datadog {
        // Agent 7.70: clamped ranges; `!= AUDIT_AUID_UNSET` was not yet turned into a
        // range (`HandleNotApproverValue` came later).
        c.range = Some((0, AUDIT_AUID_UNSET - 1));
    }
    c
}

fn files(
    profile: Profile,
    event: &str,
    objects: &[&str],
    path_types: u8,
    path_weight: i32,
    name_weight: i32,
) -> Vec<FieldCap> {
    let mut out = Vec::new();
    for o in objects {
        match profile {
            Profile::Datadog => {
                out.push(
                    FieldCap::new(format!("{event}.{o}.path"), path_types, path_weight, &[Key::Basename]).validated(),
                );
                out.push(FieldCap::new(format!("{event}.{o}.name"), SCALAR, name_weight, &[Key::Str]));
            }
            Profile::Secl => {
                let keys = [Key::Path, Key::Basename];
                out.push(FieldCap::new(format!("{event}.{o}.path"), SCALAR | PATTERN | GLOB, path_weight, &keys));
                out.push(FieldCap::new(
                    format!("{event}.{o}.name"),
                    SCALAR | PATTERN,
                    name_weight,
                    &[Key::Str, Key::StrRev],
                ));
            }
        }
    }
    out
}

fn flags(field: &str) -> FieldCap {
    FieldCap::new(field, SCALAR | BITMASK, 0, &[Key::Flags])
}

fn ints(field: &str, weight: i32) -> FieldCap {
    FieldCap::new(field, SCALAR, weight, &[Key::Int])
}

fn network(profile: Profile, event: &str, hostname: bool) -> Vec<FieldCap> {
    let family = format!("{event}.addr.family");
    let mut out = vec![ints(&family, 50)];
    match profile {
        Profile::Datadog => {
            let implied =
                |f: &str, types: u8, w: i32| FieldCap::new(format!("{event}.addr.{f}"), types, w, &[Key::InetFamily]);
            out.push(implied("port", SCALAR, 80));
            out.push(implied("ip", IPNET, 90));
            out.push(implied("is_public", SCALAR, 70));
            if hostname {
                out.push(implied("hostname", SCALAR, 100));
            }
        }
        Profile::Secl => {
            out.push(FieldCap::new(format!("{event}.addr.port"), SCALAR | RANGE, 80, &[Key::Int, Key::Ranges]));
            out.push(FieldCap::new(format!("{event}.addr.ip"), IPNET, 90, &[Key::Cidr]));
            out.push(ints(&format!("{event}.addr.is_public"), 70));
            if hostname {
                out.push(FieldCap::new(
                    format!("{event}.addr.hostname"),
                    SCALAR | PATTERN,
                    100,
                    &[Key::Str, Key::StrRev],
                ));
            }
            out.push(process_name());
        }
    }
    out
}

/// The basename of the current task's executable (`mm->exe_file`), known in kernel.
fn process_name() -> FieldCap {
    FieldCap::new("process.file.name", SCALAR | PATTERN, 5, &[Key::Str, Key::StrRev])
}

/// The capabilities of one event type, in the order the reference tries them (ties in
/// weight go to the first); `None` when the kernel cannot filter that event type.
pub fn for_event(profile: Profile, event_type: &str) -> Option<Vec<FieldCap>> {
    let secl = profile == Profile::Secl;
    let caps = match event_type {
        t if ONE_FILE.contains(&t) => {
            let mut c = files(profile, t, &["file"], SCALAR | PATTERN | GLOB, 0, 0);
            c.push(auid(profile));
            c
        }
        t if TWO_FILES.contains(&t) => {
            let mut c = files(profile, t, &["file", "file.destination"], SCALAR | GLOB, 0, 0);
            c.push(auid(profile));
            c
        }
        "open" => {
            let mut c = vec![flags("open.flags")];
            // Agent 7.70: a basename from `open.file.name` beats one derived from a path.
            c.extend(files(profile, "open", &["file"], SCALAR | PATTERN | GLOB, 15, 300));
            c.push(auid(profile));
            c
        }
        "mmap" => {
            let mut c = files(profile, "mmap", &["file"], SCALAR | PATTERN, 0, 0);
            c.push(flags("mmap.protection"));
            c.push(flags("mmap.flags"));
            c
        }
        "mprotect" => vec![flags("mprotect.req_protection"), flags("mprotect.vm_protection")],
        "splice" => {
            let mut c = files(profile, "splice", &["file"], SCALAR | PATTERN, 0, 0);
            c.push(flags("splice.pipe_entry_flag"));
            c.push(flags("splice.pipe_exit_flag"));
            c
        }
        "bpf" => vec![FieldCap::new("bpf.cmd", SCALAR | BITMASK, 0, &[Key::Int])],
        "sysctl" => vec![flags("sysctl.action")],
        "prctl" => vec![ints("prctl.option", 0)],
        "setsockopt" => vec![ints("setsockopt.level", 0), ints("setsockopt.optname", 0)],
        "connect" => network(profile, "connect", true),
        "bind" => network(profile, "bind", false),
        "accept" if secl => network(profile, "accept", false),
        "exec" if secl => vec![
            FieldCap::new("exec.file.path", SCALAR | PATTERN | GLOB, 20, &[Key::Path, Key::Basename]),
            FieldCap::new("exec.file.name", SCALAR | PATTERN, 15, &[Key::Str, Key::StrRev]),
            FieldCap::new("exec.comm", SCALAR | PATTERN, 10, &[Key::Str, Key::StrRev]),
        ],
        "dns" if secl => vec![
            FieldCap::new("dns.question.name", SCALAR | PATTERN, 20, &[Key::Folded, Key::FoldedRev]),
            ints("dns.question.type", 10),
            process_name(),
        ],
        _ => return None,
    };
    Some(caps)
}

/// Event types with at least one capability in the profile.
pub fn filterable_event_types(profile: Profile) -> Vec<&'static str> {
    secl_eval::model::Schema::linux().event_types().into_iter().filter(|t| for_event(profile, t).is_some()).collect()
}

/// Fields whose values can become discarders (SPEC §15.2): file paths of file events.
pub fn discarder_fields(event_type: &str) -> Vec<String> {
    match event_type {
        t if ONE_FILE.contains(&t) || t == "open" => vec![format!("{t}.file.path")],
        t if TWO_FILES.contains(&t) => vec![format!("{t}.file.path"), format!("{t}.file.destination.path")],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_field_exists() {
        let schema = secl_eval::model::Schema::linux();
        for profile in [Profile::Datadog, Profile::Secl] {
            for t in schema.event_types() {
                for c in for_event(profile, t).unwrap_or_default() {
                    assert!(schema.field(&c.field).is_some(), "{profile}: unknown field {}", c.field);
                }
                for f in discarder_fields(t) {
                    assert!(schema.field(&f).is_some(), "unknown discarder field {f}");
                }
            }
        }
    }

    #[test]
    fn secl_covers_datadog() {
        for t in filterable_event_types(Profile::Datadog) {
            let secl = for_event(Profile::Secl, t).expect("secl has every datadog event type");
            for c in for_event(Profile::Datadog, t).unwrap() {
                assert!(secl.iter().any(|s| s.field == c.field), "{t}: secl lacks {}", c.field);
            }
        }
        for t in ["exec", "connect", "bind", "accept", "dns"] {
            assert!(for_event(Profile::Secl, t).is_some(), "{t}");
        }
    }
}
