//! Colour with meaning, when `--color` (or `auto`: a terminal, no
//! `NO_COLOR`) says so: failed, fired and rollback red; waiting yellow;
//! done green; shadow and cancelled dim. Words keep their meaning without
//! colour: colour only underlines what the text already says.

use std::sync::OnceLock;

use regex::Regex;

pub use crate::text::color::{Tone, tint};

/// The words of a status line that carry a meaning, coloured.
fn words() -> &'static [(Regex, Tone)] {
    static WORDS: OnceLock<Vec<(Regex, Tone)>> = OnceLock::new();
    WORDS.get_or_init(|| {
        [
            (
                r"\b(FAILED|FIRED|BREACHING|REJECTED|STOPPED|ABORTED|ROLLED BACK|ROLLING BACK|ROLLBACK|rollback FAILED|rolling back|rolled back|rollback|failed|stopped)\b",
                Tone::Bad,
            ),
            (
                r"\b(INTERRUPTED|PAUSED|PENDING|awaiting approval|awaiting operator|waiting for|before-gates|after-gates|running|RUNNING)\b",
                Tone::Waiting,
            ),
            (
                r"\b(COMPLETED|done|ok|approved)\b",
                Tone::Good,
            ),
            (r"(\(shadow\)|\bcancelled\b|\bpending\b)", Tone::Quiet),
        ]
        .into_iter()
        .filter_map(|(re, tone)| Regex::new(re).ok().map(|re| (re, tone)))
        .collect()
    })
}

/// A line of `status` with its meaningful words coloured, when stdout is
/// to be coloured.
pub fn paint_status_line(line: &str) -> String {
    paint_words(line, crate::text::color::stdout())
}

/// `line` with its meaningful words coloured (unchanged when `on` is false).
pub fn paint_words(line: &str, on: bool) -> String {
    if !on {
        return line.to_string();
    }
    // The first rule that matches a stretch wins; later rules skip it.
    let mut marks: Vec<(usize, usize, Tone)> = Vec::new();
    for (re, tone) in words() {
        for m in re.find_iter(line) {
            if marks
                .iter()
                .all(|(s, e, _)| m.end() <= *s || m.start() >= *e)
            {
                marks.push((m.start(), m.end(), *tone));
            }
        }
    }
    marks.sort_unstable_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(line.len() + marks.len() * 9);
    let mut at = 0;
    for (start, end, tone) in marks {
        out.push_str(&line[at..start]);
        out.push_str(&tint(&line[start..end], tone, true));
        at = end;
    }
    out.push_str(&line[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meaningful_words_are_coloured_only_when_asked() {
        let line = "  migrate  failed  1.0s  rollback FAILED";
        assert_eq!(paint_words(line, false), line);
        let painted = paint_words(line, true);
        assert!(painted.contains("\x1b[1;31mfailed\x1b[0m"), "{painted:?}");
        assert!(
            painted.contains("\x1b[1;31mrollback FAILED\x1b[0m"),
            "{painted:?}"
        );
        let done = paint_words("  prep  done  0.1s", true);
        assert!(done.contains("\x1b[32mdone\x1b[0m"), "{done:?}");
        assert_eq!(
            console::strip_ansi_codes(&paint_words("gate (shadow) ok", true)),
            "gate (shadow) ok"
        );
        // A step named like a word keeps its name plain.
        assert!(!paint_words("  done-check  running", true).contains("m\x1b[32mdone"));
    }
}
