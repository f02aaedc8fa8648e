//! The view in a pane of a given size (`status --follow` on a terminal):
//! every line cut to the width, so nothing wraps and a redraw in place
//! covers exactly what it drew; the headline and what the run waits for
//! always on top. When the view is taller than the pane, finished steps
//! fold into one line, then what still does not fit is cut off with a
//! line that says how much.

use super::view::StatusView;

impl StatusView {
    /// At most `rows` lines, none wider than `cols` characters.
    pub fn fit(&self, rows: usize, cols: usize) -> Vec<String> {
        let rows = rows.max(2);
        let mut lines = self.lines(false);
        if lines.len() > rows {
            lines = self.lines(true);
        }
        if lines.len() > rows {
            let cut = lines.len() - (rows - 1);
            lines.truncate(rows - 1);
            lines.push(format!("... {cut} more line(s): a taller pane shows them"));
        }
        lines.into_iter().map(|l| cut_to(&l, cols)).collect()
    }
}

/// `line` cut to `cols` characters, its end marked `…` when cut.
pub(crate) fn cut_to(line: &str, cols: usize) -> String {
    if line.chars().count() <= cols {
        return line.to_string();
    }
    let mut out: String = line.chars().take(cols.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Record, StepState};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            ts: format!("2026-01-01T00:00:{seq:02}.000Z"),
            run_id: "r".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event,
        }
    }

    /// Twenty steps done, one waiting for its go/no-go.
    fn long_run() -> StatusView {
        let mut records: Vec<Record> = (0..20)
            .map(|i| {
                rec(
                    i + 1,
                    Event::StepState {
                        step: format!("step-{i:02}"),
                        state: StepState::Done,
                        detail: None,
                    },
                )
            })
            .collect();
        records.push(rec(
            21,
            Event::ApprovalRequested {
                step: "switch".into(),
                min: 1,
                approvers: vec![],
            },
        ));
        records.push(rec(
            22,
            Event::StepState {
                step: "switch".into(),
                state: StepState::AwaitingApproval,
                detail: None,
            },
        ));
        let state = crate::journal::RunState::replay(&records);
        let mut view = StatusView::from_state(&state, None);
        view.attend(&state, "r", true, None);
        view
    }

    #[test]
    fn a_short_pane_keeps_the_header_and_what_the_run_waits_for() {
        let view = long_run();
        assert!(view.lines(false).len() > 12);
        let fitted = view.fit(12, 40);
        assert!(fitted.len() <= 12, "{fitted:#?}");
        assert!(fitted[0].starts_with("run `r`: RUNNING"), "{fitted:#?}");
        assert!(fitted.iter().any(|l| l == "waiting for"), "{fitted:#?}");
        assert!(
            fitted
                .iter()
                .any(|l| l.starts_with("    cutover approve r switch")),
            "{fitted:#?}"
        );
        assert!(
            fitted
                .iter()
                .any(|l| l.starts_with("  20 step(s) done: step-00")),
            "{fitted:#?}"
        );
        assert!(
            fitted.iter().all(|l| l.chars().count() <= 40),
            "{fitted:#?}"
        );
        // Taller than even the folded view: cut, and said so.
        let tiny = view.fit(6, 80);
        assert_eq!(tiny.len(), 6, "{tiny:#?}");
        assert!(tiny[5].contains("more line(s)"), "{tiny:#?}");
        assert!(tiny[0].starts_with("run `r`"));
    }

    #[test]
    fn a_line_is_cut_at_the_width_and_marked() {
        assert_eq!(cut_to("abcdef", 4), "abc…");
        assert_eq!(cut_to("abcd", 4), "abcd");
    }
}
