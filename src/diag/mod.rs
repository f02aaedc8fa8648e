//! Diagnostics that point into a file: `error: …`, `--> file:line:col`, the
//! line, and carets under the exact span (modelled on `just`).

mod render;
mod source;

pub use render::{render, render_all, stderr_color, to_json};
pub use source::{SourceFile, Span};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about one file. `span` is a byte range in that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    #[must_use]
    pub fn at(mut self, span: impl Into<Option<Span>>) -> Self {
        self.span = span.into();
        self
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// In-place form of `label`, for diagnostics already pushed to a list.
    pub fn with_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a typo.
/// A name of 3 or more characters that starts exactly one candidate
/// (`warn` for `warning`) is a typo of it too.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(name.len().min(c.len()) / 3) && *d < name.len().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
        .or_else(|| {
            let mut prefixed = candidates
                .iter()
                .filter(|c| name.len() >= 3 && c.len() > name.len() && c.starts_with(name));
            match (prefixed.next(), prefixed.next()) {
                (Some(only), None) => Some(*only),
                _ => None,
            }
        })
}

/// Names as an operator reads them in a message: `` `a`, `b`, `c` ``.
pub fn code_list<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `did you mean `x`?` help text, if any candidate is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    suggest(name, candidates).map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("migrte", ["migrate", "freeze"]), Some("migrate"));
        assert_eq!(suggest("tiemout", ["timeout", "retries"]), Some("timeout"));
        assert_eq!(suggest("zzz", ["timeout", "retries"]), None);
        assert_eq!(suggest("warn", ["blocker", "warning"]), Some("warning"));
        assert_eq!(suggest("impact", ["impact-start", "impact-end"]), None);
    }
}
