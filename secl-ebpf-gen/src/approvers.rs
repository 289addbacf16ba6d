//! Approvers (SPEC §15.1) and event-type selection.
//!
//! Per event type, over every rule of that type:
//! 1. for each rule and capable field, the literals the rule compares the field with
//!    ([`partial::field_values`]) are tried one by one: a value is an approver when
//!    partial evaluation gives "could match" with the field at that value and "certainly
//!    not" with a value that differs; for bitmasks every OR-combination is tried, ranges
//!    are probed at their bound;
//! 2. a value of a kind the capability does not accept, or one the capability rejects
//!    (a glob whose basename has a `*`), makes the field unusable for that rule;
//! 3. `datadog`: the rule keeps the usable field of highest weight, with the reference's
//!    partial evaluation (its `Not → true` convention) and no further check, exactly as
//!    the agent does. `secl`: every usable field whose values, projected on a kernel key,
//!    are *proven* implied by the rule (sound three-valued evaluation) joins the rule's
//!    guard, a conjunction the kernel checks;
//! 4. a rule with no usable field sends every event of its type to user space
//!    (`accept-all`, the rule is a culprit); an event type no rule uses is not hooked.

use crate::capabilities::{FieldCap, Key, Profile, Validate, for_event, types};
use crate::keys::{self, Entries};
use secl_eval::ir::CmpOp;
use secl_eval::matcher::StrMatcher;
use secl_eval::model::{FieldId, Schema};
use secl_eval::partial::{self, FieldValue, PValue, ValueKind};
use secl_eval::rule::Rule;
use secl_eval::value::ip::IpNet;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An approver value as the kernel maps hold it.
#[derive(Clone, Debug, PartialEq)]
pub enum AValue {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Inclusive bounds.
    Range(i64, i64),
    Ip(IpNet),
}

impl Serialize for AValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AValue::Str(v) => s.serialize_str(v),
            AValue::Int(i) => s.serialize_i64(*i),
            AValue::Bool(b) => s.serialize_bool(*b),
            AValue::Range(lo, hi) => [*lo, *hi].serialize(s),
            AValue::Ip(ip) => s.serialize_str(&ip.to_string()),
        }
    }
}

impl std::fmt::Display for AValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AValue::Str(v) => write!(f, "{v:?}"),
            AValue::Int(i) => write!(f, "{i}"),
            AValue::Bool(b) => write!(f, "{b}"),
            AValue::Range(lo, hi) => write!(f, "[{lo}, {hi}]"),
            AValue::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One approver value of a field.
#[derive(Clone, Debug)]
pub struct Approver {
    pub field: String,
    pub value: AValue,
    pub kind: ValueKind,
    pub matcher: Option<Arc<StrMatcher>>,
}

impl PartialEq for Approver {
    /// The reference's `FilterValues.Merge` identity: field, value and type.
    fn eq(&self, other: &Approver) -> bool {
        self.field == other.field && self.value == other.value && self.kind == other.kind
    }
}

/// The event type's filtering mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// No rule uses the event type: its probe is not attached.
    NotHooked,
    /// Every event is sent to user space.
    AcceptAll,
    /// Only events some guard approves are sent.
    Approve,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::NotHooked => "not-hooked",
            Mode::AcceptAll => "accept-all",
            Mode::Approve => "approve",
        }
    }
}

/// A constraint of a guard: the field's key must be in `entries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub field: String,
    pub key: Key,
    pub entries: Entries,
}

/// A conjunction of constraints the kernel checks; an event is sent when some guard of
/// its type holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// Ids of the rules this guard stands for.
    pub rules: Vec<String>,
    pub constraints: Vec<Constraint>,
}

impl Guard {
    fn slots(&self) -> Vec<(String, Key)> {
        let mut v: Vec<(String, Key)> = self.constraints.iter().map(|c| (c.field.clone(), c.key)).collect();
        v.sort();
        v
    }
}

/// A rule that forces `accept-all`.
#[derive(Clone, Debug, Serialize)]
pub struct Culprit {
    pub rule: String,
    pub message: String,
    pub hint: String,
}

/// The filtering decision for one event type.
#[derive(Clone, Debug, Serialize)]
pub struct EventTypeFilter {
    pub mode: Mode,
    /// Approver values per field (the union over rules), in capability order.
    #[serde(serialize_with = "ser_approvers")]
    pub approvers: Vec<(String, Vec<Approver>)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub culprits: Vec<Culprit>,
    #[serde(skip)]
    pub guards: Vec<Guard>,
    /// Rules of the event type.
    #[serde(skip)]
    pub rules: Vec<String>,
    /// The profile has no kernel filter for this event type.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_capability: bool,
}

fn ser_approvers<S: Serializer>(v: &[(String, Vec<Approver>)], s: S) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<&str, Vec<&AValue>> =
        v.iter().map(|(f, vals)| (f.as_str(), vals.iter().map(|a| &a.value).collect())).collect();
    map.serialize(s)
}

impl EventTypeFilter {
    pub fn approvers_of(&self, field: &str) -> Option<&[Approver]> {
        self.approvers.iter().find(|(f, _)| f == field).map(|(_, v)| v.as_slice())
    }
}

/// Approvers of every event type of the model.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub profile: Profile,
    pub event_types: BTreeMap<String, EventTypeFilter>,
}

/// The most guards one event type may have (one bit each in the kernel masks).
pub const MAX_GUARDS: usize = 64;

/// Computes approvers and guards for `rules` (one compiled rule per event type, as
/// [`secl_eval::load::Loaded::rules`] holds them).
pub fn analyze(rules: &[Rule], profile: Profile) -> Analysis {
    let schema = Schema::linux();
    let mut event_types = BTreeMap::new();
    for t in schema.event_types() {
        if t == "fim" {
            continue;
        }
        let bucket: Vec<&Rule> = rules.iter().filter(|r| &*r.event_type == t).collect();
        event_types.insert(t.to_owned(), event_type_filter(t, &bucket, profile));
    }
    Analysis { profile, event_types }
}

fn event_type_filter(t: &str, rules: &[&Rule], profile: Profile) -> EventTypeFilter {
    let ids: Vec<String> = rules.iter().map(|r| r.id.to_string()).collect();
    let mut out = EventTypeFilter {
        mode: Mode::NotHooked,
        approvers: Vec::new(),
        culprits: Vec::new(),
        guards: Vec::new(),
        rules: ids,
        no_capability: false,
    };
    if rules.is_empty() {
        return out;
    }
    out.mode = Mode::AcceptAll;
    let Some(caps) = for_event(profile, t) else {
        out.no_capability = true;
        return out;
    };
    let schema = Schema::linux();
    let mut approvers: Vec<(String, Vec<Approver>)> = caps.iter().map(|c| (c.field.clone(), Vec::new())).collect();
    let mut guards: Vec<Guard> = Vec::new();
    for rule in rules {
        let candidates: Vec<(usize, Vec<Approver>)> = caps
            .iter()
            .enumerate()
            .filter_map(|(i, cap)| {
                let id = schema.field(&cap.field)?.id;
                field_approvers(rule, id, cap, profile).map(|v| (i, v))
            })
            .collect();
        let guard = match profile {
            Profile::Datadog => {
                // The usable field of highest weight; the first one on ties.
                let mut best: Option<&(usize, Vec<Approver>)> = None;
                for c in &candidates {
                    if best.is_none_or(|b| caps[c.0].weight > caps[b.0].weight) {
                        best = Some(c);
                    }
                }
                best.map(|(i, vals)| {
                    merge_into(&mut approvers[*i].1, vals);
                    Vec::new()
                })
            }
            Profile::Secl => {
                let mut constraints = Vec::new();
                for (i, vals) in &candidates {
                    let cap = &caps[*i];
                    let id = schema.field(&cap.field).map(|f| f.id);
                    let mut used = false;
                    for key in &cap.keys {
                        let Some(mut entries) = keys::project(vals, *key) else { continue };
                        if let Some(narrow) = range_intersection(vals) {
                            // `f >= a && f <= b`: the intersection, when the rule implies it.
                            if *key == Key::Ranges && id.is_some_and(|id| keys::implies(&rule.node, id, *key, &narrow))
                            {
                                entries = narrow;
                            }
                        }
                        if entries.is_empty() || !id.is_some_and(|id| keys::implies(&rule.node, id, *key, &entries)) {
                            continue;
                        }
                        constraints.push(Constraint { field: cap.field.clone(), key: *key, entries });
                        used = true;
                    }
                    if used {
                        merge_into(&mut approvers[*i].1, vals);
                    }
                }
                (!constraints.is_empty()).then_some(constraints)
            }
        };
        match guard {
            Some(constraints) => {
                if profile == Profile::Secl {
                    guards.push(Guard { rules: vec![rule.id.to_string()], constraints });
                }
            }
            None => out.culprits.push(culprit(t, rule, &caps)),
        }
    }
    approvers.retain(|(_, v)| !v.is_empty());
    if !out.culprits.is_empty() {
        // No approvers at all for the event type (SPEC §15.1 step 6).
        return out;
    }
    out.mode = Mode::Approve;
    if profile == Profile::Datadog {
        guards = reference_guards(&approvers, &caps, &out.rules);
    }
    out.guards = limit_guards(dedup_guards(guards), &caps);
    out.approvers = approvers;
    out
}

/// The reference lowering: one guard per approver field, OR-ed in kernel.
fn reference_guards(approvers: &[(String, Vec<Approver>)], caps: &[FieldCap], rules: &[String]) -> Vec<Guard> {
    let mut guards: Vec<Guard> = Vec::new();
    for (field, vals) in approvers {
        let Some(cap) = caps.iter().find(|c| &c.field == field) else { continue };
        let key = cap.keys[0];
        let (slot_field, entries) = match key {
            Key::InetFamily => {
                let family = field.rsplit_once(".addr.").map(|(t, _)| format!("{t}.addr.family")).unwrap_or_default();
                (family, Entries::Ints(vec![crate::capabilities::AF_INET, crate::capabilities::AF_INET6]))
            }
            Key::Flags => (field.clone(), Entries::Mask(keys::reference_mask(vals))),
            Key::Basename => {
                let mut v = Vec::new();
                for a in vals {
                    if let Some(e) = a.matcher.as_deref().and_then(|m| keys::project_matcher(m, Key::Basename)) {
                        v.extend(e);
                    } else if let AValue::Str(s) = &a.value {
                        v.push(keys::StrEntry::exact(keys::go_path_base(s)));
                    }
                }
                v.dedup();
                (field.clone(), Entries::Strings(v))
            }
            Key::Ranges => {
                // Scalars as points; ranges merged into one (the reference's min/max).
                let mut points = Vec::new();
                let mut range: Option<(i64, i64)> = None;
                for a in vals {
                    match a.value {
                        AValue::Int(i) => points.push((i, i)),
                        AValue::Range(lo, hi) => {
                            range = Some(range.map_or((lo, hi), |(l, h)| (l.min(lo), h.max(hi))));
                        }
                        _ => {}
                    }
                }
                points.extend(range);
                (field.clone(), Entries::Ranges(points))
            }
            other => match keys::project(vals, other) {
                Some(e) => (field.clone(), e),
                None => continue,
            },
        };
        match guards.iter_mut().find(|g| g.constraints[0].field == slot_field && g.constraints[0].key == key_of(key)) {
            Some(g) => g.constraints[0].entries.union(&entries),
            None => guards.push(Guard {
                rules: rules.to_vec(),
                constraints: vec![Constraint { field: slot_field, key: key_of(key), entries }],
            }),
        }
    }
    guards
}

/// The map a key's entries live in (the reference's family approvers are ints).
fn key_of(k: Key) -> Key {
    if k == Key::InetFamily { Key::Int } else { k }
}

fn dedup_guards(guards: Vec<Guard>) -> Vec<Guard> {
    let mut out: Vec<Guard> = Vec::new();
    for g in guards {
        match out.iter_mut().find(|o| o.constraints == g.constraints) {
            Some(o) => o.rules.extend(g.rules),
            None => out.push(g),
        }
    }
    out
}

/// Keeps at most [`MAX_GUARDS`] guards: guards over the same keys are merged (the union
/// of their entries per key: weaker, still sound), then, if needed, every guard is cut
/// down to its heaviest field before merging again.
fn limit_guards(mut guards: Vec<Guard>, caps: &[FieldCap]) -> Vec<Guard> {
    if guards.len() <= MAX_GUARDS {
        return guards;
    }
    guards = merge_same_slots(guards);
    if guards.len() <= MAX_GUARDS {
        return guards;
    }
    let weight = |f: &str| caps.iter().find(|c| c.field == f).map_or(0, |c| c.weight);
    for g in &mut guards {
        let best = g.constraints.iter().max_by_key(|c| weight(&c.field)).cloned();
        g.constraints = best.into_iter().collect();
    }
    merge_same_slots(guards)
}

fn merge_same_slots(guards: Vec<Guard>) -> Vec<Guard> {
    let mut out: Vec<Guard> = Vec::new();
    for g in guards {
        match out.iter_mut().find(|o| o.slots() == g.slots()) {
            Some(o) => {
                o.rules.extend(g.rules.iter().cloned());
                for c in &g.constraints {
                    if let Some(oc) = o.constraints.iter_mut().find(|oc| oc.field == c.field && oc.key == c.key) {
                        oc.entries.union(&c.entries);
                    }
                }
            }
            None => out.push(g),
        }
    }
    out
}

/// The intersection of a rule's range approvers, when it has several.
fn range_intersection(vals: &[Approver]) -> Option<Entries> {
    let ranges: Vec<(i64, i64)> =
        vals.iter().filter_map(|a| if let AValue::Range(lo, hi) = a.value { Some((lo, hi)) } else { None }).collect();
    if ranges.len() < 2 {
        return None;
    }
    let lo = ranges.iter().map(|r| r.0).max()?;
    let hi = ranges.iter().map(|r| r.1).min()?;
    (lo <= hi).then(|| Entries::Ranges(vec![(lo, hi)]))
}

fn merge_into(into: &mut Vec<Approver>, vals: &[Approver]) {
    for v in vals {
        if !into.contains(v) {
            into.push(v.clone());
        }
    }
}

fn culprit(t: &str, rule: &Rule, caps: &[FieldCap]) -> Culprit {
    let fields: Vec<&str> = caps.iter().map(|c| c.field.as_str()).collect();
    Culprit {
        rule: rule.id.to_string(),
        message: format!("this rule sends every `{t}` event to user space: it constrains no kernel-filterable field"),
        hint: format!(
            "add a condition that every match satisfies on one of {} (a literal value, a list, a flag mask; path \
             globs need a literal basename or prefix), outside any `||` branch that does not have it",
            fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn type_bit(kind: ValueKind) -> u8 {
    match kind {
        ValueKind::Scalar => types::SCALAR,
        ValueKind::Pattern => types::PATTERN,
        ValueKind::Glob => types::GLOB,
        ValueKind::Bitmask => types::BITMASK,
        ValueKind::Range(_) => types::RANGE,
        ValueKind::IpNet => types::IPNET,
        ValueKind::Regex | ValueKind::Dynamic => 0,
    }
}

/// The approver values of one field for one rule, `None` when the field is unusable.
fn field_approvers(rule: &Rule, field: FieldId, cap: &FieldCap, profile: Profile) -> Option<Vec<Approver>> {
    let pe = |v: &PValue| match profile {
        Profile::Datadog => partial::reference_eval(&rule.node, field, v),
        Profile::Secl => partial::could_match(&rule.node, field, v),
    };
    let mut out: Vec<Approver> = Vec::new();
    let mut bitmasks: Vec<i64> = Vec::new();
    let values: Vec<FieldValue> = partial::field_values(&rule.node).into_iter().filter(|v| v.field == field).collect();
    for v in &values {
        if cap.types & types::BITMASK != 0 && matches!(v.kind, ValueKind::Range(_)) {
            // The reference ignores ranges on bitmask fields (`flags & M > 0`).
            continue;
        }
        if cap.types & type_bit(v.kind) == 0 {
            return None;
        }
        let found = match v.kind {
            ValueKind::Bitmask => {
                if let PValue::Int(m) = v.value
                    && !bitmasks.contains(&m)
                {
                    bitmasks.push(m);
                }
                continue;
            }
            ValueKind::IpNet if profile == Profile::Secl => {
                // Networks are approvers when the rule cannot match without them.
                let PValue::Ip(ip) = v.value else { continue };
                Some((ValueKind::IpNet, AValue::Ip(ip)))
            }
            ValueKind::IpNet => None,
            _ => is_approver(&pe, cap, v),
        };
        let Some((kind, value)) = found else { continue };
        let a = Approver { field: cap.field.clone(), value, kind, matcher: v.matcher.clone() };
        if !validate(cap, &a) {
            return None;
        }
        if !out.contains(&a) {
            out.push(a);
        }
    }
    for mask in combinations(&bitmasks) {
        let v = PValue::Int(mask);
        let not = PValue::Int(!mask);
        if pe(&v) && !pe(&not) {
            let a = Approver {
                field: cap.field.clone(),
                value: AValue::Int(mask),
                kind: ValueKind::Bitmask,
                matcher: None,
            };
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Every non-empty OR-combination of the masks (at most 2^10 - 1 of them).
fn combinations(masks: &[i64]) -> Vec<i64> {
    let masks = &masks[..masks.len().min(10)];
    (1..(1u32 << masks.len()))
        .map(|i| masks.iter().enumerate().filter(|(j, _)| i & (1 << j) != 0).fold(0, |m, (_, v)| m | v))
        .collect()
}

/// A range probe: the operator, (value inside, value outside) results, the range.
type Probe = (CmpOp, Option<(bool, bool)>, (i64, i64));

fn is_approver(pe: &dyn Fn(&PValue) -> bool, cap: &FieldCap, v: &FieldValue) -> Option<(ValueKind, AValue)> {
    if let (ValueKind::Range(op), PValue::Int(c)) = (v.kind, &v.value) {
        let c = *c;
        let (min, max) = cap.range.unwrap_or((i64::MIN, i64::MAX));
        let at = |x: i64| pe(&PValue::Int(x));
        let tries: [Probe; 4] = [
            (CmpOp::Le, c.checked_add(1).map(|n| (at(c), at(n))), (min, c)),
            (CmpOp::Lt, c.checked_sub(1).map(|p| (at(p), at(c))), (min, c.saturating_sub(1))),
            (CmpOp::Ge, c.checked_sub(1).map(|p| (at(c), at(p))), (c, max)),
            (CmpOp::Gt, c.checked_add(1).map(|n| (at(n), at(c))), (c.saturating_add(1), max)),
        ];
        let _ = op;
        for (_, probe, (lo, hi)) in tries {
            if let Some((inside, outside)) = probe
                && inside
                && !outside
            {
                return Some((ValueKind::Range(CmpOp::Ge), AValue::Range(lo, hi)));
            }
        }
        return None;
    }
    let not = v.value.not_of()?;
    let isaa = |a: &PValue, b: &PValue| pe(a) && !pe(b);
    if isaa(&v.value, &not) {
        return Some((v.kind, to_avalue(&v.value)?));
    }
    if let (Some(x), PValue::Int(i)) = (cap.not_value_as_range, &v.value)
        && *i == x
        && isaa(&not, &v.value)
    {
        let lo = cap.range.map_or(i64::MIN, |r| r.0);
        return Some((ValueKind::Range(CmpOp::Ge), AValue::Range(lo, x - 1)));
    }
    None
}

fn to_avalue(v: &PValue) -> Option<AValue> {
    match v {
        PValue::Bool(b) => Some(AValue::Bool(*b)),
        PValue::Int(i) => Some(AValue::Int(*i)),
        PValue::Str(s) => Some(AValue::Str(s.clone())),
        PValue::Ip(ip) => Some(AValue::Ip(*ip)),
        PValue::Strs(_) => None,
    }
}

fn validate(cap: &FieldCap, a: &Approver) -> bool {
    match cap.validate {
        Validate::None => true,
        Validate::Basename => match (a.kind, &a.value) {
            (ValueKind::Scalar, _) => true,
            (ValueKind::Glob, AValue::Str(s)) => !keys::go_path_base(s).contains('*'),
            _ => false,
        },
    }
}
