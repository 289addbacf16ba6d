//! Parsing of the model tables (tab-separated, one header row).

use super::{ConstValue, Constant, PathKind, ScalarType};

pub(super) struct FieldRow<'a> {
    pub name: &'a str,
    pub event_type: Option<&'a str>,
    pub ty: ScalarType,
    pub is_array: bool,
    pub path_kind: PathKind,
    pub constants: Option<&'a str>,
    pub description: &'a str,
}

const FIELDS_HEADER: [&str; 7] = ["event_type", "field", "type", "is_array", "path_kind", "constants", "description"];
const CONSTANTS_HEADER: [&str; 4] = ["name", "value", "set", "note"];

fn rows<'a>(text: &'a str, header: &[&str]) -> Result<impl Iterator<Item = (usize, Vec<&'a str>)>, String> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or("empty table")?;
    let got: Vec<&str> = first.split('\t').collect();
    if got != header {
        return Err(format!("unexpected header {got:?}, expected {header:?}"));
    }
    Ok(lines.filter(|(_, l)| !l.is_empty()).map(|(i, l)| (i + 1, l.split('\t').collect())))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub(super) fn parse_fields(text: &str) -> Result<Vec<FieldRow<'_>>, String> {
    let mut out = Vec::new();
    for (line, cols) in rows(text, &FIELDS_HEADER)? {
        let [event_type, name, ty, is_array, path_kind, constants, description] = cols[..] else {
            return Err(format!("fields.tsv:{line}: expected 7 columns"));
        };
        let ty = match ty {
            "bool" => ScalarType::Bool,
            "int" => ScalarType::Int,
            "string" => ScalarType::Str,
            "ip" => ScalarType::Ip,
            other => return Err(format!("fields.tsv:{line}: unknown type `{other}`")),
        };
        let is_array = match is_array {
            "0" => false,
            "1" => true,
            other => return Err(format!("fields.tsv:{line}: bad is_array `{other}`")),
        };
        let path_kind = match path_kind {
            "" => PathKind::None,
            "path" => PathKind::Path,
            "basename" => PathKind::Basename,
            "path*" => PathKind::SyscallPath,
            other => return Err(format!("fields.tsv:{line}: bad path_kind `{other}`")),
        };
        if name.is_empty() {
            return Err(format!("fields.tsv:{line}: empty field name"));
        }
        out.push(FieldRow {
            name,
            event_type: non_empty(event_type).filter(|t| *t != "common"),
            ty,
            is_array,
            path_kind,
            constants: non_empty(constants),
            description,
        });
    }
    Ok(out)
}

pub(super) fn parse_constants(text: &str) -> Result<Vec<Constant>, String> {
    let mut out = Vec::new();
    for (line, cols) in rows(text, &CONSTANTS_HEADER)? {
        let [name, value, set, _note] = cols[..] else {
            return Err(format!("constants.tsv:{line}: expected 4 columns"));
        };
        let value = match value {
            "true" => ConstValue::Bool(true),
            "false" => ConstValue::Bool(false),
            // The table only records that CWS_MAP_NAMES is a string array ("[...]"),
            // not its members: the agent's eBPF map names are build-specific.
            v if v.starts_with('[') => ConstValue::StrArray(parse_str_array(v)),
            v => ConstValue::Int(v.parse().map_err(|e| format!("constants.tsv:{line}: bad value `{v}`: {e}"))?),
        };
        out.push(Constant { name: name.to_string(), value, set: set.to_string() });
    }
    Ok(out)
}

/// `[a, b]` lists, with `[...]` (placeholder for unknown members) giving an empty list.
fn parse_str_array(v: &str) -> Vec<String> {
    let inner = v.trim_start_matches('[').trim_end_matches(']').trim();
    if inner == "..." {
        return Vec::new();
    }
    inner.split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect()
}
