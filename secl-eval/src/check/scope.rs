//! What names mean while checking: the field namespace (the Linux model, or the host
//! model of rule filters), constants, macros and declared variables.

use crate::ir::{Ty, VarId, VarScope};
use crate::model::{ConstValue, FieldId, PathKind, ScalarType, Schema};
use secl_syntax::ast::MacroBody;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// What the checker needs to know about a field.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    pub id: FieldId,
    pub name: String,
    pub ty: Ty,
    pub path_kind: PathKind,
    pub case_insensitive: bool,
    pub is_extension: bool,
    pub event_type: Option<String>,
    pub restricted_to: Option<Vec<String>>,
    pub iterator: Option<String>,
    /// An iterator field whose per-element value is itself an array
    /// (`process.ancestors.argv`: each ancestor has an argv).
    pub nested_array: bool,
}

pub fn scalar_ty(t: ScalarType, is_array: bool) -> Ty {
    let t = match t {
        ScalarType::Bool => Ty::Bool,
        ScalarType::Int => Ty::Int,
        ScalarType::Str => Ty::Str,
        ScalarType::Ip => Ty::Ip,
    };
    if is_array { t.array_of() } else { t }
}

/// The fields an expression may name.
pub trait FieldNamespace: Sync {
    fn resolve(&self, name: &str) -> Option<FieldInfo>;
    fn info(&self, id: FieldId) -> FieldInfo;
    fn is_iterable_prefix(&self, prefix: &str) -> bool;
    fn suggest(&self, name: &str) -> Option<String>;
    fn suggest_constant(&self, _name: &str) -> Option<String> {
        None
    }
    /// Constants visible to expressions of this namespace.
    fn constant(&self, name: &str) -> Option<ConstValue>;
}

impl FieldNamespace for Schema {
    fn resolve(&self, name: &str) -> Option<FieldInfo> {
        self.lookup(name).map(|f| self.info(f.id))
    }

    fn info(&self, id: FieldId) -> FieldInfo {
        let f = self.field_by_id(id);
        FieldInfo {
            id,
            name: f.name.clone(),
            ty: scalar_ty(f.ty, f.is_array),
            path_kind: f.path_kind,
            case_insensitive: f.case_insensitive,
            is_extension: f.is_extension,
            event_type: f.event_type.clone(),
            restricted_to: f.restricted_to.clone(),
            iterator: f.iterator.clone(),
            nested_array: nested_array(self, &f.name, f.iterator.as_deref()),
        }
    }

    fn is_iterable_prefix(&self, prefix: &str) -> bool {
        Schema::is_iterable_prefix(self, prefix)
    }

    fn suggest(&self, name: &str) -> Option<String> {
        self.suggest_field(name).map(str::to_owned)
    }

    fn constant(&self, name: &str) -> Option<ConstValue> {
        Schema::constant(self, name).map(|c| c.value.clone())
    }

    fn suggest_constant(&self, name: &str) -> Option<String> {
        Schema::suggest_constant(self, name).map(str::to_owned)
    }
}

/// A macro registered for use by later macros and rules.
#[derive(Clone, Debug)]
pub struct MacroEntry {
    pub id: String,
    pub body: Arc<MacroBody>,
    /// The macro's own text, for diagnostics pointing inside it.
    pub text: Arc<str>,
    /// Event types of the fields it reads (transitively).
    pub event_types: BTreeSet<String>,
}

#[derive(Clone, Debug, Default)]
pub struct MacroTable {
    entries: HashMap<String, Arc<MacroEntry>>,
    order: Vec<String>,
}

impl MacroTable {
    pub fn insert(&mut self, entry: MacroEntry) {
        let id = entry.id.clone();
        if self.entries.insert(id.clone(), Arc::new(entry)).is_none() {
            self.order.push(id);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<MacroEntry>> {
        self.entries.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }
}

/// A variable declared by a `set` action (SPEC §8.2).
#[derive(Clone, Debug, PartialEq)]
pub struct VarDecl {
    pub id: VarId,
    /// The name as read in `${…}`: `x`, `process.x`, `container.x`, `cgroup.x`.
    pub name: String,
    pub scope: VarScope,
    pub ty: Ty,
    pub private: bool,
}

#[derive(Clone, Debug, Default)]
pub struct VarTable {
    decls: Vec<VarDecl>,
    by_name: HashMap<String, VarId>,
}

impl VarTable {
    pub fn get(&self, name: &str) -> Option<&VarDecl> {
        self.by_name.get(name).map(|id| &self.decls[id.0 as usize])
    }

    pub fn decl(&self, id: VarId) -> &VarDecl {
        &self.decls[id.0 as usize]
    }

    pub fn decls(&self) -> &[VarDecl] {
        &self.decls
    }

    /// Declares a variable, or returns the existing declaration with the same name.
    pub fn declare(&mut self, name: &str, scope: VarScope, ty: Ty, private: bool) -> Result<VarId, &VarDecl> {
        if let Some(&id) = self.by_name.get(name) {
            return Err(&self.decls[id.0 as usize]);
        }
        let id = VarId(self.decls.len() as u32);
        self.decls.push(VarDecl { id, name: name.to_owned(), scope, ty, private });
        self.by_name.insert(name.to_owned(), id);
        Ok(id)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.decls.iter().map(|d| d.name.as_str())
    }
}

/// `process.ancestors.argv` is nested when `process.argv` is an array.
fn nested_array(schema: &Schema, name: &str, iterator: Option<&str>) -> bool {
    let Some(prefix) = iterator else { return false };
    let Some(owner) = prefix.strip_suffix(".ancestors") else { return false };
    let Some(suffix) = name.strip_prefix(prefix) else { return false };
    schema.field(&format!("{owner}{suffix}")).is_some_and(|f| f.is_array)
}
