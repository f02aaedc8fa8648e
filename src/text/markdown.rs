//! Escaping text from outside cutover (journal text: step ids, notes,
//! output, details) for Markdown, so that it shows as text in any renderer:
//! in a table cell, in a paragraph, or as a code span. The report and
//! readiness's Markdown summary both write through here.

/// Markdown: journal text inside a table cell. Pipes would split a cell and
/// newlines end a row. Text between backticks (`` `step-id` `` in the
/// report's own sentences, or in an operator's note) becomes a code span, in
/// which only `|` is escaped: CommonMark decodes no entity and no backslash
/// escape inside one. Everywhere else the characters Markdown gives meaning to
/// are backslash-escaped and `<`, `>`, `&` written as entities, so a renderer
/// that allows HTML shows text, never markup.
pub fn cell(text: &str) -> String {
    inline(text, true)
}

/// Markdown: journal text in a paragraph or a list item (not a table cell).
pub fn line(text: &str) -> String {
    inline(text, false)
}

/// `text` as one Markdown code span inside a table cell.
pub fn code_cell(text: &str) -> String {
    code_span(text, true)
}

/// `text` as one Markdown code span outside a table.
pub fn code(text: &str) -> String {
    code_span(text, false)
}

fn inline(text: &str, in_table: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            push_prose(&mut out, chars[i]);
            i += 1;
            continue;
        }
        let n = run_len(&chars, i);
        // CommonMark: a run of n backticks opens a code span closed by the next run of exactly n.
        let mut k = i + n;
        let mut close = None;
        while k < chars.len() {
            if chars[k] == '`' {
                let m = run_len(&chars, k);
                if m == n {
                    close = Some(k);
                    break;
                }
                k += m;
            } else {
                k += 1;
            }
        }
        if let Some(k) = close {
            let inner: String = chars[i + n..k].iter().collect();
            out.push_str(&code_span(&inner, in_table));
            i = k + n;
        } else {
            for _ in 0..n {
                out.push_str("\\`");
            }
            i += n;
        }
    }
    out
}

fn run_len(chars: &[char], from: usize) -> usize {
    chars[from..].iter().take_while(|c| **c == '`').count()
}

fn push_prose(out: &mut String, c: char) {
    match c {
        '|' | '\\' | '*' | '_' | '[' | ']' | '#' => {
            out.push('\\');
            out.push(c);
        }
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '\n' | '\r' => out.push(' '),
        // Shown visibly, its backslash escaped like any other.
        c if c.is_control() => {
            for shown in super::escape_char(c).chars() {
                push_prose(out, shown);
            }
        }
        c => out.push(c),
    }
}

/// A code span: a fence one backtick longer than any run inside, padded with
/// a space where the text starts or ends with a backtick (or with a space at
/// both ends, which CommonMark would strip). No entities, no backslashes:
/// only `|` is escaped in a table cell, which GFM unescapes before the span.
fn code_span(text: &str, in_table: bool) -> String {
    let mut body = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => body.push(' '),
            '|' if in_table => body.push_str("\\|"),
            c if c.is_control() => body.push_str(&super::escape_char(c)),
            c => body.push(c),
        }
    }
    if body.is_empty() {
        return "` `".into();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = body.starts_with('`')
        || body.ends_with('`')
        || (body.starts_with(' ') && body.ends_with(' ') && body.trim() != "");
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_visibly() {
        // In prose the backslash is escaped so that a renderer shows it.
        assert_eq!(cell("a\u{1b}[2Jb"), r"a\\x1b\[2Jb");
        assert_eq!(code_cell("a\u{1b}[2Jb"), r"`a\x1b[2Jb`");
        assert_eq!(cell("`a\u{1b}b`"), r"`a\x1bb`");
    }

    #[test]
    fn markdown_cells_stay_cells() {
        assert_eq!(cell("a|b\n<i>_x_"), r"a\|b &lt;i&gt;\_x\_");
    }

    #[test]
    fn code_spans_are_not_entity_or_backslash_escaped() {
        let cmd = "cp a b && echo 0 > x/error_rate";
        // As a span of its own, and inside the report's own sentence.
        assert_eq!(code_cell(cmd), "`cp a b && echo 0 > x/error_rate`");
        assert_eq!(code(cmd), "`cp a b && echo 0 > x/error_rate`");
        assert_eq!(
            cell(&format!("step `{cmd}` failed: a_b > c")),
            r"step `cp a b && echo 0 > x/error_rate` failed: a\_b &gt; c"
        );
        assert_eq!(
            line(&format!("`{cmd}`")),
            "`cp a b && echo 0 > x/error_rate`"
        );
    }

    #[test]
    fn code_spans_with_backticks_and_pipes() {
        // A pipe is escaped in a table cell only; the fence outgrows the backtick runs.
        assert_eq!(code_cell("grep a|b `x`"), r"`` grep a\|b `x` ``");
        assert_eq!(code("grep a|b `x`"), "`` grep a|b `x` ``");
        assert_eq!(code_cell("a``b"), "```a``b```");
        assert_eq!(code_cell("`x"), "`` `x ``");
        assert_eq!(code_cell(" a "), "`  a  `");
        assert_eq!(code_cell(""), "` `");
        assert_eq!(code_cell("a\nb"), "`a b`");
        // An unmatched backtick in prose is escaped, not a span opener.
        assert_eq!(cell("it`s <b>"), r"it\`s &lt;b&gt;");
        // Markup inside a span is shown as code by every renderer; outside it is escaped.
        assert_eq!(cell("`<script>` <script>"), "`<script>` &lt;script&gt;");
    }
}
