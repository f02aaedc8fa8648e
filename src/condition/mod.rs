//! The condition language of gates and triggers (`pass_if`, `fire_if`).
//!
//! ```text
//! condition := [reduction] predicate
//! reduction := all | any | max | min | avg | sum        (default: all)
//! predicate := op operand | between operand and operand
//! op        := < | > | <= | >= | == | !=
//! operand   := number | baseline [ (+|-) number [%] | * number ]
//! ```
//! Examples: `< 0.3`, `max <= 250`, `any > 0`, `between 0.1 and 0.3`,
//! `<= baseline + 10%`, `>= baseline * 0.9`.
//!
//! `model` is a condition and its canonical text. Parsing (`parse`) lives
//! here so `validate` can point at a bad condition; judging (`eval`) is
//! plain synchronous code so it can be unit-tested exhaustively.

mod eval;
mod model;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::{Judgement, Outcome};
pub use model::{Adjust, CmpOp, Condition, Operand, Predicate, Reduction};
pub use parse::ConditionError;
