//! The SECL abstract syntax tree. Every node carries the byte span it was parsed from,
//! relative to the start of the expression text.
//!
//! The tree mirrors the reference grammar (SPEC §2.1): operators keep their reference
//! grouping (`&&`/`||` one level, right-grouping; bitwise above comparison). Literal
//! texts are kept raw; meaning (octal, IP validity, patterns vs globs) is the
//! typechecker's business, except for integers and durations, which the lexer converts.

use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An identifier: a constant, macro or field name, possibly with a register or index
    /// suffix (`process.ancestors[A].file.name`, `exec.argv[1]`), kept as written.
    Ident(String),
    /// An integer literal, already converted with Go's base-0 rules (`010` is 8).
    Int(i64),
    /// A duration literal in nanoseconds (`10s`).
    Duration(i64),
    /// A double-quoted string: raw text between the quotes (escapes not interpreted).
    /// May contain `${var}` / `%{field}` interpolations.
    String(String),
    /// `~"…"`: raw text between the quotes.
    Pattern(String),
    /// `r"…"`: raw text between the quotes.
    Regex(String),
    /// An IP literal (`10.0.0.1`, `::1`), unvalidated text.
    Ip(String),
    /// A CIDR literal (`10.0.0.0/8`), unvalidated text.
    Cidr(String),
    /// `${name}`: the name between the braces.
    Variable(String),
    /// `%{field}`: the name between the braces.
    FieldRef(String),
    /// `( expr )`. Kept so that spans and explanations follow the source.
    Paren(Box<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Compare {
        op: CompareOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `lhs in rhs`, `lhs not in rhs`, `lhs allin rhs`.
    Membership {
        op: MembershipOp,
        lhs: Box<Expr>,
        rhs: Array,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `!` or `not`.
    Not,
    /// `-`.
    Neg,
    /// `^` (bitwise complement).
    BitNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `&&` or `and`.
    And,
    /// `||` or `or`.
    Or,
    BitAnd,
    BitOr,
    BitXor,
    Add,
    Sub,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`
    Match,
    /// `!~`
    NotMatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipOp {
    In,
    NotIn,
    AllIn,
}

/// The right-hand side of a membership operator, or a bare-list macro body.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub kind: ArrayKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrayKind {
    /// `["a", ~"b*", r"c"]`
    Strings(Vec<StringMember>),
    /// `[1, 2, 010]`
    Ints(Vec<(i64, Span)>),
    /// `[10.0.0.0/8, ::1]`: IP and CIDR members, unvalidated text.
    Cidrs(Vec<(String, Span)>),
    /// `[O_RDWR, O_CREAT ]`: identifier members.
    Idents(Vec<(String, Span)>),
    /// A bare identifier: a macro, constant or array field.
    Ident(String),
    /// A bare CIDR or IP.
    Cidr(String),
    /// `${name}`
    Variable(String),
    /// `%{field}`
    FieldRef(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StringMember {
    pub kind: StringKind,
    /// Raw text between the quotes.
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StringKind {
    Plain,
    Pattern,
    Regex,
}

/// A macro body: `Expression | Array | Primary` (SPEC §2.1), tried in that order.
#[derive(Clone, Debug, PartialEq)]
pub enum MacroBody {
    Expr(Expr),
    Array(Array),
}

impl std::fmt::Display for CompareOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Match => "=~",
            CompareOp::NotMatch => "!~",
        })
    }
}

impl std::fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
        })
    }
}

impl std::fmt::Display for MembershipOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MembershipOp::In => "in",
            MembershipOp::NotIn => "not in",
            MembershipOp::AllIn => "allin",
        })
    }
}
