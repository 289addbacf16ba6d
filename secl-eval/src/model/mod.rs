//! The Linux event model: every field SECL rules may name, and every constant.
//!
//! The data is the project's own copy of the model tables (`secl-eval/model/*.tsv`),
//! embedded at build time so that the engine never depends on files next to it at
//! run time. It is parsed once, on first use.

mod host;
mod legacy;
mod suggest;
mod tsv;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use host::{HostFieldDef, host_field, host_fields};

/// Index of a field in [`Schema::fields`]; stable for a given build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// The type of one value of a field (arrays are flagged separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Bool,
    Int,
    Str,
    Ip,
}

/// How pattern values are interpreted on a string field (SPEC §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// Not a path: plain patterns.
    None,
    /// A path field (`*.file.path`): patterns are globs and values are validated.
    Path,
    /// The basename of a path (`*.file.name`).
    Basename,
    /// `*.syscall.path`: a path as the process passed it, matched as a plain string.
    SyscallPath,
}

/// One field of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub id: FieldId,
    pub name: String,
    /// `None` for common fields; `Some("fim")` for the `fim.write.file.*` pseudo type.
    pub event_type: Option<String>,
    pub ty: ScalarType,
    pub is_array: bool,
    pub path_kind: PathKind,
    /// The constant set named by the model table, verbatim (documentation only).
    pub constants: Option<String>,
    pub description: String,
    /// Event types a common field is restricted to (`network.*`, SPEC §11).
    pub restricted_to: Option<Vec<String>>,
    /// Scalar, pattern and regexp comparisons fold case (SPEC §5.5).
    pub case_insensitive: bool,
    /// Values get a leading `.` when missing (SPEC §5.6).
    pub is_extension: bool,
    /// The iterable prefix this field lives under (SPEC §9), `None` for `<prefix>.length`.
    pub iterator: Option<String>,
    /// A nanosecond Unix timestamp (informational).
    pub is_timestamp: bool,
}

/// The value of a named constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstValue {
    Int(i64),
    Bool(bool),
    StrArray(Vec<String>),
}

/// A named constant of the flat constant namespace (SPEC §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constant {
    pub name: String,
    pub value: ConstValue,
    /// The set that registered the winning definition.
    pub set: String,
}

/// The iterable prefixes of the Linux model (SPEC §9), longest match wins.
pub const ITERABLE_PREFIXES: [&str; 5] = [
    "process.ancestors",
    "ptrace.tracee.ancestors",
    "signal.target.ancestors",
    "setrlimit.target.ancestors",
    "network_flow_monitor.flows",
];

/// Fields whose comparisons fold case (SPEC §5.5, verified list).
const CASE_INSENSITIVE_FIELDS: [&str; 3] =
    ["dns.question.name", "dns.question.name.root_domain", "dns.response.cnames"];

/// The parsed model.
#[derive(Debug)]
pub struct Schema {
    fields: Vec<FieldDef>,
    by_name: HashMap<String, FieldId>,
    constants: Vec<Constant>,
    constants_by_name: HashMap<String, usize>,
    event_types: Vec<String>,
}

static FIELDS_TSV: &str = include_str!("../../model/fields.tsv");
static CONSTANTS_TSV: &str = include_str!("../../model/constants.tsv");

impl Schema {
    /// The Linux model, parsed on first use.
    pub fn linux() -> &'static Schema {
        static LINUX: OnceLock<Schema> = OnceLock::new();
        LINUX.get_or_init(|| {
            // The tables are part of the build; a malformed row is a build defect that the
            // test suite catches, so failing loudly here is the right call.
            Schema::from_tsv(FIELDS_TSV, CONSTANTS_TSV).expect("embedded model tables are valid")
        })
    }

    /// Builds a schema from the two model tables (header row included).
    pub fn from_tsv(fields_tsv: &str, constants_tsv: &str) -> Result<Schema, String> {
        let rows = tsv::parse_fields(fields_tsv)?;
        if rows.len() > usize::from(u16::MAX) {
            return Err(format!("too many fields: {}", rows.len()));
        }
        let mut fields = Vec::with_capacity(rows.len());
        let mut by_name = HashMap::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let id = FieldId(i as u16);
            if by_name.insert(row.name.to_string(), id).is_some() {
                return Err(format!("duplicate field `{}`", row.name));
            }
            fields.push(build_field(id, row));
        }

        let mut constants: Vec<Constant> = Vec::new();
        let mut constants_by_name: HashMap<String, usize> = HashMap::new();
        for c in tsv::parse_constants(constants_tsv)? {
            // One flat namespace: a later registration replaces the earlier one in place.
            match constants_by_name.get(&c.name) {
                Some(&i) => constants[i] = c,
                None => {
                    constants_by_name.insert(c.name.clone(), constants.len());
                    constants.push(c);
                }
            }
        }

        let mut event_types: Vec<String> = fields.iter().filter_map(|f: &FieldDef| f.event_type.clone()).collect();
        event_types.sort();
        event_types.dedup();

        Ok(Schema { fields, by_name, constants, constants_by_name, event_types })
    }

    /// Every field, indexed by [`FieldId`].
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// The field with exactly this model name (no legacy rewrite).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.by_name.get(name).map(|id| &self.fields[usize::from(id.0)])
    }

    /// The field with this id. Panics on an id that did not come from this schema.
    pub fn field_by_id(&self, id: FieldId) -> &FieldDef {
        &self.fields[usize::from(id.0)]
    }

    /// Resolves a name as the compiler does: legacy names first (SPEC §17), then exact.
    pub fn lookup(&self, name: &str) -> Option<&FieldDef> {
        match self.legacy_rewrite(name) {
            Some(modern) => self.field(modern),
            None => self.field(name),
        }
    }

    /// The modern name of a legacy field name.
    pub fn legacy_rewrite(&self, name: &str) -> Option<&str> {
        legacy::rewrite(name)
    }

    /// The constant of that name (the last registration wins, SPEC §6).
    ///
    /// `CWS_MAP_NAMES` is a string array whose members (the agent's eBPF map names) the
    /// model table does not list: it is an empty list here.
    pub fn constant(&self, name: &str) -> Option<&Constant> {
        self.constants_by_name.get(name).map(|&i| &self.constants[i])
    }

    /// Every constant, after overwrites, in first-registration order.
    pub fn constants(&self) -> &[Constant] {
        &self.constants
    }

    /// The event types of the model, sorted, without `common`; includes `fim`.
    pub fn event_types(&self) -> Vec<&str> {
        self.event_types.iter().map(String::as_str).collect()
    }

    /// Whether `prefix` is an iterable prefix such as `process.ancestors` (SPEC §9).
    pub fn is_iterable_prefix(&self, prefix: &str) -> bool {
        ITERABLE_PREFIXES.contains(&prefix)
    }

    /// A close field name for a "did you mean" hint.
    pub fn suggest_field(&self, name: &str) -> Option<&str> {
        let candidates =
            self.fields.iter().map(|f| f.name.as_str()).chain(legacy::LEGACY_FIELDS.iter().map(|(old, _)| *old));
        let found = suggest::best(name, candidates)?;
        // Point at the modern name even when the closest spelling is a legacy one.
        Some(legacy::rewrite(found).unwrap_or(found))
    }

    /// A close constant name for a "did you mean" hint.
    pub fn suggest_constant(&self, name: &str) -> Option<&str> {
        suggest::best(name, self.constants.iter().map(|c| c.name.as_str()))
    }
}

fn build_field(id: FieldId, row: tsv::FieldRow<'_>) -> FieldDef {
    let name = row.name;
    let iterator = ITERABLE_PREFIXES
        .iter()
        .filter(|p| {
            name.len() > p.len()
                && name.starts_with(**p)
                && name.as_bytes()[p.len()] == b'.'
                && name[p.len() + 1..] != *"length"
        })
        .max_by_key(|p| p.len())
        .map(|p| p.to_string());
    FieldDef {
        id,
        name: name.to_string(),
        event_type: row.event_type.map(str::to_string),
        ty: row.ty,
        is_array: row.is_array,
        path_kind: row.path_kind,
        constants: row.constants.map(str::to_string),
        description: row.description.to_string(),
        restricted_to: restricted_to(row.description),
        case_insensitive: CASE_INSENSITIVE_FIELDS.contains(&name),
        is_extension: name.ends_with(".file.extension") || name.ends_with(".file.destination.extension"),
        iterator,
        is_timestamp: row.description.contains("ns since epoch"),
    }
}

/// Parses the `[restricted to a,b,c]` marker the model table carries in descriptions.
fn restricted_to(description: &str) -> Option<Vec<String>> {
    const MARK: &str = "[restricted to ";
    let start = description.find(MARK)? + MARK.len();
    let len = description[start..].find(']')?;
    let list: Vec<String> =
        description[start..start + len].split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    (!list.is_empty()).then_some(list)
}
