//! A small terminal emulator for the live-view tests: what a person would
//! see of what cutover wrote to a terminal. Enough of a VT100 for it:
//! printable text with auto-wrap (xterm's "pending wrap" at the last
//! column), CR, LF, cursor up (CUU), home, erase in display (ED) and in
//! line (EL), save/restore cursor (DECSC/DECRC); colours (SGR) are
//! ignored. A resize reflows soft-wrapped lines, as VTE (GNOME Terminal,
//! Tilix), kitty, iTerm2 and Windows Terminal do.

/// One row: its characters, and whether its text goes on in the next row
/// (written past the last column, not ended by a line feed).
#[derive(Debug, Clone, Default)]
struct Row {
    cells: Vec<char>,
    wrapped: bool,
}

pub struct Screen {
    cols: usize,
    rows: usize,
    lines: Vec<Row>,
    /// The first row on screen (rows above it scrolled off).
    top: usize,
    row: usize,
    col: usize,
    pending_wrap: bool,
    saved: (usize, usize),
}

impl Screen {
    pub fn new(cols: usize, rows: usize) -> Screen {
        Screen {
            cols,
            rows,
            lines: vec![Row::default()],
            top: 0,
            row: 0,
            col: 0,
            pending_wrap: false,
            saved: (0, 0),
        }
    }

    /// What is on screen, top to bottom, each row without trailing blanks.
    pub fn visible(&self) -> Vec<String> {
        (self.top..self.top + self.rows)
            .map(|i| {
                self.lines
                    .get(i)
                    .map(|r| r.cells.iter().collect::<String>().trim_end().to_string())
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn feed(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => match chars.next() {
                    Some('[') => {
                        let mut params = String::new();
                        for p in chars.by_ref() {
                            if p.is_ascii_alphabetic() || p == '@' || p == '~' {
                                self.csi(&params, p);
                                break;
                            }
                            params.push(p);
                        }
                    }
                    Some('7') => self.saved = (self.row, self.col),
                    Some('8') => {
                        (self.row, self.col) = self.saved;
                        self.pending_wrap = false;
                    }
                    _ => {}
                },
                '\r' => {
                    self.col = 0;
                    self.pending_wrap = false;
                }
                '\n' => self.line_feed(),
                c if c < ' ' => {}
                c => self.put(c),
            }
        }
    }

    fn line_feed(&mut self) {
        self.pending_wrap = false;
        self.row += 1;
        if self.row >= self.lines.len() {
            self.lines.push(Row::default());
        }
        if self.row >= self.top + self.rows {
            self.top = self.row + 1 - self.rows;
        }
    }

    fn put(&mut self, c: char) {
        if self.pending_wrap {
            self.lines[self.row].wrapped = true;
            self.line_feed();
            self.col = 0;
        }
        let cells = &mut self.lines[self.row].cells;
        if cells.len() <= self.col {
            cells.resize(self.col + 1, ' ');
        }
        cells[self.col] = c;
        if self.col + 1 >= self.cols {
            self.pending_wrap = true;
        } else {
            self.col += 1;
        }
    }

    fn csi(&mut self, params: &str, op: char) {
        let n = params
            .split(';')
            .next()
            .and_then(|p| p.parse::<usize>().ok());
        match op {
            'A' => {
                self.row = self.row.saturating_sub(n.unwrap_or(1).max(1)).max(self.top);
                self.pending_wrap = false;
            }
            'H' => {
                (self.row, self.col) = (self.top, 0);
                self.pending_wrap = false;
            }
            'J' => {
                let from = if n == Some(2) {
                    self.top
                } else {
                    let row = &mut self.lines[self.row];
                    row.cells.truncate(self.col);
                    row.wrapped = false;
                    self.row + 1
                };
                for r in self.lines.iter_mut().skip(from) {
                    *r = Row::default();
                }
            }
            'K' => {
                let row = &mut self.lines[self.row];
                row.cells.truncate(self.col);
                row.wrapped = false;
            }
            _ => {}
        }
    }

    /// The terminal is now `cols` by `rows`: soft-wrapped lines are joined
    /// and wrapped again at the new width; the cursor keeps its place in
    /// the text; the screen's bottom stays at the cursor's row or below.
    pub fn resize(&mut self, cols: usize, rows: usize) {
        // Logical lines, and where the cursor is in them.
        let mut logical: Vec<Vec<char>> = Vec::new();
        let mut cursor = (0, 0);
        let mut open = false;
        for (i, row) in self.lines.iter().enumerate() {
            if !open {
                logical.push(Vec::new());
            }
            let index = logical.len() - 1;
            let line = &mut logical[index];
            if i == self.row {
                cursor = (index, line.len() + self.col);
            }
            line.extend(&row.cells);
            open = row.wrapped;
        }
        // Blank lines below the cursor go.
        logical.truncate(cursor.0 + 1);
        let mut lines = Vec::new();
        let mut at = (0, 0);
        for (i, text) in logical.iter().enumerate() {
            let chunks: Vec<&[char]> = if text.is_empty() {
                vec![&[][..]]
            } else {
                text.chunks(cols).collect()
            };
            if i == cursor.0 {
                let k = (cursor.1 / cols).min(chunks.len());
                at = (lines.len() + k, cursor.1 - k * cols);
            }
            let last = chunks.len() - 1;
            for (k, chunk) in chunks.into_iter().enumerate() {
                lines.push(Row {
                    cells: chunk.to_vec(),
                    wrapped: k < last,
                });
            }
        }
        while lines.len() <= at.0 {
            lines.push(Row::default());
        }
        self.lines = lines;
        (self.row, self.col) = at;
        self.cols = cols;
        self.rows = rows;
        self.top = (self.row + 1).saturating_sub(rows);
        self.pending_wrap = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_clears_and_reflows() {
        let mut s = Screen::new(10, 4);
        s.feed("0123456789abc\r\nxy\r\nkeep\r\n");
        assert_eq!(s.visible(), ["abc", "xy", "keep", ""]);
        s.feed("\x1b[2A\x1b[Jzz\r\n");
        assert_eq!(s.visible(), ["abc", "zz", "", ""]);
        s.resize(5, 6);
        assert_eq!(s.visible(), ["01234", "56789", "abc", "zz", "", ""]);
        s.feed("\x1b7\x1b[1A\rQQ\x1b[K\n\x1b8!");
        assert_eq!(s.visible()[3..5], ["QQ", "!"]);
    }
}
