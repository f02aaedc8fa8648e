//! The plain line reporter (CI logs, `--no-progress`), an `EventSink`.

use std::io::Write;

use crate::engine::EventSink;
use crate::event::Record;
use crate::journal::{Eta, Ts};

/// One line per record: `HH:MM:SS.mmm text`; while the run waits for its
/// start, a line at each mark of the countdown; while steps run, the
/// schedule's line when the steps in flight change (at most every five
/// minutes otherwise).
pub struct PlainReporter<W: Write + Send> {
    out: W,
    /// The countdown mark last shown.
    countdown: Option<u64>,
    /// The steps in flight when the schedule was last shown, and when.
    shown: Option<(Vec<String>, Ts)>,
}

impl<W: Write + Send> PlainReporter<W> {
    pub fn new(out: W) -> Self {
        PlainReporter {
            out,
            countdown: None,
            shown: None,
        }
    }
}

/// The countdown's marks: a waiting run says how long is left when it
/// first gets within each of them.
const MARKS: [u64; 16] = [
    5_000,
    10_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    u64::MAX,
];

/// The mark a countdown with `left_ms` to go is within.
pub(crate) fn mark(left_ms: u64) -> u64 {
    MARKS
        .into_iter()
        .find(|m| *m >= left_ms)
        .unwrap_or(u64::MAX)
}

/// How often the schedule's line repeats when nothing else changed.
const SCHEDULE_EVERY_MS: u64 = 300_000;

impl<W: Write + Send> EventSink for PlainReporter<W> {
    fn record(&mut self, record: &Record) {
        if let Some(text) = crate::describe::live(record) {
            let time = record.ts.get(11..23).unwrap_or(&record.ts);
            let _ = writeln!(self.out, "{time} {text}");
        }
    }

    fn notice(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}", crate::text::visible(text));
    }

    fn waiting(&mut self, at: Ts, left_ms: u64) {
        let m = mark(left_ms);
        if self.countdown == Some(m) {
            return;
        }
        self.countdown = Some(m);
        let now = Ts {
            ms: at.ms - i64::try_from(left_ms).unwrap_or(0),
        };
        let _ = writeln!(
            self.out,
            "{} starts in {} (at {})",
            now.clock(),
            crate::text::duration::short(left_ms),
            crate::describe::schedule::time(at)
        );
    }

    fn schedule(&mut self, eta: &Eta) {
        let flight: Vec<String> = eta.steps.iter().map(|s| s.step.clone()).collect();
        let due = match &self.shown {
            None => true,
            Some((steps, at)) => *steps != flight || eta.now.since(*at) >= SCHEDULE_EVERY_MS,
        };
        if !due {
            return;
        }
        self.shown = Some((flight, eta.now));
        let steps: Vec<String> = eta
            .steps
            .iter()
            .map(|s| {
                format!(
                    "`{}` {}",
                    s.step,
                    crate::describe::schedule::step_against_plan(s.elapsed_ms, s.planned_ms)
                )
            })
            .collect();
        let _ = writeln!(
            self.out,
            "{} schedule: {}{}",
            eta.now.clock(),
            crate::describe::schedule::eta(eta),
            if steps.is_empty() {
                String::new()
            } else {
                format!("; {}", steps.join(", "))
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_speaks_at_each_mark_once() {
        let mut r = PlainReporter::new(Vec::new());
        let at = Ts { ms: 10_000_000 };
        for left in [125_000, 124_000, 119_000, 61_000, 59_000, 4_000, 3_000] {
            r.waiting(at, left);
        }
        let out = String::from_utf8(r.out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].ends_with("starts in 2m05s (at 1970-01-01T02:46:40Z)"),
            "{out}"
        );
        assert!(lines[1].contains("starts in 1m59s"), "{out}");
        assert!(lines[2].contains("starts in 59.0s"), "{out}");
        assert!(lines[3].contains("starts in 4.0s"), "{out}");
        assert_eq!(mark(u64::MAX), u64::MAX);
    }
}
