//! Reading a condition's text: a lexer and a small recursive-descent
//! parser, with errors located by byte offset so `validate` can point at the
//! offending token.

use std::fmt;

use super::model::{Adjust, CmpOp, Condition, Operand, Predicate, Reduction};

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

pub(super) const REDUCTIONS: &[(&str, Reduction)] = &[
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
}
