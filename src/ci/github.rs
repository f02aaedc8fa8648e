//! GitHub Actions workflow commands: one `::error` / `::warning` / `::notice`
//! annotation per problem, pointing at a file, line and column when the
//! problem has a place, so GitHub shows it on that line of the diff.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// Where in a file: 1-based lines and columns, the end inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub col: Option<usize>,
    pub end_line: Option<usize>,
    pub end_col: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub file: Option<String>,
    pub place: Option<Place>,
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    /// `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=T::message`
    /// (one line: newlines in the message are escaped as GitHub decodes them).
    pub fn render(&self) -> String {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        };
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", property(file)));
            if let Some(p) = &self.place {
                properties.push(format!("line={}", p.line));
                if let Some(col) = p.col {
                    properties.push(format!("col={col}"));
                }
                if let Some(end) = p.end_line {
                    properties.push(format!("endLine={end}"));
                }
                if let Some(end) = p.end_col {
                    properties.push(format!("endColumn={end}"));
                }
            }
        }
        if let Some(title) = &self.title {
            properties.push(format!("title={}", property(title)));
        }
        let mut out = format!("::{level}");
        if !properties.is_empty() {
            let _ = write!(out, " {}", properties.join(","));
        }
        let _ = write!(out, "::{}", data(&self.message));
        out
    }
}

/// Workflow command data: `%`, CR and LF are escaped.
pub fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command property values also escape `:` and `,`.
pub fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_their_separators() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a: b, c"), "a%3A b%2C c");
    }

    #[test]
    fn an_annotation_names_file_line_and_column() {
        let a = Annotation {
            level: Level::Error,
            file: Some("checks/a,b.toml".into()),
            place: Some(Place {
                line: 7,
                col: Some(12),
                end_line: Some(7),
                end_col: Some(19),
            }),
            title: Some("cutover: invalid".into()),
            message: "unknown severity `blocer`\nhelp: did you mean `blocker`?".into(),
        };
        assert_eq!(
            a.render(),
            "::error file=checks/a%2Cb.toml,line=7,col=12,endLine=7,endColumn=19,title=cutover%3A invalid::unknown severity `blocer`%0Ahelp: did you mean `blocker`?"
        );
        let bare = Annotation {
            level: Level::Warning,
            file: None,
            place: None,
            title: None,
            message: "m".into(),
        };
        assert_eq!(bare.render(), "::warning::m");
    }
}
