//! The typed intermediate representation: what the typechecker produces and every engine
//! consumes (the reference interpreter, the bytecode compiler, partial evaluation and the
//! kernel-filter compiler).
//!
//! Every decision that depends on types is already taken here: which side of a
//! comparison is an array, whether a string literal is a pattern, a glob or a regex,
//! whether a duration means an age. Engines only execute.

use crate::matcher::{StrMatcher, StrSet};
use crate::model::FieldId;
use crate::value::ip::IpNet;
use secl_syntax::Span;
use std::sync::Arc;

/// The SECL value types (SPEC §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Bool,
    Int,
    Str,
    Ip,
    BoolArray,
    IntArray,
    StrArray,
    IpArray,
}

impl Ty {
    pub fn is_array(self) -> bool {
        matches!(self, Ty::BoolArray | Ty::IntArray | Ty::StrArray | Ty::IpArray)
    }

    pub fn element(self) -> Ty {
        match self {
            Ty::BoolArray => Ty::Bool,
            Ty::IntArray => Ty::Int,
            Ty::StrArray => Ty::Str,
            Ty::IpArray => Ty::Ip,
            t => t,
        }
    }

    pub fn array_of(self) -> Ty {
        match self {
            Ty::Bool => Ty::BoolArray,
            Ty::Int => Ty::IntArray,
            Ty::Str => Ty::StrArray,
            Ty::Ip => Ty::IpArray,
            t => t,
        }
    }

    /// The reference's wording in type errors (`string expected`, `array of int expected`).
    pub fn expected_name(self) -> &'static str {
        match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Str => "string",
            Ty::Ip => "IP/CIDR",
            Ty::BoolArray => "array of bool",
            Ty::IntArray => "array of int",
            Ty::StrArray => "array of string",
            Ty::IpArray => "array of IP/CIDR",
        }
    }
}

/// A compile-time value.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Bool(bool),
    Int(i64),
    Str(Arc<str>),
    Ip(IpNet),
    Bools(Arc<[bool]>),
    Ints(Arc<[i64]>),
    Strs(Arc<[Arc<str>]>),
    Ips(Arc<[IpNet]>),
}

impl Lit {
    pub fn ty(&self) -> Ty {
        match self {
            Lit::Bool(_) => Ty::Bool,
            Lit::Int(_) => Ty::Int,
            Lit::Str(_) => Ty::Str,
            Lit::Ip(_) => Ty::Ip,
            Lit::Bools(_) => Ty::BoolArray,
            Lit::Ints(_) => Ty::IntArray,
            Lit::Strs(_) => Ty::StrArray,
            Lit::Ips(_) => Ty::IpArray,
        }
    }
}

/// How a field is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// The whole value: a scalar, or every element of an array field.
    Whole,
    /// Element `i` of the rule's iterator register (SPEC §9): a scalar.
    Register,
    /// A fixed index `field[N]` (SPEC §2.3): a scalar, zero value when out of range.
    Index(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldLoad {
    pub field: FieldId,
    pub access: Access,
    /// The type of the loaded value after `access` (an element type for register and
    /// index reads, except per-element arrays such as `process.ancestors[A].argv`).
    pub ty: Ty,
}

/// Where a variable lives (SPEC §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VarScope {
    Global,
    Process,
    Container,
    Cgroup,
}

/// A declared variable, by its index in the rule set's variable table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

#[derive(Clone, Debug, PartialEq)]
pub enum VarRead {
    Declared(VarId),
    /// `${process.pid}`: the event's pid.
    ProcessPid,
    /// `${builtins.uuid4}`: a fresh random UUID at each read.
    Uuid4,
}

/// One piece of an interpolated string (SPEC §8.4).
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(Arc<str>),
    Var(VarRead),
    VarLength(VarRead),
    Field(FieldId),
    FieldLength(FieldId),
    FieldRootDomain(FieldId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
}

/// Ordered and equality comparisons on ints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn apply(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// The operator seen from the other side: `a < b` is `b > a`.
    pub fn mirrored(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            op => op,
        }
    }
}

/// A typed expression node. Boolean nodes that compare against an array operand use the
/// "any element" rule (SPEC §4.3); `negate` flips the final result, which is how `!=`,
/// `!~` and `not in` become "no element matches".
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Lit(Lit),
    Field(FieldLoad),
    Var(VarRead),
    /// `${x.length}`: characters of a string, elements of an array.
    VarLength(VarRead),
    Interp(Arc<[Piece]>),
    /// `%{f.length}` as an operand (newest agents): characters of a string field, elements
    /// of an array field.
    FieldLength(FieldId),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Neg(Box<Node>),
    BitNot(Box<Node>),
    Int {
        op: IntOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// Int comparison; either side may be an int array (any element; `Ne` is then the
    /// negation of "any equal").
    CmpInt {
        op: CmpOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// `field <op> duration` (SPEC §7): `now - field <op> nanos`, any element for arrays.
    Age {
        op: CmpOp,
        operand: Box<Node>,
        nanos: i64,
    },
    /// Bool equality; `lhs` may be a bool array.
    CmpBool {
        negate: bool,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// Exact string equality between two runtime values (field/variable/interpolation);
    /// `lhs` may be an array (any element).
    CmpStr {
        negate: bool,
        case_insensitive: bool,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// A string (or every element of a string array) against one static matcher.
    MatchStr {
        negate: bool,
        operand: Box<Node>,
        matcher: Arc<StrMatcher>,
    },
    /// A string or string array against a literal list of strings/patterns/regexps.
    InStrSet {
        negate: bool,
        operand: Box<Node>,
        set: Arc<StrSet>,
    },
    /// An int or int array against a literal list (sorted, without duplicates).
    InIntSet {
        negate: bool,
        operand: Box<Node>,
        set: Arc<[i64]>,
    },
    /// IP equality (SPEC §4.4): scalar-scalar is symmetric containment; with an IP array
    /// on the left, some element's network must contain the right's address.
    CmpIp {
        negate: bool,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// IP(s) against networks (a literal list, a CIDR, or a runtime array). `all` is
    /// `allin` on an IP array: every element inside every network.
    InIps {
        negate: bool,
        all: bool,
        operand: Box<Node>,
        set: Box<Node>,
    },
    /// A scalar or array against a runtime array (field, variable): non-empty intersection.
    InArray {
        negate: bool,
        case_insensitive: bool,
        operand: Box<Node>,
        array: Box<Node>,
    },
}

/// A typed boolean rule body plus what engines need to run it.
#[derive(Clone, Debug)]
pub struct TypedExpr {
    pub node: Node,
    /// The iterable prefix bound to the rule's register, with its `.length` field.
    pub register: Option<Register>,
    /// Every field the expression reads (also through macros), sorted.
    pub fields: Vec<FieldId>,
    /// Every (field, literal) pair the expression compares (for approvers).
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    pub prefix: String,
    pub length_field: FieldId,
}
