//! Lexing a command up to each template to find where it stands: the frames
//! of quotes, substitutions, expansions, comments and heredocs the shell
//! would be in, and the places no quoting makes safe.

use super::quote::{Context, Unquotable, Word};
use crate::runbook::template::Reference;

/// The context of every reference in `command` (in order), or the first
/// that stands where no quoting is safe. `{{ ... | raw }}` is [`Context::Raw`]
/// wherever it stands.
pub(crate) fn contexts(command: &str, refs: &[Reference]) -> Result<Vec<Context>, Unquotable> {
    let mut lexer = Lexer {
        text: command.as_bytes(),
        stack: vec![Frame::Command {
            sub: false,
            open: 0,
        }],
        prev: Prev::Boundary,
        in_braces: false,
        heredocs: Vec::new(),
        case_at: None,
    };
    let mut out = Vec::with_capacity(refs.len());
    let mut i = 0;
    for r in refs {
        while i < r.range.start {
            i = lexer.step(i, r)?;
        }
        out.push(lexer.context(r)?);
        i = r.range.end;
        lexer.prev = Prev::Template;
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The command itself, or inside `$(...)` (`sub`), with the `(` opened
    /// in it and not closed yet.
    Command {
        sub: bool,
        open: usize,
    },
    Double,
    Single,
    /// `$'...'`
    AnsiC,
    Backtick,
    /// `$((...))`, with the `(` opened in it.
    Arith {
        open: usize,
    },
    /// `${...}`, with the `{` opened in it.
    Param {
        open: usize,
    },
    /// `# ...` to the end of the line.
    Comment,
}

/// What precedes the current position in a command-level word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Nothing: the start, a blank or an operator.
    Boundary,
    /// A letter, digit or `_`.
    Name,
    /// A template.
    Template,
    Other,
}

/// A `<<WORD` whose body starts after the current line.
struct Heredoc {
    delimiter: String,
    /// `<<-`: leading tabs are stripped from body lines.
    strip_tabs: bool,
}

struct Lexer<'a> {
    text: &'a [u8],
    stack: Vec<Frame>,
    prev: Prev,
    in_braces: bool,
    heredocs: Vec<Heredoc>,
    /// A `case` inside `$(...)`: its `a)` patterns hide where the substitution ends.
    case_at: Option<usize>,
}

impl Lexer<'_> {
    fn top(&self) -> Frame {
        *self
            .stack
            .last()
            .expect("the command frame is never popped")
    }

    fn at(&self, i: usize) -> u8 {
        self.text.get(i).copied().unwrap_or(0)
    }

    fn starts(&self, i: usize, s: &str) -> bool {
        self.text[i..].starts_with(s.as_bytes())
    }

    fn push(&mut self, frame: Frame) {
        self.stack.push(frame);
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
        // What was popped is part of the word of the command level below.
        self.prev = Prev::Other;
    }

    /// Consume what starts at `i` (never past `next`'s start); the position after it.
    fn step(&mut self, i: usize, next: &Reference) -> Result<usize, Unquotable> {
        let after = match self.top() {
            Frame::Command { sub, open } => self.command(i, sub, open, next)?,
            Frame::Double => self.double(i, next)?,
            Frame::Single => {
                if self.at(i) == b'\'' {
                    self.pop();
                }
                i + 1
            }
            Frame::AnsiC | Frame::Backtick => {
                let close = if self.top() == Frame::AnsiC {
                    b'\''
                } else {
                    b'`'
                };
                match self.at(i) {
                    b'\\' => i + 2,
                    c if c == close => {
                        self.pop();
                        i + 1
                    }
                    _ => i + 1,
                }
            }
            Frame::Arith { open } => self.arith(i, open, next)?,
            Frame::Param { open } => self.param(i, open, next)?,
            Frame::Comment => {
                if self.at(i) == b'\n' {
                    // The newline is the command level's: it may start heredoc bodies.
                    self.stack.pop();
                    self.prev = Prev::Boundary;
                    return Ok(i);
                }
                i + 1
            }
        };
        if after > next.range.start {
            return Err(self.cut(i, next));
        }
        Ok(after)
    }

    /// A token at `i` that would run into the template `next`.
    fn cut(&self, i: usize, next: &Reference) -> Unquotable {
        let (message, help) = match self.at(i) {
            b'\\' => (
                "a template right after `\\` in a shell command",
                "remove the `\\`: the value is quoted for the shell already",
            ),
            b'$' => (
                "a template right after `$` in a shell command",
                "`$` would make the value a shell expansion; write the template alone",
            ),
            _ => (
                "a template inside a shell token (a heredoc marker, `$(`, `<<<`)",
                "put a space between the token and the template",
            ),
        };
        unquotable(next, message, help)
    }

    fn command(
        &mut self,
        i: usize,
        sub: bool,
        open: usize,
        next: &Reference,
    ) -> Result<usize, Unquotable> {
        let c = self.at(i);
        let boundary = self.prev == Prev::Boundary;
        let prev = if c.is_ascii_alphanumeric() || c == b'_' {
            Prev::Name
        } else {
            Prev::Other
        };
        let after = match c {
            b' ' | b'\t' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'\n' => {
                self.in_braces = false;
                return self.operator(i, sub, open, next);
            }
            b'\\' => i + 2,
            b'\'' => {
                self.push(Frame::Single);
                i + 1
            }
            b'"' => {
                self.push(Frame::Double);
                i + 1
            }
            b'`' => {
                self.push(Frame::Backtick);
                i + 1
            }
            b'$' => return self.dollar(i, true, next),
            b'#' if boundary => {
                self.push(Frame::Comment);
                i + 1
            }
            b'{' => {
                self.in_braces = true;
                i + 1
            }
            b'c' if boundary && sub && self.starts(i, "case") && is_blank(self.at(i + 4)) => {
                self.case_at.get_or_insert(i);
                i + 4
            }
            _ => i + 1,
        };
        if matches!(self.top(), Frame::Command { .. }) {
            self.prev = prev;
        }
        Ok(after)
    }

    /// A blank or an operator character at command level.
    fn operator(
        &mut self,
        i: usize,
        sub: bool,
        open: usize,
        next: &Reference,
    ) -> Result<usize, Unquotable> {
        self.prev = Prev::Boundary;
        match self.at(i) {
            b'(' if sub => self.set_open(open + 1),
            b')' if sub && open == 0 => self.pop(),
            b')' if sub => self.set_open(open - 1),
            b'\n' => return self.heredoc_bodies(i + 1, next),
            b'<' if self.starts(i, "<<<") => return Ok(i + 3),
            b'<' if self.starts(i, "<<") => return self.heredoc(i, next),
            _ => {}
        }
        Ok(i + 1)
    }

    fn set_open(&mut self, n: usize) {
        if let Some(Frame::Command { open, .. } | Frame::Arith { open } | Frame::Param { open }) =
            self.stack.last_mut()
        {
            *open = n;
        }
    }

    /// `$` at `i`: an expansion starts (`$(`, `$((`, `${`, `$'` outside
    /// double quotes) or it is a plain `$NAME`.
    fn dollar(&mut self, i: usize, unquoted: bool, next: &Reference) -> Result<usize, Unquotable> {
        if i + 1 == next.range.start {
            return Err(self.cut(i, next));
        }
        if self.starts(i, "$((") {
            self.push(Frame::Arith { open: 0 });
            Ok(i + 3)
        } else if self.starts(i, "$(") {
            self.push(Frame::Command { sub: true, open: 0 });
            self.prev = Prev::Boundary;
            Ok(i + 2)
        } else if self.starts(i, "${") {
            self.push(Frame::Param { open: 0 });
            Ok(i + 2)
        } else if unquoted && self.starts(i, "$'") {
            self.push(Frame::AnsiC);
            Ok(i + 2)
        } else {
            if matches!(self.top(), Frame::Command { .. }) {
                self.prev = Prev::Other;
            }
            Ok(i + 1)
        }
    }

    fn double(&mut self, i: usize, next: &Reference) -> Result<usize, Unquotable> {
        Ok(match self.at(i) {
            b'\\' => i + 2,
            b'"' => {
                self.pop();
                i + 1
            }
            b'`' => {
                self.push(Frame::Backtick);
                i + 1
            }
            b'$' => return self.dollar(i, false, next),
            _ => i + 1,
        })
    }

    fn arith(&mut self, i: usize, open: usize, next: &Reference) -> Result<usize, Unquotable> {
        Ok(match self.at(i) {
            b'(' => {
                self.set_open(open + 1);
                i + 1
            }
            b')' if open == 0 => {
                self.pop();
                if self.at(i + 1) == b')' { i + 2 } else { i + 1 }
            }
            b')' => {
                self.set_open(open - 1);
                i + 1
            }
            _ => return self.nested(i, next),
        })
    }

    fn param(&mut self, i: usize, open: usize, next: &Reference) -> Result<usize, Unquotable> {
        Ok(match self.at(i) {
            b'{' => {
                self.set_open(open + 1);
                i + 1
            }
            b'}' if open == 0 => {
                self.pop();
                i + 1
            }
            b'}' => {
                self.set_open(open - 1);
                i + 1
            }
            _ => return self.nested(i, next),
        })
    }

    /// Inside `$((...))` and `${...}`: escapes, quotes and expansions nest.
    fn nested(&mut self, i: usize, next: &Reference) -> Result<usize, Unquotable> {
        Ok(match self.at(i) {
            b'\\' => i + 2,
            b'\'' => {
                self.push(Frame::Single);
                i + 1
            }
            b'"' => {
                self.push(Frame::Double);
                i + 1
            }
            b'`' => {
                self.push(Frame::Backtick);
                i + 1
            }
            b'$' => return self.dollar(i, true, next),
            _ => i + 1,
        })
    }

    /// `<<WORD` or `<<-WORD` at `i`: note the delimiter; the body starts at
    /// the next newline.
    fn heredoc(&mut self, i: usize, next: &Reference) -> Result<usize, Unquotable> {
        let strip_tabs = self.at(i + 2) == b'-';
        let mut j = i + 2 + usize::from(strip_tabs);
        while is_blank(self.at(j)) && j < self.text.len() {
            j += 1;
        }
        let start = j;
        let mut delimiter = Vec::new();
        let mut quote = 0u8;
        while j < self.text.len() {
            let c = self.text[j];
            match (quote, c) {
                (0, b'\'' | b'"') => quote = c,
                (0, b'\\') => {
                    j += 1;
                    delimiter.push(self.at(j));
                }
                (0, c) if is_blank(c) || b";&|()<>\n".contains(&c) => break,
                (q, c) if q == c => quote = 0,
                (_, c) => delimiter.push(c),
            }
            j += 1;
        }
        if next.range.start < j.max(start + 1) {
            return Err(unquotable(
                next,
                "a template as a heredoc delimiter",
                "write the delimiter (e.g. `EOF`) itself",
            ));
        }
        self.heredocs.push(Heredoc {
            delimiter: String::from_utf8_lossy(&delimiter).into_owned(),
            strip_tabs,
        });
        Ok(j)
    }

    /// The bodies of the heredocs opened on the line that ends before `from`;
    /// the position after them. A template inside a body is refused.
    fn heredoc_bodies(&mut self, from: usize, next: &Reference) -> Result<usize, Unquotable> {
        let mut pos = from;
        for doc in std::mem::take(&mut self.heredocs) {
            while pos < self.text.len() {
                let end = self.text[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.text.len(), |n| pos + n);
                let mut line = &self.text[pos..end];
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                pos = (end + 1).min(self.text.len());
                if line == doc.delimiter.as_bytes() {
                    break;
                }
            }
        }
        if (from..pos).contains(&next.range.start) {
            return Err(unquotable(
                next,
                "a template inside a heredoc cannot be quoted for the shell",
                "assign the value to a shell variable first (`v={{ vars.NAME }}`) and write `$v` in the heredoc, or pass it through the step's `env`",
            ));
        }
        Ok(pos)
    }

    /// How the template `r` at the current position is quoted.
    fn context(&self, r: &Reference) -> Result<Context, Unquotable> {
        if r.raw {
            return Ok(Context::Raw);
        }
        let variable = "assign the value to a shell variable first (`v={{ vars.NAME }}; ...`) and write `$v` there";
        if self.case_at.is_some() {
            return Err(unquotable(
                r,
                "a template after a `case` inside `$(...)`: its `PATTERN)` hides where the substitution ends",
                variable,
            ));
        }
        for frame in &self.stack {
            let message = match frame {
                Frame::Backtick => {
                    "a template inside a backtick substitution cannot be quoted for the shell"
                }
                Frame::Arith { .. } => {
                    "a template inside `$((...))` cannot be quoted for the shell"
                }
                Frame::Param { .. } => "a template inside `${...}` cannot be quoted for the shell",
                Frame::AnsiC => "a template inside `$'...'` cannot be quoted for the shell",
                Frame::Comment => {
                    return Err(unquotable(
                        r,
                        "a template inside a shell comment: a value holding a newline would end the comment",
                        "take the template out of the comment",
                    ));
                }
                Frame::Command { .. } | Frame::Double | Frame::Single => continue,
            };
            let help = if *frame == Frame::Backtick {
                "use `$(...)` instead of backticks"
            } else {
                variable
            };
            return Err(unquotable(r, message, help));
        }
        Ok(match self.top() {
            Frame::Double => Context::Double,
            Frame::Single => Context::Single,
            _ => Context::Unquoted(Word {
                start: self.prev == Prev::Boundary,
                after_name: matches!(self.prev, Prev::Name | Prev::Template),
                in_braces: self.in_braces,
            }),
        })
    }
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn unquotable(r: &Reference, message: &str, help: &str) -> Unquotable {
    Unquotable {
        range: r.range.clone(),
        message: message.to_string(),
        help: help.to_string(),
    }
}
