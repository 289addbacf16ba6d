//! [`JsonEvent`]: an [`Event`] read from the fixture format
//! (`{"type": "exec", "values": {...}, "timestamp": ns}`), also Datadog's own
//! `runtime policy eval` event files (`{"Type", "Values"}`).
//!
//! Fields the sensor derives are derived here when absent, the way the agent does:
//! `*.args*` from `*.argv`, `*.file.name` from `*.file.path`, `.length` fields,
//! `process.parent.*` from ancestor 0, `process.*` from `exec.*` on exec events (the
//! exec'd process is the event's process), `process.ancestors.length`.

use crate::event::{Event, StrList, Value, element_of};
use crate::model::{ConstValue, FieldDef, FieldId, ScalarType, Schema};
use crate::value::ip::IpNet;
use serde_json::Value as Json;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
enum Stored {
    Bool(bool),
    Int(i64),
    Str(String),
    Ip(IpNet),
    Bools(Vec<bool>),
    Ints(Vec<i64>),
    Strs(Vec<String>),
    Ips(Vec<IpNet>),
    /// A per-element array field (`process.ancestors.argv`): the flattened elements and
    /// each element's own list.
    Nested(Vec<String>, Vec<Vec<String>>),
}

/// An event parsed from JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonEvent {
    event_type: String,
    /// Sorted by field id.
    values: Vec<(FieldId, Stored)>,
    /// Open-addressing index from field id to position in `values` (+1; 0 is empty), so
    /// that a field read is one or two probes rather than a binary search.
    index: Vec<u16>,
    timestamp: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonEventError(pub String);

impl fmt::Display for JsonEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonEventError {}

fn err<T>(msg: impl Into<String>) -> Result<T, JsonEventError> {
    Err(JsonEventError(msg.into()))
}

impl JsonEvent {
    pub fn from_str(text: &str) -> Result<JsonEvent, JsonEventError> {
        let json: Json = serde_json::from_str(text).map_err(|e| JsonEventError(format!("invalid JSON: {e}")))?;
        JsonEvent::from_json(&json)
    }

    pub fn from_json(json: &Json) -> Result<JsonEvent, JsonEventError> {
        let schema = Schema::linux();
        let Json::Object(obj) = json else { return err("an event must be a JSON object") };
        let get = |key: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);
        let Some(Json::String(event_type)) = get("type") else {
            return err("the event has no `type` string");
        };
        if !schema.event_types().contains(&event_type.as_str()) || event_type == "fim" {
            let mut msg = format!("unknown event type `{event_type}`");
            if let Some(s) = crate::suggest::closest(event_type, schema.event_types().into_iter()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            return err(msg);
        }
        let timestamp = match get("timestamp") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => {
                Some(n.as_i64().ok_or_else(|| JsonEventError("`timestamp` must be an integer (ns)".into()))?)
            }
            Some(_) => return err("`timestamp` must be an integer (ns)"),
        };
        let mut ev = JsonEvent { event_type: event_type.clone(), values: Vec::new(), index: Vec::new(), timestamp };
        match get("values") {
            None | Some(Json::Null) => {}
            Some(Json::Object(values)) => {
                for (name, v) in values {
                    let Some(def) = schema.lookup(name) else {
                        let mut msg = format!("unknown field `{name}`");
                        if let Some(s) = schema.suggest_field(name) {
                            msg.push_str(&format!(" (did you mean `{s}`?)"));
                        }
                        return err(msg);
                    };
                    if let Some(t) = &def.event_type {
                        if t != event_type {
                            return err(format!("field `{name}` belongs to `{t}` events, not `{event_type}`"));
                        }
                    }
                    let stored = convert(schema, def, v)?;
                    ev.set(def.id, stored);
                }
            }
            Some(_) => return err("`values` must be an object"),
        }
        if let Some(ts) = timestamp {
            if let Some(f) = schema.field("event.timestamp") {
                ev.set_default(f.id, Stored::Int(ts));
            }
        }
        ev.derive(schema);
        ev.build_index();
        Ok(ev)
    }

    /// Sets a field (replacing any value); for embedders building events by hand.
    fn set(&mut self, id: FieldId, v: Stored) {
        match self.values.binary_search_by_key(&id, |(k, _)| *k) {
            Ok(i) => self.values[i].1 = v,
            Err(i) => self.values.insert(i, (id, v)),
        }
    }

    fn set_default(&mut self, id: FieldId, v: Stored) {
        if let Err(i) = self.values.binary_search_by_key(&id, |(k, _)| *k) {
            self.values.insert(i, (id, v));
        }
    }

    fn build_index(&mut self) {
        let size = (self.values.len() * 2).next_power_of_two().max(8);
        self.index = vec![0; size];
        for (pos, (id, _)) in self.values.iter().enumerate() {
            let mut slot = slot_of(*id, size);
            while self.index[slot] != 0 {
                slot = (slot + 1) & (size - 1);
            }
            self.index[slot] = pos as u16 + 1;
        }
    }

    #[inline]
    fn get(&self, id: FieldId) -> Option<&Stored> {
        let size = self.index.len();
        if size == 0 {
            return self.values.binary_search_by_key(&id, |(k, _)| *k).ok().map(|i| &self.values[i].1);
        }
        let mut slot = slot_of(id, size);
        loop {
            let pos = self.index[slot];
            if pos == 0 {
                return None;
            }
            let (k, v) = &self.values[pos as usize - 1];
            if *k == id {
                return Some(v);
            }
            slot = (slot + 1) & (size - 1);
        }
    }

    fn derive(&mut self, schema: &Schema) {
        // exec: the event's process is the exec'd one.
        if self.event_type == "exec" {
            self.copy_prefix(schema, "exec.", "process.");
            self.copy_prefix(schema, "process.", "exec.");
        }
        // process.parent.* is ancestor 0 unless given.
        let given: Vec<(String, Stored)> = self.named(schema, "process.ancestors.");
        for (name, v) in given {
            let suffix = &name["process.ancestors.".len()..];
            if suffix == "length" {
                continue;
            }
            if let Some(parent) = schema.field(&format!("process.parent.{suffix}")) {
                let first = match &v {
                    Stored::Bools(a) => a.first().map(|b| Stored::Bool(*b)),
                    Stored::Ints(a) => a.first().map(|i| Stored::Int(*i)),
                    Stored::Strs(a) => a.first().map(|s| Stored::Str(s.clone())),
                    Stored::Ips(a) => a.first().map(|i| Stored::Ip(*i)),
                    Stored::Nested(_, n) => n.first().map(|l| Stored::Strs(l.clone())),
                    _ => None,
                };
                if let Some(first) = first {
                    self.set_default(parent.id, first);
                }
            }
        }
        self.derive_args(schema);
        self.derive_names(schema);
        self.derive_lengths(schema);
    }

    fn named(&self, schema: &Schema, prefix: &str) -> Vec<(String, Stored)> {
        self.values
            .iter()
            .map(|(id, v)| (schema.field_by_id(*id).name.clone(), v.clone()))
            .filter(|(n, _)| n.starts_with(prefix))
            .collect()
    }

    fn copy_prefix(&mut self, schema: &Schema, from: &str, to: &str) {
        for (name, v) in self.named(schema, from) {
            if let Some(target) = schema.field(&format!("{to}{}", &name[from.len()..])) {
                if target.event_type.is_none() || target.event_type.as_deref() == Some(self.event_type.as_str()) {
                    self.set_default(target.id, v);
                }
            }
        }
    }

    fn derive_args(&mut self, schema: &Schema) {
        let argvs: Vec<(String, Stored)> = self
            .values
            .iter()
            .map(|(id, v)| (schema.field_by_id(*id).name.clone(), v.clone()))
            .filter(|(n, _)| n.ends_with(".argv"))
            .collect();
        for (name, v) in argvs {
            let prefix = &name[..name.len() - "argv".len()];
            let lists: Vec<Vec<String>> = match v {
                Stored::Strs(a) => vec![a],
                Stored::Nested(_, n) => n,
                _ => continue,
            };
            let nested = schema.field(&name).and_then(|f| f.iterator.clone()).is_some();
            let derive = |f: &dyn Fn(&[String]) -> Vec<String>| -> Stored {
                let per: Vec<Vec<String>> = lists.iter().map(|l| f(l)).collect();
                if nested { Stored::Nested(per.concat(), per) } else { Stored::Strs(per.concat()) }
            };
            if let Some(d) = schema.field(&format!("{prefix}args")) {
                let joined: Vec<String> = lists.iter().map(|l| crate::value::args::args(l)).collect();
                let v = if d.is_array { Stored::Strs(joined) } else { Stored::Str(joined.concat()) };
                self.set_default(d.id, v);
            }
            if let Some(d) = schema.field(&format!("{prefix}args_flags")) {
                self.set_default(d.id, derive(&|l| crate::value::args::args_flags(l)));
            }
            if let Some(d) = schema.field(&format!("{prefix}args_options")) {
                self.set_default(d.id, derive(&|l| crate::value::args::args_options(l)));
            }
        }
    }

    fn derive_names(&mut self, schema: &Schema) {
        let paths: Vec<(String, Stored)> = self
            .values
            .iter()
            .map(|(id, v)| (schema.field_by_id(*id).name.clone(), v.clone()))
            .filter(|(n, _)| n.ends_with(".file.path"))
            .collect();
        for (name, v) in paths {
            let Some(d) = schema.field(&format!("{}name", &name[..name.len() - "path".len()])) else { continue };
            let v = match v {
                Stored::Str(p) => Stored::Str(basename(&p).to_owned()),
                Stored::Strs(a) => Stored::Strs(a.iter().map(|p| basename(p).to_owned()).collect()),
                _ => continue,
            };
            self.set_default(d.id, v);
        }
    }

    fn derive_lengths(&mut self, schema: &Schema) {
        let mut derived = Vec::new();
        let mut ancestors = 0usize;
        for (id, v) in &self.values {
            let f = schema.field_by_id(*id);
            if f.iterator.as_deref() == Some("process.ancestors") {
                ancestors = ancestors.max(match v {
                    Stored::Bools(a) => a.len(),
                    Stored::Ints(a) => a.len(),
                    Stored::Strs(a) => a.len(),
                    Stored::Ips(a) => a.len(),
                    Stored::Nested(_, n) => n.len(),
                    _ => 0,
                });
            }
            let Some(len_field) = schema.field(&format!("{}.length", f.name)) else { continue };
            let len = match v {
                Stored::Str(s) => Stored::Int(s.len() as i64),
                Stored::Strs(a) if len_field.is_array => Stored::Ints(a.iter().map(|s| s.len() as i64).collect()),
                Stored::Strs(a) => Stored::Int(a.len() as i64),
                _ => continue,
            };
            derived.push((len_field.id, len));
        }
        for (id, v) in derived {
            self.set_default(id, v);
        }
        if ancestors > 0 {
            if let Some(f) = schema.field("process.ancestors.length") {
                self.set_default(f.id, Stored::Int(ancestors as i64));
            }
        }
    }
}

#[inline]
fn slot_of(id: FieldId, size: usize) -> usize {
    (u32::from(id.0).wrapping_mul(0x9E37_79B1) >> 16) as usize & (size - 1)
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn convert(schema: &Schema, def: &FieldDef, v: &Json) -> Result<Stored, JsonEventError> {
    let name = &def.name;
    let nested = def.iterator.is_some() && def.is_array && matches!(v, Json::Array(a) if a.iter().any(Json::is_array));
    if nested {
        let Json::Array(items) = v else { unreachable_shape() };
        let mut lists = Vec::with_capacity(items.len());
        for item in items {
            let Json::Array(inner) = item else {
                return err(format!("field `{name}`: expected a list of lists"));
            };
            lists.push(inner.iter().map(|s| scalar_str(name, s)).collect::<Result<Vec<_>, _>>()?);
        }
        return Ok(Stored::Nested(lists.concat(), lists));
    }
    if def.is_array {
        let items: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            // A lone scalar for an array field is a one-element array.
            other => vec![other],
        };
        return Ok(match def.ty {
            ScalarType::Bool => Stored::Bools(items.iter().map(|j| scalar_bool(name, j)).collect::<Result<_, _>>()?),
            ScalarType::Int => {
                Stored::Ints(items.iter().map(|j| scalar_int(schema, name, j)).collect::<Result<_, _>>()?)
            }
            ScalarType::Str => Stored::Strs(items.iter().map(|j| scalar_str(name, j)).collect::<Result<_, _>>()?),
            ScalarType::Ip => Stored::Ips(items.iter().map(|j| scalar_ip(name, j)).collect::<Result<_, _>>()?),
        });
    }
    Ok(match def.ty {
        ScalarType::Bool => Stored::Bool(scalar_bool(name, v)?),
        ScalarType::Int => Stored::Int(scalar_int(schema, name, v)?),
        ScalarType::Str => Stored::Str(scalar_str(name, v)?),
        ScalarType::Ip => Stored::Ip(scalar_ip(name, v)?),
    })
}

fn unreachable_shape() -> ! {
    // `nested` is only true for JSON arrays.
    unreachable!("nested implies an array")
}

fn scalar_bool(name: &str, v: &Json) -> Result<bool, JsonEventError> {
    v.as_bool().ok_or_else(|| JsonEventError(format!("field `{name}`: expected a boolean, got {v}")))
}

fn scalar_str(name: &str, v: &Json) -> Result<String, JsonEventError> {
    v.as_str().map(str::to_owned).ok_or_else(|| JsonEventError(format!("field `{name}`: expected a string, got {v}")))
}

fn scalar_ip(name: &str, v: &Json) -> Result<IpNet, JsonEventError> {
    let Some(s) = v.as_str() else {
        return err(format!("field `{name}`: expected an IP or CIDR string, got {v}"));
    };
    let parsed = if s.contains('/') { crate::value::ip::parse_cidr(s) } else { crate::value::ip::parse_ip(s) };
    parsed.map_err(|_| JsonEventError(format!("field `{name}`: invalid IP or CIDR `{s}`")))
}

/// Integers, or constant names (`"O_CREAT"`, `["O_CREAT", "O_RDWR"]` OR-ed).
fn scalar_int(schema: &Schema, name: &str, v: &Json) -> Result<i64, JsonEventError> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .ok_or_else(|| JsonEventError(format!("field `{name}`: expected an integer, got {v}"))),
        Json::String(c) => constant(schema, name, c),
        Json::Array(items) if items.iter().all(Json::is_string) => {
            let mut acc = 0;
            for c in items.iter().filter_map(Json::as_str) {
                acc |= constant(schema, name, c)?;
            }
            Ok(acc)
        }
        Json::Bool(b) => Ok(i64::from(*b)),
        _ => err(format!("field `{name}`: expected an integer or constant name, got {v}")),
    }
}

fn constant(schema: &Schema, name: &str, c: &str) -> Result<i64, JsonEventError> {
    match schema.constant(c).map(|k| &k.value) {
        Some(ConstValue::Int(i)) => Ok(*i),
        _ => err(format!("field `{name}`: `{c}` is not an integer constant")),
    }
}

impl Event for JsonEvent {
    fn event_type(&self) -> &str {
        &self.event_type
    }

    fn field(&self, id: FieldId) -> Value<'_> {
        match self.get(id) {
            None => Value::Missing,
            Some(Stored::Bool(b)) => Value::Bool(*b),
            Some(Stored::Int(i)) => Value::Int(*i),
            Some(Stored::Str(s)) => Value::Str(s),
            Some(Stored::Ip(ip)) => Value::Ip(*ip),
            Some(Stored::Bools(v)) => Value::Bools(v),
            Some(Stored::Ints(v)) => Value::Ints(v),
            Some(Stored::Strs(v)) => Value::Strs(StrList::Owned(v)),
            Some(Stored::Ips(v)) => Value::Ips(v),
            Some(Stored::Nested(flat, _)) => Value::Strs(StrList::Owned(flat)),
        }
    }

    fn field_element(&self, id: FieldId, index: usize) -> Value<'_> {
        match self.get(id) {
            Some(Stored::Nested(_, lists)) => {
                lists.get(index).map_or(Value::Missing, |l| Value::Strs(StrList::Owned(l)))
            }
            _ => element_of(self.field(id), index),
        }
    }

    fn timestamp_ns(&self) -> Option<i64> {
        self.timestamp
    }
}
