//! Escaping every string that came from the journal before it goes into HTML
//! (text and attribute values alike): step ids, output, notes, queries.
//! Markdown's escaping is `text::markdown`.

/// `&`, `<`, `>`, `"` and `'` as entities; control characters other than
/// tab and newline shown visibly (`\x1b`): they are not valid in HTML text,
/// and the reader should see that they were there.
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
            c if c.is_control() => out.push_str(&crate::text::escape_char(c)),
            c => out.push(c),
        }
    }
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
    fn control_characters_are_shown_visibly() {
        assert_eq!(html("a\u{1b}[31mb\tc\n\u{7}"), "a\\x1b[31mb\tc\n\\x07");
    }
}
