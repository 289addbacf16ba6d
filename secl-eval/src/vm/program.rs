//! Bytecode: each rule compiles to a short program of jumps over *predicates*, the leaf
//! comparisons of its expression. Predicates are interned per event-type bucket, so a
//! comparison shared by many rules (`process.file.path not in PACKAGE_MANAGERS`) is
//! evaluated at most once per event and its result reused (memoised) by every rule.
//!
//! Operands of `&&`/`||` are reordered cheapest first: SECL expressions have no side
//! effects, so the order is unobservable (SPEC §11.1).

use crate::ir::{Access, Node};
use crate::matcher::StrMatcher;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `acc = predicate[i]`.
    Pred(u32),
    /// `acc = predicate[pred]`, answered by a core of a field group (see
    /// [`super::groups`]), which is its memo; bound by [`Program::bind_groups`].
    Group {
        pred: u32,
        at: super::groups::Grouped,
    },
    /// Jump to the target when `acc` is false (the rest of an `&&` chain is skipped).
    JumpIfFalse(u32),
    /// Jump to the target when `acc` is true (the rest of an `||` chain is skipped).
    JumpIfTrue(u32),
    Not,
    Const(bool),
}

#[derive(Clone, Debug, Default)]
pub struct Program {
    pub ops: Vec<Op>,
}

impl Program {
    /// Turns the reads of grouped predicates into reads of their group, so that the VM
    /// goes there without looking the predicate up.
    pub fn bind_groups(&mut self, groups: &super::groups::FieldGroups) {
        for op in &mut self.ops {
            if let Op::Pred(i) = *op
                && let Some(at) = groups.of(i as usize)
            {
                *op = Op::Group { pred: i, at };
            }
        }
    }
}

/// A leaf comparison, evaluated by [`super::eval::test`].
#[derive(Clone, Debug)]
pub struct Predicate {
    pub node: Node,
    /// Reads variables or the iterator register: recomputed at each use.
    pub volatile: bool,
    pub cost: u32,
    /// The predicate's fast path, for the common shapes.
    pub fast: Option<super::fast::Fast>,
}

/// The predicates of one bucket and their interning table.
#[derive(Debug, Default)]
pub struct PredicateTable {
    pub preds: Vec<Predicate>,
    index: HashMap<String, u32>,
}

impl PredicateTable {
    /// The id of an interned predicate.
    pub fn id_of(&self, node: &Node) -> Option<u32> {
        self.index.get(&format!("{node:?}")).copied()
    }

    fn intern(&mut self, node: &Node) -> u32 {
        // Structural identity through the debug form: compile time only, and exact.
        let key = format!("{node:?}");
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.preds.len() as u32;
        self.preds.push(Predicate {
            node: node.clone(),
            volatile: super::eval::is_volatile(node),
            cost: cost(node),
            fast: super::fast::Fast::of(node),
        });
        self.index.insert(key, i);
        i
    }
}

/// Compiles a boolean node into a program, interning its predicates.
pub fn compile(node: &Node, table: &mut PredicateTable) -> Program {
    let mut ops = Vec::new();
    emit(node, table, &mut ops);
    Program { ops }
}

fn emit(node: &Node, table: &mut PredicateTable, ops: &mut Vec<Op>) {
    match node {
        Node::Lit(crate::ir::Lit::Bool(b)) => ops.push(Op::Const(*b)),
        Node::Not(n) => {
            emit(n, table, ops);
            ops.push(Op::Not);
        }
        Node::And(..) | Node::Or(..) => {
            let is_and = matches!(node, Node::And(..));
            let mut parts = Vec::new();
            flatten(node, is_and, &mut parts);
            parts.sort_by_key(|n| cost(n));
            // `a && a` is `a`: repeated leaves of one chain (common once macros are
            // expanded) are emitted once.
            let mut seen = Vec::new();
            parts.retain(|p| {
                if is_chain(p, is_and) || matches!(p, Node::Not(_) | Node::Lit(_)) {
                    return true;
                }
                let id = table.intern(p);
                let fresh = !seen.contains(&id);
                seen.push(id);
                fresh
            });
            let mut patches = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                emit(part, table, ops);
                if i + 1 < parts.len() {
                    patches.push(ops.len());
                    ops.push(if is_and { Op::JumpIfFalse(0) } else { Op::JumpIfTrue(0) });
                }
            }
            let end = ops.len() as u32;
            for p in patches {
                ops[p] = match ops[p] {
                    Op::JumpIfFalse(_) => Op::JumpIfFalse(end),
                    _ => Op::JumpIfTrue(end),
                };
            }
        }
        leaf => ops.push(Op::Pred(table.intern(leaf))),
    }
}

fn is_chain(node: &Node, is_and: bool) -> bool {
    matches!(node, Node::And(..) | Node::Or(..))
        && !matches!((node, is_and), (Node::And(..), true) | (Node::Or(..), false))
}

/// The operands of a chain of the same logical operator.
fn flatten<'a>(node: &'a Node, is_and: bool, out: &mut Vec<&'a Node>) {
    match node {
        Node::And(a, b) if is_and => {
            flatten(a, is_and, out);
            flatten(b, is_and, out);
        }
        Node::Or(a, b) if !is_and => {
            flatten(a, is_and, out);
            flatten(b, is_and, out);
        }
        other => out.push(other),
    }
}

/// A rough evaluation cost, to try cheap and selective tests first.
pub fn cost(node: &Node) -> u32 {
    match node {
        Node::Lit(_) => 0,
        Node::Field(f) => match f.access {
            Access::Whole if f.ty.is_array() => 4,
            Access::Whole => 1,
            _ => 3,
        },
        Node::Var(_) | Node::VarLength(_) => 6,
        Node::FieldLength(_) => 2,
        Node::Interp(p) => 20 + 4 * p.len() as u32,
        Node::Not(n) | Node::Neg(n) | Node::BitNot(n) => cost(n),
        Node::And(a, b) | Node::Or(a, b) => cost(a) + cost(b),
        Node::Int { lhs, rhs, .. } | Node::CmpInt { lhs, rhs, .. } | Node::CmpBool { lhs, rhs, .. } => {
            1 + cost(lhs) + cost(rhs)
        }
        Node::Age { operand, .. } => 2 + cost(operand),
        Node::CmpStr { lhs, rhs, .. } => 3 + cost(lhs) + cost(rhs),
        Node::CmpIp { lhs, rhs, .. } => 2 + cost(lhs) + cost(rhs),
        Node::MatchStr { operand, matcher, .. } => cost(operand) + matcher_cost(matcher),
        Node::InStrSet { operand, set, .. } => {
            let others: u32 = set.members().iter().map(matcher_cost).filter(|c| *c > 2).sum();
            cost(operand) + 3 + others
        }
        Node::InIntSet { operand, .. } => 2 + cost(operand),
        Node::InIps { operand, set, .. } => 4 + cost(operand) + cost(set),
        Node::InArray { operand, array, .. } => 10 + cost(operand) + cost(array),
    }
}

fn matcher_cost(m: &StrMatcher) -> u32 {
    match m {
        StrMatcher::Exact(_) => 2,
        StrMatcher::ExactFolded(_) => 3,
        StrMatcher::Pattern(_) => 4,
        StrMatcher::Glob(_) => 6,
        StrMatcher::Regex(_) => 25,
    }
}
