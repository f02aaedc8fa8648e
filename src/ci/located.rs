//! A diagnostic with its place resolved to lines and columns, as CI formats
//! show it: a GitHub annotation on that line, a `file:line:col: error: ...`
//! line in a JUnit failure, an entry in `cutover check`'s JSON.

use serde::{Deserialize, Serialize};

use super::github::{Annotation, Level, Place};
use crate::diag::{Diagnostic, Severity, SourceFile};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    pub file: String,
    pub severity: Severity,
    pub message: String,
    #[serde(default)]
    pub help: Option<String>,
    /// 1-based; `None` when the problem has no place in the file.
    #[serde(default)]
    pub line: Option<usize>,
    #[serde(default)]
    pub column: Option<usize>,
    /// Where the span ends (exclusive column, as `validate --format json`).
    #[serde(default)]
    pub end_line: Option<usize>,
    #[serde(default)]
    pub end_column: Option<usize>,
}

impl Located {
    pub fn new(file: &SourceFile, diag: &Diagnostic) -> Self {
        let (line, column, end_line, end_column) = match &diag.span {
            Some(span) => {
                let (l, c) = file.line_col(span.start);
                let (el, ec) = file.line_col(span.end);
                (Some(l), Some(c), Some(el), Some(ec))
            }
            None => (None, None, None, None),
        };
        Located {
            file: file.display_path(),
            severity: diag.severity,
            message: diag.message.clone(),
            help: diag.help.clone(),
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// Every diagnostic of `file`, in the order of their places.
    pub fn all(file: &SourceFile, diags: &[Diagnostic]) -> Vec<Located> {
        let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
        sorted.sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.severity));
        sorted.into_iter().map(|d| Located::new(file, d)).collect()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn word(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// `file:line:col: error: message (help: ...)`, one line, as compilers write it.
    pub fn line_text(&self) -> String {
        let at = match (self.line, self.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        let help = self
            .help
            .as_ref()
            .map(|h| format!(" (help: {h})"))
            .unwrap_or_default();
        format!("{}{at}: {}: {}{help}", self.file, self.word(), self.message)
    }

    /// The GitHub annotation: on the span's lines and columns (GitHub's end
    /// column is inclusive), the help on a line of its own.
    pub fn annotation(&self, title: &str) -> Annotation {
        let place = self.line.map(|line| {
            let end_col = match (self.end_line, self.end_column) {
                (Some(el), Some(ec)) if el > line || self.column.is_some_and(|c| ec > c) => {
                    Some(ec - 1)
                }
                _ => self.column,
            };
            Place {
                line,
                col: self.column,
                end_line: self.end_line.or(Some(line)),
                end_col,
            }
        });
        let mut message = self.message.clone();
        if let Some(help) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        Annotation {
            level: match self.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warning,
            },
            file: Some(self.file.clone()),
            place,
            title: Some(title.to_string()),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_becomes_lines_and_columns() {
        let file = SourceFile::new("c.toml", "[a]\nseverity = \"blocer\"\n".into());
        let start = file.text.find("\"blocer\"").unwrap();
        let d = Diagnostic::error("unknown severity `blocer`")
            .at(start..start + 8)
            .help("did you mean `blocker`?");
        let l = Located::new(&file, &d);
        assert_eq!(
            (l.line, l.column, l.end_line, l.end_column),
            (Some(2), Some(12), Some(2), Some(20))
        );
        assert_eq!(
            l.line_text(),
            "c.toml:2:12: error: unknown severity `blocer` (help: did you mean `blocker`?)"
        );
        assert_eq!(
            l.annotation("t").render(),
            "::error file=c.toml,line=2,col=12,endLine=2,endColumn=19,title=t::unknown severity `blocer`%0Ahelp: did you mean `blocker`?"
        );
        let nowhere = Located::new(&file, &Diagnostic::warning("w"));
        assert_eq!(nowhere.line_text(), "c.toml: warning: w");
        assert_eq!(
            nowhere.annotation("t").render(),
            "::warning file=c.toml,title=t::w"
        );
    }
}
