//! Escaping every string that came from the journal before it goes into HTML
//! (text and attribute values alike): step ids, output, notes, queries.

use std::fmt::Write as _;

/// `&`, `<`, `>`, `"` and `'` as entities; control characters other than
/// tab and newline dropped (they are not valid in HTML text).
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_html(&mut out, text);
    out
}

/// Append `text`, escaped, to `out`.
pub fn push_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\u{FFFD}");
            }
            c => out.push(c),
        }
    }
}

/// Markdown: journal text inside a table cell or a line. Pipes would split a
/// cell and newlines end a row; backslash-escape the characters Markdown
/// gives meaning to, and `<` so a renderer that allows HTML shows text.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_becomes_text() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(html("a\u{1b}[31mb\tc\n"), "a\u{FFFD}[31mb\tc\n");
    }

    #[test]
    fn markdown_cells_stay_cells() {
        assert_eq!(markdown("a|b\n<i>_x_"), r"a\|b &lt;i&gt;\_x\_");
    }
}
