//! Quoting a template's value for where it stands in a command (outside
//! quotes, inside `'...'` or `"..."`, or as raw shell text), and how a
//! secret's environment variable is expanded there instead.

use std::ops::Range;

/// The longest command string a `run`, rollback or command query may hold,
/// in bytes, templates filled: far below the kernel's limit on one argument
/// (128 KiB per string on Linux, `MAX_ARG_STRLEN`), so a command that
/// validates never fails at exec with E2BIG. A longer script belongs in a file.
pub(crate) const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// Where a template stands in a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Outside quotes.
    Unquoted(Word),
    /// Inside `'...'`.
    Single,
    /// Inside `"..."`.
    Double,
    /// `{{ ... | raw }}`: the value is shell text, inserted as it is.
    Raw,
}

/// What surrounds an unquoted template in its word: whether a plain value
/// could change meaning there (an assignment, a reserved word, a brace expansion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Word {
    /// Nothing of the word precedes the template.
    pub(crate) start: bool,
    /// A name character or another template precedes it: `NAME` + `=x` is an assignment.
    pub(crate) after_name: bool,
    /// An unquoted `{` precedes it in the word: `,` and `..` would expand.
    pub(crate) in_braces: bool,
}

/// Reserved words: a plain value at the start of a word would be syntax.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "function", "select", "time", "coproc",
];

impl Word {
    /// The value can stand unquoted and mean only itself.
    fn plain(self, value: &str) -> bool {
        !value.is_empty()
            && !self.in_braces
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b))
            && !(value.contains('=') && (self.start || self.after_name))
            && !(self.start && RESERVED.contains(&value))
    }
}

/// A template in a place whose quoting is not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unquotable {
    /// The template, in bytes of the command.
    pub(crate) range: Range<usize>,
    pub(crate) message: String,
    pub(crate) help: String,
}

/// `value` quoted for `context`: it reads back as exactly `value`.
pub(crate) fn quote(value: &str, context: Context) -> String {
    match context {
        Context::Raw => value.to_string(),
        Context::Single => value.replace('\'', r"'\''"),
        Context::Double => escape_double(value),
        Context::Unquoted(word) if word.plain(value) => value.to_string(),
        Context::Unquoted(_) => format!("'{}'", value.replace('\'', r"'\''")),
    }
}

/// `value` for the inside of `"..."`: `"`, `\`, `$` and `` ` `` escaped.
pub(crate) fn escape_double(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `CUTOVER_SECRET_<NAME>`: the environment variable a step command reads a secret from.
pub fn secret_env_name(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CUTOVER_SECRET_{upper}")
}

/// A reference to environment variable `var` that expands to its value as
/// one word in `context` (how a secret reaches a command).
pub(crate) fn expand(var: &str, context: Context) -> String {
    match context {
        Context::Unquoted(_) | Context::Raw => format!("\"${{{var}}}\""),
        Context::Double => format!("${{{var}}}"),
        Context::Single => format!("'\"${{{var}}}\"'"),
    }
}
