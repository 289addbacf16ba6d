//! The bytecode VM: programs of jumps over memoised predicates (see [`program`]), and the
//! borrowed-value evaluator the predicates run on (see [`eval`]).

pub mod cache;
pub mod eval;
pub mod fast;
pub mod groups;
pub mod guard;
pub mod program;
pub mod val;

use eval::{Cx, test};
use program::{Op, Predicate, Program};

/// Memo cell states for one predicate during one event.
pub const UNKNOWN: u8 = 0;
pub const FALSE: u8 = 1;
pub const TRUE: u8 = 2;

/// Runs one rule program.
pub fn run<E: crate::event::Event + ?Sized>(
    prog: &Program,
    preds: &[Predicate],
    memo: &mut [u8],
    ev: &E,
    cx: &Cx<'_>,
) -> bool {
    run_grouped(prog, preds, memo, None, ev, cx)
}

/// Runs one rule program, answering grouped predicates from their field group.
pub fn run_grouped<E: crate::event::Event + ?Sized>(
    prog: &Program,
    preds: &[Predicate],
    memo: &mut [u8],
    mut groups: Option<(&groups::FieldGroups, &mut groups::GroupState)>,
    ev: &E,
    cx: &Cx<'_>,
) -> bool {
    let ops = &prog.ops;
    let mut acc = false;
    let mut pc = 0usize;
    while let Some(op) = ops.get(pc) {
        match *op {
            Op::Pred(i) => {
                let i = i as usize;
                let p = &preds[i];
                acc = if p.volatile {
                    test(&p.node, ev, cx)
                } else {
                    match memo[i] {
                        TRUE => true,
                        FALSE => false,
                        _ => {
                            let r = test_pred(p, ev, cx);
                            memo[i] = if r { TRUE } else { FALSE };
                            r
                        }
                    }
                };
            }
            Op::Group { pred, at } => {
                acc = match &mut groups {
                    Some((g, st)) => g.test(at, ev, st),
                    None => test_pred(&preds[pred as usize], ev, cx),
                };
            }
            Op::JumpIfFalse(t) if !acc => {
                pc = t as usize;
                continue;
            }
            Op::JumpIfTrue(t) if acc => {
                pc = t as usize;
                continue;
            }
            Op::Not => acc = !acc,
            Op::Const(b) => acc = b,
            _ => {}
        }
        pc += 1;
    }
    acc
}

/// A predicate's answer, by its fast path when it has one.
#[inline]
pub(crate) fn test_pred<E: crate::event::Event + ?Sized>(p: &Predicate, ev: &E, cx: &Cx<'_>) -> bool {
    match p.fast.as_ref().and_then(|f| f.test(ev, cx)) {
        Some(r) => r,
        None => test(&p.node, ev, cx),
    }
}
