//! Rendering diagnostics for people (with a caret under the span) and as JSON.

use std::fmt::Write as _;

use super::{Diagnostic, Severity, SourceFile};
use crate::text::one_line;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Colour diagnostics on stderr as `--color` says (`auto`: a terminal,
/// unless `NO_COLOR` is set).
pub fn stderr_color() -> bool {
    crate::text::color::stderr()
}

/// Render one diagnostic about `file` (no trailing blank line). Control
/// characters in the file or in what a message quotes from it are shown
/// visibly (`\x1b`), the carets still under what they point at.
pub fn render(file: &SourceFile, diag: &Diagnostic, color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    let (word, code) = match diag.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let _ = writeln!(
        out,
        "{}: {}",
        style.paint(code, word),
        style.paint("1", &one_line(&diag.message))
    );
    let Some(span) = diag.span.clone() else {
        let _ = writeln!(out, "  --> {}", one_line(&file.display_path()));
        if let Some(help) = &diag.help {
            let _ = writeln!(out, "   = help: {}", one_line(help));
        }
        return out;
    };
    let start = file.clamp(span.start);
    let end = file.clamp(span.end.max(span.start));
    let (line, col) = file.line_col(start);
    let line_index = line - 1;
    let text = file.line_text(line_index);
    let number = line.to_string();
    let pad = " ".repeat(number.len());
    let _ = writeln!(
        out,
        "{pad}{} {}:{line}:{col}",
        style.paint("1;34", "-->"),
        one_line(&file.display_path())
    );
    let _ = writeln!(out, "{pad} {}", style.paint("1;34", "|"));
    // Tabs are shown as four spaces so the carets line up.
    let shown: String = one_line(&text.replace('\t', "    ")).into_owned();
    let line_start = file.line_start(line_index);
    let prefix = &file.text[line_start..start];
    let indent: usize = prefix.chars().map(columns).sum();
    let (shown, indent) = window(&shown, indent);
    let _ = writeln!(
        out,
        "{} {} {shown}",
        style.paint("1;34", &number),
        style.paint("1;34", "|")
    );
    let line_end = line_start + text.len();
    let covered = &file.text[start..end.min(line_end).max(start)];
    let width = covered
        .chars()
        .map(columns)
        .sum::<usize>()
        .clamp(1, (shown.chars().count() + 1).saturating_sub(indent).max(1));
    let carets = "^".repeat(width);
    let label = diag
        .label
        .as_deref()
        .map(|l| format!(" {}", one_line(l)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad} {} {}{}",
        style.paint("1;34", "|"),
        " ".repeat(indent),
        style.paint(code, &format!("{carets}{label}"))
    );
    if let Some(help) = &diag.help {
        let _ = writeln!(
            out,
            "{pad} = {}: {}",
            style.paint("1", "help"),
            one_line(help)
        );
    }
    out
}

/// Columns `c` takes in the quoted source line: a tab four, a control
/// character its visible escape.
fn columns(c: char) -> usize {
    if c == '\t' {
        4
    } else {
        crate::text::shown_width(c)
    }
}

/// Characters of a line shown around the span: a line may be megabytes long
/// (a script pasted into one string).
const SHOWN: usize = 160;

/// The part of a long line around column `indent` (0-based, in characters),
/// cut with `…`, and the caret's column in it.
fn window(line: &str, indent: usize) -> (String, usize) {
    let len = line.chars().count();
    if len <= SHOWN {
        return (line.to_string(), indent);
    }
    let from = indent.saturating_sub(SHOWN / 4).min(len - SHOWN);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(line.chars().skip(from).take(SHOWN));
    if from + SHOWN < len {
        out.push('…');
    }
    (out, indent - from + usize::from(from > 0))
}

/// Render every diagnostic, sorted by position, separated by blank lines.
pub fn render_all(file: &SourceFile, diags: &[Diagnostic], color: bool) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.severity));
    sorted
        .iter()
        .map(|d| render(file, d, color))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON form used by `validate --format json`.
pub fn to_json(file: &SourceFile, diag: &Diagnostic) -> serde_json::Value {
    let (line, column, end_line, end_column) = match &diag.span {
        Some(span) => {
            let (l, c) = file.line_col(span.start);
            let (el, ec) = file.line_col(span.end);
            (Some(l), Some(c), Some(el), Some(ec))
        }
        None => (None, None, None, None),
    };
    serde_json::json!({
        "file": file.display_path(),
        "severity": diag.severity,
        "message": diag.message,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "label": diag.label,
        "help": diag.help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_shown_around_the_span() {
        let text = format!(
            "run = \"{}{{{{ x }}}}{}\"\n",
            "a".repeat(5000),
            "b".repeat(5000)
        );
        let f = SourceFile::new("rb.toml", text.clone());
        let start = text.find("{{").unwrap();
        let out = render(&f, &Diagnostic::error("bad").at(start..start + 7), false);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[3].chars().count() < 200, "{out}");
        assert!(
            lines[3].contains("…aaa") && lines[3].contains("{{ x }}bbb"),
            "{out}"
        );
        let code = lines[3].find("…").unwrap();
        let caret = lines[4].find('^').unwrap();
        let braces = lines[3].find("{{").unwrap();
        assert_eq!(lines[4][caret..].trim_end(), "^^^^^^^", "{out}");
        // Carets sit under the template (both lines start with the same gutter).
        assert_eq!(
            lines[3][code..braces].chars().count(),
            lines[4][code..caret].chars().count(),
            "{out}"
        );
    }

    #[test]
    fn renders_caret_under_span() {
        let f = SourceFile::new(
            "rb.toml",
            "[[step]]\nid = \"a\"\nneeds = [\"migrte\"]\n".into(),
        );
        let start = f.text.find("\"migrte\"").unwrap();
        let d = Diagnostic::error("step `a` needs unknown step `migrte`")
            .at(start..start + 8)
            .label("no such step")
            .help("did you mean `migrate`?");
        let out = render(&f, &d, false);
        let expected = "error: step `a` needs unknown step `migrte`\n \
             --> rb.toml:3:10\n  |\n3 | needs = [\"migrte\"]\n  |          ^^^^^^^^ no such step\n  = help: did you mean `migrate`?\n";
        assert_eq!(out, expected);
    }
}
