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
//! Parsing lives here so `validate` can point at a bad condition; evaluation
//! is plain synchronous code so it can be unit-tested exhaustively.

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

/// A parse error, located by byte offset and length within the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConditionError {}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Number(f64),
    Op(CmpOp),
    Plus,
    Minus,
    Star,
    Percent,
}

struct Lexed<'a> {
    token: Token<'a>,
    offset: usize,
    len: usize,
}

fn lex(text: &str) -> Result<Vec<Lexed<'_>>, ConditionError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'<' | b'>' | b'=' | b'!' => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'<', false) => CmpOp::Lt,
                    (b'<', true) => CmpOp::Le,
                    (b'>', false) => CmpOp::Gt,
                    (b'>', true) => CmpOp::Ge,
                    (b'=', true) => CmpOp::Eq,
                    (b'!', true) => CmpOp::Ne,
                    _ => {
                        return Err(ConditionError {
                            offset: i,
                            len: 1,
                            message: format!(
                                "unknown operator `{}`, expected one of `<`, `>`, `<=`, `>=`, `==`, `!=`",
                                c as char
                            ),
                        });
                    }
                };
                i += if two { 2 } else { 1 };
                Token::Op(op)
            }
            b'+' => {
                i += 1;
                Token::Plus
            }
            b'-' if !bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'.') =>
            {
                i += 1;
                Token::Minus
            }
            b'*' => {
                i += 1;
                Token::Star
            }
            b'%' => {
                i += 1;
                Token::Percent
            }
            b'0'..=b'9' | b'.' | b'-' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || bytes[i] == b'_'
                        || ((bytes[i] == b'-' || bytes[i] == b'+')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                let raw = &text[start..i];
                let number = parse_number(raw).ok_or_else(|| ConditionError {
                    offset: start,
                    len: i - start,
                    message: format!("`{raw}` is not a number"),
                })?;
                Token::Number(number)
            }
            c if c.is_ascii_alphabetic() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Token::Word(&text[start..i])
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(ConditionError {
                    offset: i,
                    len: ch.len_utf8(),
                    message: format!("unexpected character `{ch}` in condition"),
                });
            }
        };
        out.push(Lexed {
            token,
            offset: start,
            len: i - start,
        });
    }
    Ok(out)
}

/// Numbers may carry `_` separators and an SI-less plain form; `inf` is allowed as a word.
fn parse_number(raw: &str) -> Option<f64> {
    let cleaned: String = raw.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok().filter(|n| !n.is_nan())
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Lexed<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Lexed<'a>> {
        self.tokens.get(self.pos)
    }

    fn error_here(&self, expected: &str) -> ConditionError {
        match self.peek() {
            Some(t) => ConditionError {
                offset: t.offset,
                len: t.len,
                message: format!(
                    "expected {expected}, found `{}`",
                    &self.text[t.offset..t.offset + t.len]
                ),
            },
            None => ConditionError {
                offset: self.text.len(),
                len: 0,
                message: format!("expected {expected}, found the end of the condition"),
            },
        }
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        let Some(t) = self.peek() else {
            return Err(self.error_here("a number or `baseline`"));
        };
        match t.token {
            Token::Number(n) => {
                self.pos += 1;
                Ok(Operand::Number(n))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("inf") => {
                self.pos += 1;
                Ok(Operand::Number(f64::INFINITY))
            }
            Token::Word("baseline") => {
                self.pos += 1;
                let adjust = match self.peek().map(|t| &t.token) {
                    Some(Token::Plus | Token::Minus) => {
                        let plus = matches!(self.peek().map(|t| &t.token), Some(Token::Plus));
                        self.pos += 1;
                        let n = self.number()?;
                        if matches!(self.peek().map(|t| &t.token), Some(Token::Percent)) {
                            self.pos += 1;
                            Some(if plus {
                                Adjust::AddPercent(n)
                            } else {
                                Adjust::SubPercent(n)
                            })
                        } else {
                            Some(if plus { Adjust::Add(n) } else { Adjust::Sub(n) })
                        }
                    }
                    Some(Token::Star) => {
                        self.pos += 1;
                        Some(Adjust::Mul(self.number()?))
                    }
                    _ => None,
                };
                Ok(Operand::Baseline(adjust))
            }
            _ => Err(self.error_here("a number or `baseline`")),
        }
    }

    fn number(&mut self) -> Result<f64, ConditionError> {
        match self.peek().map(|t| &t.token) {
            Some(Token::Number(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.error_here("a number")),
        }
    }
}

const REDUCTIONS: &[(&str, Reduction)] = &[
    ("all", Reduction::All),
    ("any", Reduction::Any),
    ("max", Reduction::Max),
    ("min", Reduction::Min),
    ("avg", Reduction::Avg),
    ("sum", Reduction::Sum),
];

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let tokens = lex(text)?;
        let mut p = Parser {
            text,
            tokens,
            pos: 0,
        };
        if p.tokens.is_empty() {
            return Err(ConditionError {
                offset: 0,
                len: text.len(),
                message: "empty condition, expected e.g. `< 0.3` or `between 1 and 5`".into(),
            });
        }
        let mut reduction = Reduction::All;
        if let Some(Lexed {
            token: Token::Word(w),
            offset,
            len,
        }) = p.peek()
        {
            if let Some((_, r)) = REDUCTIONS.iter().find(|(name, _)| name == w) {
                reduction = *r;
                p.pos += 1;
            } else if *w != "between" && *w != "baseline" {
                let names: Vec<&str> = REDUCTIONS.iter().map(|(n, _)| *n).collect();
                let mut message = format!(
                    "unknown reduction `{w}`, expected one of {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if let Some(best) = crate::diag::suggest(w, names.iter().copied()) {
                    message = format!("{message} (did you mean `{best}`?)");
                }
                return Err(ConditionError {
                    offset: *offset,
                    len: *len,
                    message,
                });
            }
        }
        let predicate = match p.peek().map(|t| &t.token) {
            Some(Token::Op(op)) => {
                let op = *op;
                p.pos += 1;
                Predicate::Compare {
                    op,
                    rhs: p.operand()?,
                }
            }
            Some(Token::Word("between")) => {
                p.pos += 1;
                let low = p.operand()?;
                match p.peek().map(|t| &t.token) {
                    Some(Token::Word("and")) => p.pos += 1,
                    _ => return Err(p.error_here("`and`")),
                }
                let high = p.operand()?;
                if let (Operand::Number(l), Operand::Number(h)) = (low, high)
                    && l > h
                {
                    return Err(ConditionError {
                        offset: 0,
                        len: text.len(),
                        message: format!("empty range: {l} is greater than {h}"),
                    });
                }
                Predicate::Between { low, high }
            }
            _ => {
                return Err(
                    p.error_here("a comparison (`<`, `>`, `<=`, `>=`, `==`, `!=`) or `between`")
                );
            }
        };
        if p.peek().is_some() {
            return Err(p.error_here("the end of the condition"));
        }
        Ok(Condition {
            reduction,
            predicate,
        })
    }

    pub fn uses_baseline(&self) -> bool {
        match self.predicate {
            Predicate::Compare { rhs, .. } => rhs.uses_baseline(),
            Predicate::Between { low, high } => low.uses_baseline() || high.uses_baseline(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_the_design() {
        let c = Condition::parse("< 0.300").unwrap();
        assert_eq!(c.reduction, Reduction::All);
        assert_eq!(
            c.predicate,
            Predicate::Compare {
                op: CmpOp::Lt,
                rhs: Operand::Number(0.3)
            }
        );
        let c = Condition::parse("max >= -1.5e3").unwrap();
        assert_eq!(c.reduction, Reduction::Max);
        assert_eq!(
            c.predicate,
            Predicate::Compare {
                op: CmpOp::Ge,
                rhs: Operand::Number(-1500.0)
            }
        );
        let c = Condition::parse("between 0.1 and 0.3").unwrap();
        assert_eq!(
            c.predicate,
            Predicate::Between {
                low: Operand::Number(0.1),
                high: Operand::Number(0.3)
            }
        );
        let c = Condition::parse("<= baseline + 10%").unwrap();
        assert_eq!(
            c.predicate,
            Predicate::Compare {
                op: CmpOp::Le,
                rhs: Operand::Baseline(Some(Adjust::AddPercent(10.0)))
            }
        );
        assert!(c.uses_baseline());
        let c = Condition::parse(">= baseline * 0.9").unwrap();
        assert_eq!(
            c.predicate,
            Predicate::Compare {
                op: CmpOp::Ge,
                rhs: Operand::Baseline(Some(Adjust::Mul(0.9)))
            }
        );
        let c = Condition::parse("any != 0").unwrap();
        assert_eq!(c.reduction, Reduction::Any);
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let e = Condition::parse("< 0.3 extra").unwrap_err();
        assert_eq!((e.offset, e.len), (6, 5));
        assert!(e.message.contains("expected the end"), "{}", e.message);
        let e = Condition::parse("maxx < 3").unwrap_err();
        assert_eq!((e.offset, e.len), (0, 4));
        assert!(e.message.contains("did you mean `max`"), "{}", e.message);
        let e = Condition::parse("=< 3").unwrap_err();
        assert_eq!(e.offset, 0);
        let e = Condition::parse("between 1 3").unwrap_err();
        assert_eq!((e.offset, e.len), (10, 1));
        let e = Condition::parse("between 5 and 1").unwrap_err();
        assert!(e.message.contains("empty range"));
        let e = Condition::parse("< ").unwrap_err();
        assert!(e.message.contains("found the end"));
        assert!(Condition::parse("").is_err());
        assert!(Condition::parse("< 1.2.3").is_err());
        assert!(Condition::parse("< NaN").is_err());
    }

    #[test]
    fn prints_the_canonical_text() {
        for (text, canonical) in [
            ("< 0.300", "< 0.3"),
            ("all<1", "< 1"),
            ("max >= -1.5e3", "max >= -1500"),
            ("any != 0", "any != 0"),
            ("between 0.1 and 0.3", "between 0.1 and 0.3"),
            ("<= baseline+10%", "<= baseline + 10%"),
            (">= baseline - 5 %", ">= baseline - 5%"),
            ("> baseline * 0.9", "> baseline * 0.9"),
            ("== baseline", "== baseline"),
            ("< baseline + -5", "< baseline + -5"),
            ("< inf", "< inf"),
            ("> -1e400", "> -1e999"),
            ("< baseline * 1e400", "< baseline * 1e999"),
            ("< 1_000_000", "< 1e6"),
            ("< 0.0000001", "< 1e-7"),
            ("< 123456.5", "< 123456.5"),
            ("sum < 1e300", "sum < 1e300"),
        ] {
            let c = Condition::parse(text).unwrap();
            assert_eq!(c.to_string(), canonical, "{text}");
            assert_eq!(Condition::parse(canonical).unwrap(), c, "{text}");
        }
    }

    /// Fragments of the condition language, and some that are not, so that
    /// random texts often come close to valid ones.
    fn fragment() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const TOKENS: &[&str] = &[
            "<", ">", "<=", ">=", "==", "!=", "=", "!", "between", "and", "baseline", "+", "-",
            "*", "%", "all", "any", "max", "min", "avg", "sum", "inf", "-inf", "NaN", "1e", "e",
            ".", "-.", "_", "1_0", "0x10", " ", "\t", "\n", "é", "🙂", "\u{0}", "\u{202e}",
        ];
        prop_oneof![
            4 => proptest::sample::select(TOKENS).prop_map(str::to_string),
            2 => any::<f64>().prop_map(|n| n.to_string()),
            1 => any::<f64>().prop_map(|n| format!("{n:e}")),
            1 => any::<i64>().prop_map(|n| n.to_string()),
            1 => "\\PC{0,4}",
        ]
    }

    // Boxed: the nested strategies' unboxed value trees overflow a test
    // thread's stack in a debug build.
    fn number() -> proptest::strategy::BoxedStrategy<f64> {
        use proptest::prelude::*;
        prop_oneof![
            any::<f64>().prop_filter("the language has no NaN", |n| !n.is_nan()),
            (-1000i32..1000).prop_map(f64::from),
            (-1000i32..1000).prop_map(|n| f64::from(n) / 10.0),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
        .boxed()
    }

    fn operand() -> proptest::strategy::BoxedStrategy<Operand> {
        use proptest::prelude::*;
        let adjust = prop_oneof![
            number().prop_map(Adjust::AddPercent),
            number().prop_map(Adjust::SubPercent),
            number().prop_map(Adjust::Add),
            number().prop_map(Adjust::Sub),
            number().prop_map(Adjust::Mul),
        ];
        prop_oneof![
            number().prop_map(Operand::Number),
            proptest::option::of(adjust).prop_map(Operand::Baseline),
        ]
        .boxed()
    }

    /// Every condition the parser can return (a `between` of two numbers
    /// is not an empty range).
    fn condition() -> proptest::strategy::BoxedStrategy<Condition> {
        use proptest::prelude::*;
        let reduction =
            proptest::sample::select(REDUCTIONS.iter().map(|(_, r)| *r).collect::<Vec<_>>());
        let op = proptest::sample::select(vec![
            CmpOp::Lt,
            CmpOp::Gt,
            CmpOp::Le,
            CmpOp::Ge,
            CmpOp::Eq,
            CmpOp::Ne,
        ]);
        let predicate = prop_oneof![
            (op, operand()).prop_map(|(op, rhs)| Predicate::Compare { op, rhs }),
            (operand(), operand()).prop_map(|(a, b)| match (a, b) {
                (Operand::Number(x), Operand::Number(y)) if x > y =>
                    Predicate::Between { low: b, high: a },
                _ => Predicate::Between { low: a, high: b },
            }),
        ];
        (reduction, predicate)
            .prop_map(|(reduction, predicate)| Condition {
                reduction,
                predicate,
            })
            .boxed()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any text: a condition or an error pointing inside the text, never
        /// a panic; what parses prints to a text that parses the same.
        #[test]
        fn parse_never_panics_and_what_parses_round_trips(
            parts in proptest::collection::vec(fragment(), 0..8),
            spaces in proptest::collection::vec(proptest::bool::ANY, 8),
        ) {
            let text: String = parts
                .iter()
                .zip(&spaces)
                .map(|(p, space)| if *space { format!("{p} ") } else { p.clone() })
                .collect();
            match Condition::parse(&text) {
                Ok(c) => {
                    let printed = c.to_string();
                    proptest::prop_assert_eq!(Condition::parse(&printed), Ok(c), "{}", printed);
                }
                Err(e) => {
                    proptest::prop_assert!(e.offset + e.len <= text.len(), "{:?} in {:?}", e, text);
                    proptest::prop_assert!(text.is_char_boundary(e.offset), "{:?} in {:?}", e, text);
                    proptest::prop_assert!(text.is_char_boundary(e.offset + e.len), "{:?} in {:?}", e, text);
                    proptest::prop_assert!(!e.message.is_empty());
                }
            }
        }

        #[test]
        fn parse_never_panics_on_any_text(text in "\\PC{0,40}") {
            let _ = Condition::parse(&text);
        }

        /// Every condition prints to a text that parses back to it, and
        /// printing that again gives the same text (`-0` stays `-0`).
        #[test]
        fn print_then_parse_gives_the_same_condition(c in condition()) {
            let printed = c.to_string();
            let parsed = Condition::parse(&printed);
            proptest::prop_assert_eq!(parsed.clone(), Ok(c), "{}", printed);
            proptest::prop_assert_eq!(parsed.unwrap().to_string(), printed);
        }
    }

    fn judge(cond: &str, values: &[f64]) -> Outcome {
        Condition::parse(cond)
            .unwrap()
            .evaluate(values, None)
            .outcome
    }

    fn judge_b(cond: &str, values: &[f64], baseline: Option<f64>) -> Outcome {
        Condition::parse(cond)
            .unwrap()
            .evaluate(values, baseline)
            .outcome
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn every_comparison_operator() {
        let cases: &[(&str, f64, bool)] = &[
            ("< 1", 0.5, true),
            ("< 1", 1.0, false),
            ("< 1", 2.0, false),
            ("<= 1", 1.0, true),
            ("<= 1", 1.5, false),
            ("> 1", 1.5, true),
            ("> 1", 1.0, false),
            (">= 1", 1.0, true),
            (">= 1", 0.9, false),
            ("== 1", 1.0, true),
            ("== 1", 1.1, false),
            ("!= 1", 1.1, true),
            ("!= 1", 1.0, false),
            ("between 1 and 2", 1.0, true),
            ("between 1 and 2", 1.5, true),
            ("between 1 and 2", 2.0, true),
            ("between 1 and 2", 0.99, false),
            ("between 1 and 2", 2.01, false),
            ("< -1", -2.0, true),
        ];
        for (cond, v, pass) in cases {
            let want = if *pass { Outcome::Pass } else { Outcome::Fail };
            assert_eq!(judge(cond, &[*v]), want, "{cond} on {v}");
        }
    }

    #[test]
    fn nan_is_inconclusive_for_every_operator_and_reduction() {
        for cond in [
            "< 1",
            "> 1",
            "<= 1",
            ">= 1",
            "== 1",
            "!= 1",
            "between 0 and 1",
            "any < 1",
            "max < 1",
            "min < 1",
            "avg < 1",
            "sum < 1",
            "!= baseline",
        ] {
            let j = Condition::parse(cond)
                .unwrap()
                .evaluate(&[f64::NAN], Some(1.0));
            assert!(
                matches!(j.outcome, Outcome::Inconclusive(_)),
                "{cond}: {j:?}"
            );
            let j = Condition::parse(cond)
                .unwrap()
                .evaluate(&[0.5, f64::NAN], Some(1.0));
            match j.outcome {
                Outcome::Inconclusive(reason) => {
                    assert!(reason.contains("series 2 of 2"), "{reason}");
                }
                other => panic!("{cond}: {other:?}"),
            }
        }
    }

    #[test]
    fn infinities_compare_as_numbers() {
        assert_eq!(judge("< 1", &[INF]), Outcome::Fail);
        assert_eq!(judge("> 1", &[INF]), Outcome::Pass);
        assert_eq!(judge("< 1", &[-INF]), Outcome::Pass);
        assert_eq!(judge("== inf", &[INF]), Outcome::Pass);
        assert_eq!(judge("< inf", &[INF]), Outcome::Fail);
        assert_eq!(judge("<= inf", &[INF]), Outcome::Pass);
        assert_eq!(judge("between 0 and 10", &[INF]), Outcome::Fail);
        assert_eq!(judge("max > 5", &[1.0, INF]), Outcome::Pass);
        assert_eq!(judge("sum < 5", &[1.0, INF]), Outcome::Fail);
        // +Inf + -Inf has no value.
        assert!(matches!(
            judge("sum < 5", &[INF, -INF]),
            Outcome::Inconclusive(_)
        ));
        assert!(matches!(
            judge("avg < 5", &[INF, -INF]),
            Outcome::Inconclusive(_)
        ));
        assert_eq!(judge("min < 5", &[INF, -INF]), Outcome::Pass);
    }

    #[test]
    fn empty_results_are_no_data_never_pass() {
        for cond in [
            "< 1",
            "any < 1",
            "max < 1",
            "min < 1",
            "avg < 1",
            "sum < 1",
            "between 0 and 1",
        ] {
            let j = Condition::parse(cond).unwrap().evaluate(&[], Some(1.0));
            assert_eq!(j.outcome, Outcome::NoData, "{cond}");
            assert_eq!(j.value, None);
        }
    }

    #[test]
    fn reductions_over_one_and_many_series() {
        let many = [1.0, 5.0, 3.0];
        assert_eq!(judge("< 6", &many), Outcome::Pass);
        assert_eq!(judge("< 4", &many), Outcome::Fail);
        assert_eq!(judge("all < 4", &many), Outcome::Fail);
        assert_eq!(judge("any > 4", &many), Outcome::Pass);
        assert_eq!(judge("any > 5", &many), Outcome::Fail);
        assert_eq!(judge("max <= 5", &many), Outcome::Pass);
        assert_eq!(judge("max < 5", &many), Outcome::Fail);
        assert_eq!(judge("min >= 1", &many), Outcome::Pass);
        assert_eq!(judge("min > 1", &many), Outcome::Fail);
        assert_eq!(judge("avg == 3", &many), Outcome::Pass);
        assert_eq!(judge("avg > 3", &many), Outcome::Fail);
        assert_eq!(judge("sum == 9", &many), Outcome::Pass);
        assert_eq!(judge("sum < 9", &many), Outcome::Fail);
        // One series: every reduction is that series.
        for r in ["all", "any", "max", "min", "avg", "sum"] {
            assert_eq!(judge(&format!("{r} == 2"), &[2.0]), Outcome::Pass, "{r}");
            assert_eq!(judge(&format!("{r} != 2"), &[2.0]), Outcome::Fail, "{r}");
        }
    }

    #[test]
    fn the_judged_value_is_recorded() {
        let c = Condition::parse("max < 10").unwrap();
        assert_eq!(c.evaluate(&[1.0, 4.0], None).value, Some(4.0));
        let c = Condition::parse("< 3").unwrap();
        assert_eq!(c.evaluate(&[1.0, 4.0, 5.0], None).value, Some(4.0));
        let c = Condition::parse("any > 3").unwrap();
        assert_eq!(c.evaluate(&[1.0, 4.0, 5.0], None).value, Some(4.0));
        let c = Condition::parse("avg < 3").unwrap();
        assert_eq!(c.evaluate(&[1.0, 2.0], None).value, Some(1.5));
    }

    #[test]
    fn baseline_relative_conditions() {
        assert_eq!(
            judge_b("<= baseline + 10%", &[110.0], Some(100.0)),
            Outcome::Pass
        );
        assert_eq!(
            judge_b("<= baseline + 10%", &[110.1], Some(100.0)),
            Outcome::Fail
        );
        assert_eq!(
            judge_b(">= baseline - 10%", &[90.0], Some(100.0)),
            Outcome::Pass
        );
        assert_eq!(
            judge_b(">= baseline - 10%", &[89.0], Some(100.0)),
            Outcome::Fail
        );
        // Percentages are of the magnitude: +10% of -100 is -90.
        assert_eq!(
            judge_b("<= baseline + 10%", &[-90.0], Some(-100.0)),
            Outcome::Pass
        );
        assert_eq!(
            judge_b("<= baseline + 10%", &[-89.0], Some(-100.0)),
            Outcome::Fail
        );
        assert_eq!(
            judge_b(">= baseline * 0.9", &[0.9], Some(1.0)),
            Outcome::Pass
        );
        assert_eq!(
            judge_b(">= baseline * 0.9", &[0.8], Some(1.0)),
            Outcome::Fail
        );
        assert_eq!(
            judge_b("< baseline + 5", &[14.0], Some(10.0)),
            Outcome::Pass
        );
        assert_eq!(judge_b("> baseline - 5", &[4.0], Some(10.0)), Outcome::Fail);
        assert_eq!(judge_b("== baseline", &[3.0], Some(3.0)), Outcome::Pass);
        assert_eq!(
            judge_b("between baseline - 1 and baseline + 1", &[10.5], Some(10.0)),
            Outcome::Pass
        );
        assert_eq!(
            judge_b("between baseline - 1 and baseline + 1", &[11.5], Some(10.0)),
            Outcome::Fail
        );
        assert_eq!(
            judge_b("max <= baseline", &[1.0, 2.0], Some(2.0)),
            Outcome::Pass
        );
        // An infinite baseline compares as a number.
        assert_eq!(judge_b("< baseline", &[1e300], Some(INF)), Outcome::Pass);
    }

    #[test]
    fn a_missing_or_nan_baseline_is_inconclusive_with_a_reason() {
        for baseline in [None, Some(f64::NAN)] {
            match judge_b("<= baseline + 10%", &[1.0], baseline) {
                Outcome::Inconclusive(reason) => assert!(reason.contains("baseline"), "{reason}"),
                other => panic!("{baseline:?}: {other:?}"),
            }
        }
        // Inf * 0 is NaN.
        assert!(matches!(
            judge_b("< baseline * 0", &[1.0], Some(INF)),
            Outcome::Inconclusive(_)
        ));
        // A condition without a baseline does not need one.
        assert_eq!(judge_b("< 2", &[1.0], None), Outcome::Pass);
    }
}
