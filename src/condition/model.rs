//! What a condition is: a reduction and a predicate over numbers or the
//! baseline, and its canonical text (what `Condition::parse` reads back as
//! the same condition).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// Every series must satisfy the predicate.
    All,
    /// At least one series must satisfy the predicate.
    Any,
    Max,
    Min,
    Avg,
    Sum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// How a baseline is adjusted: `baseline + 10%`, `baseline - 5`, `baseline * 0.9`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjust {
    AddPercent(f64),
    SubPercent(f64),
    Add(f64),
    Sub(f64),
    Mul(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    Number(f64),
    Baseline(Option<Adjust>),
}

impl Operand {
    pub fn uses_baseline(&self) -> bool {
        matches!(self, Operand::Baseline(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    Compare { op: CmpOp, rhs: Operand },
    Between { low: Operand, high: Operand },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Condition {
    pub reduction: Reduction,
    pub predicate: Predicate,
}

impl Default for Condition {
    /// `!= 0`: used where a probe has an implicit condition (a Datadog monitor).
    fn default() -> Self {
        Condition {
            reduction: Reduction::All,
            predicate: Predicate::Compare {
                op: CmpOp::Ne,
                rhs: Operand::Number(0.0),
            },
        }
    }
}

impl Condition {
    pub fn uses_baseline(&self) -> bool {
        match self.predicate {
            Predicate::Compare { rhs, .. } => rhs.uses_baseline(),
            Predicate::Between { low, high } => low.uses_baseline() || high.uses_baseline(),
        }
    }
}

impl Reduction {
    pub fn name(self) -> &'static str {
        match self {
            Reduction::All => "all",
            Reduction::Any => "any",
            Reduction::Max => "max",
            Reduction::Min => "min",
            Reduction::Avg => "avg",
            Reduction::Sum => "sum",
        }
    }
}

/// The canonical text of a condition: what [`Condition::parse`] reads back
/// as the same condition (`max <= baseline + 10%`, `between 0.1 and 0.3`;
/// the default reduction `all` is left out).
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reduction != Reduction::All {
            write!(f, "{} ", self.reduction.name())?;
        }
        match self.predicate {
            Predicate::Compare { op, rhs } => write!(f, "{} {rhs}", op.symbol()),
            Predicate::Between { low, high } => write!(f, "between {low} and {high}"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            // The language's own word for it.
            Operand::Number(n) if n.is_infinite() && n > 0.0 => f.write_str("inf"),
            Operand::Number(n) => f.write_str(&number_text(n)),
            Operand::Baseline(None) => f.write_str("baseline"),
            Operand::Baseline(Some(adjust)) => {
                let (sign, n, percent) = match adjust {
                    Adjust::AddPercent(n) => ("+", n, "%"),
                    Adjust::SubPercent(n) => ("-", n, "%"),
                    Adjust::Add(n) => ("+", n, ""),
                    Adjust::Sub(n) => ("-", n, ""),
                    Adjust::Mul(n) => ("*", n, ""),
                };
                write!(f, "baseline {sign} {}{percent}", number_text(n))
            }
        }
    }
}

/// A number as the condition language writes it, read back to the same
/// `f64`: the shorter of the plain and the exponent form (both shortest
/// round-trip digits). An infinity (only an overflowing literal such as
/// `1e400` makes one outside the `inf` operand) is written as one.
fn number_text(n: f64) -> String {
    if n.is_infinite() {
        return if n > 0.0 { "1e999" } else { "-1e999" }.to_string();
    }
    let plain = n.to_string();
    let exp = format!("{n:e}");
    if exp.len() < plain.len() { exp } else { plain }
}
