//! Judging measured values against a condition: reduce the series, resolve
//! the baseline, compare. Never a pass on NaN, on no data, or on a missing
//! baseline.

use super::model::{Adjust, CmpOp, Condition, Operand, Predicate, Reduction};

/// What a condition made of a result. `NoData` is left to the caller, which
/// applies the gate's `no_data` policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail,
    /// The result could not be judged (NaN, a missing baseline); the reason says why.
    Inconclusive(String),
    /// No series at all.
    NoData,
}

/// The outcome and the value it was judged on (after reduction), for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub outcome: Outcome,
    /// The reduced value, or for `all`/`any` the deciding series' value
    /// (the first failing one for `all`, the first passing one for `any`).
    pub value: Option<f64>,
}

impl Judgement {
    fn inconclusive(reason: impl Into<String>, value: Option<f64>) -> Self {
        Judgement {
            outcome: Outcome::Inconclusive(reason.into()),
            value,
        }
    }

    fn decided(pass: bool, value: f64) -> Self {
        Judgement {
            outcome: if pass { Outcome::Pass } else { Outcome::Fail },
            value: Some(value),
        }
    }
}

impl Adjust {
    /// Percentages are of the baseline's magnitude, so `baseline + 10%` is
    /// above the baseline even when the baseline is negative.
    fn apply(self, baseline: f64) -> f64 {
        match self {
            Adjust::AddPercent(p) => baseline + baseline.abs() * p / 100.0,
            Adjust::SubPercent(p) => baseline - baseline.abs() * p / 100.0,
            Adjust::Add(n) => baseline + n,
            Adjust::Sub(n) => baseline - n,
            Adjust::Mul(n) => baseline * n,
        }
    }
}

impl Operand {
    fn resolve(self, baseline: Option<f64>) -> Result<f64, String> {
        match self {
            Operand::Number(n) => Ok(n),
            Operand::Baseline(adjust) => {
                let Some(b) = baseline else {
                    return Err("the condition needs a baseline and none was measured".into());
                };
                if b.is_nan() {
                    return Err("the baseline is NaN".into());
                }
                let v = adjust.map_or(b, |a| a.apply(b));
                if v.is_nan() {
                    return Err(format!("the adjusted baseline is NaN (baseline {b})"));
                }
                Ok(v)
            }
        }
    }
}

impl CmpOp {
    /// ±Inf compare as numbers (`+Inf > 1` holds); NaN never reaches here.
    fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Ge => lhs >= rhs,
            #[expect(clippy::float_cmp, reason = "`==` in a condition means exact equality")]
            CmpOp::Eq => lhs == rhs,
            #[expect(
                clippy::float_cmp,
                reason = "`!=` in a condition means exact inequality"
            )]
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// A predicate with its baseline operands resolved to numbers.
enum Resolved {
    Compare(CmpOp, f64),
    Between(f64, f64),
}

impl Resolved {
    fn holds(&self, v: f64) -> bool {
        match *self {
            Resolved::Compare(op, rhs) => op.holds(v, rhs),
            Resolved::Between(low, high) => low <= v && v <= high,
        }
    }
}

impl Condition {
    /// Judge `values` (one per series). Never passes on NaN, on an empty
    /// result, or when a needed baseline is missing.
    pub fn evaluate(&self, values: &[f64], baseline: Option<f64>) -> Judgement {
        if values.is_empty() {
            return Judgement {
                outcome: Outcome::NoData,
                value: None,
            };
        }
        // A NaN series means the source could not compute the value: nothing
        // can be concluded from it, whichever reduction is asked for.
        if let Some(i) = values.iter().position(|v| v.is_nan()) {
            let which = if values.len() == 1 {
                "the value is NaN".to_string()
            } else {
                format!("series {} of {} is NaN", i + 1, values.len())
            };
            return Judgement::inconclusive(which, Some(f64::NAN));
        }
        let resolved = match self.predicate {
            Predicate::Compare { op, rhs } => {
                rhs.resolve(baseline).map(|r| Resolved::Compare(op, r))
            }
            Predicate::Between { low, high } => low
                .resolve(baseline)
                .and_then(|l| high.resolve(baseline).map(|h| Resolved::Between(l, h))),
        };
        let resolved = match resolved {
            Ok(r) => r,
            Err(reason) => return Judgement::inconclusive(reason, None),
        };
        match self.reduction {
            Reduction::All => match values.iter().find(|v| !resolved.holds(**v)) {
                Some(bad) => Judgement::decided(false, *bad),
                None => Judgement::decided(true, values[0]),
            },
            Reduction::Any => match values.iter().find(|v| resolved.holds(**v)) {
                Some(good) => Judgement::decided(true, *good),
                None => Judgement::decided(false, values[0]),
            },
            Reduction::Max | Reduction::Min | Reduction::Avg | Reduction::Sum => {
                let reduced = reduce(self.reduction, values);
                if reduced.is_nan() {
                    // `+Inf + -Inf`: the reduction itself has no value.
                    Judgement::inconclusive(
                        format!("`{}` of the series is NaN", self.reduction.name()),
                        Some(reduced),
                    )
                } else {
                    Judgement::decided(resolved.holds(reduced), reduced)
                }
            }
        }
    }
}

/// `values` is non-empty and NaN-free.
fn reduce(reduction: Reduction, values: &[f64]) -> f64 {
    match reduction {
        Reduction::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduction::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Reduction::Sum => values.iter().sum(),
        Reduction::Avg => values.iter().sum::<f64>() / values.len() as f64,
        Reduction::All | Reduction::Any => values[0],
    }
}
