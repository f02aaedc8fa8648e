//! The terminal as a drawing surface: its size now (it may change under
//! us: a resized pane), asked of the stream being drawn on.

/// Columns and rows of the terminal on stderr; `None` when it is not one.
pub fn stderr_size() -> Option<(usize, usize)> {
    size(&console::Term::stderr())
}

/// Columns and rows of the terminal on stdout; `None` when it is not one.
pub fn stdout_size() -> Option<(usize, usize)> {
    size(&console::Term::stdout())
}

fn size(term: &console::Term) -> Option<(usize, usize)> {
    // A pseudo-terminal nobody sized says 0x0: no size.
    term.size_checked()
        .filter(|(rows, cols)| *rows > 0 && *cols > 0)
        .map(|(rows, cols)| (usize::from(cols), usize::from(rows)))
}

/// How many columns `text` takes on a terminal (escape sequences take none).
pub fn width(text: &str) -> usize {
    console::measure_text_width(text)
}
