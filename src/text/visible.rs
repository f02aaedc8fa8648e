//! Text from outside cutover (step output, notes, names, run ids, runbook
//! strings) made safe to show a person: control characters are rendered
//! visibly (`\x1b`, `\r`, `\u{9b}`), so an escape sequence in a step's output
//! cannot retitle, clear or rewrite the operator's terminal or a report.
//! Machine outputs (the journal, `--format json`) keep the bytes.

use std::borrow::Cow;

/// `text` with every control character other than newline and tab rendered
/// visibly: for text that may span lines (a whole status view, a message).
pub fn visible(text: &str) -> Cow<'_, str> {
    render(text, |c| c == '\n' || c == '\t')
}

/// `text` as one line: newlines are rendered (`\n`) too, so a note or an
/// output line can never pass for a line cutover printed. Tabs are kept.
pub fn one_line(text: &str) -> Cow<'_, str> {
    render(text, |c| c == '\t')
}

/// How one control character is shown: `\n`, `\r`, `\x1b`, `\x7f`, `\u{9b}`.
pub fn escape_char(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        c if u32::from(c) < 0x80 => format!("\\x{:02x}", u32::from(c)),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// How many columns `c` takes once shown: a control character as its
/// escape, anything else as one (for carets under a source line).
pub fn shown_width(c: char) -> usize {
    if c.is_control() && c != '\t' {
        escape_char(c).len()
    } else {
        1
    }
}

fn render(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && !keep(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(
            visible("a\u{1b}]0;TITLE\u{7}\u{1b}[2Jb"),
            r"a\x1b]0;TITLE\x07\x1b[2Jb"
        );
        assert_eq!(visible("x\ry\u{7f}\u{9b}z"), r"x\ry\x7f\u{9b}z");
        assert_eq!(visible("\0"), r"\x00");
    }

    #[test]
    fn newlines_and_tabs_depend_on_the_context() {
        assert_eq!(visible("a\nb\tc"), "a\nb\tc");
        assert_eq!(one_line("a\nb\tc"), "a\\nb\tc");
        assert_eq!(one_line("a\r\nb"), r"a\r\nb");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(visible("plain ünïcode — text"), Cow::Borrowed(_)));
        assert!(matches!(one_line("deploy `api`"), Cow::Borrowed(_)));
    }

    #[test]
    fn widths_match_the_rendering() {
        assert_eq!(shown_width('a'), 1);
        assert_eq!(shown_width('\u{1b}'), 4);
        assert_eq!(shown_width('\u{9b}'), 6);
        assert_eq!(shown_width('\t'), 1);
    }
}
