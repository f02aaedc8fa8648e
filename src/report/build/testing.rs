//! Building a report from events in a test, record by record, as the fold
//! gets them from a journal.

use crate::event::Verdict;
use crate::event::{Event, Header, Phase, Record, Stream};
use crate::journal::{Folded, LiteMeasurement, RunState};
use crate::report::Report;

/// A journal being written in a test.
pub(crate) struct TestJournal {
    folded: Folded,
    journal: String,
    seq: u64,
}

impl TestJournal {
    pub(crate) fn new(journal: &str, run_id: &str) -> Self {
        TestJournal {
            folded: Folded {
                header: Header::new(run_id, "2026-01-01T00:00:00.000Z"),
                state: RunState::default(),
                truncated_at: None,
                warnings: Vec::new(),
            },
            journal: journal.to_string(),
            seq: 0,
        }
    }

    /// A record at `ts` by `who` (`user@host`, or `user@host (as name)`).
    pub(crate) fn push(&mut self, ts: &str, who: &str, event: Event) {
        self.seq += 1;
        let (actor, on_behalf) = match who.rsplit_once(" (as ") {
            Some((actor, name)) => (
                actor.to_string(),
                Some(name.trim_end_matches(')').to_string()),
            ),
            None => (who.to_string(), None),
        };
        let run_id = self.folded.header.run_id.clone();
        self.folded.state.apply(&Record {
            seq: self.seq,
            ts: ts.to_string(),
            run_id,
            actor,
            on_behalf,
            event,
        });
    }

    pub(crate) fn output(&mut self, ts: &str, step: &str, stream: Stream, line: &str) {
        self.seq += 1;
        let run_id = self.folded.header.run_id.clone();
        self.folded
            .state
            .apply_output(self.seq, ts, &run_id, step, stream, Phase::Step, line);
    }

    /// A measurement of gate `step.gate`, or of trigger `trigger` when `gate` is `None`.
    pub(crate) fn measurement(
        &mut self,
        at: &str,
        check: (&str, Option<&str>),
        value: Option<f64>,
        verdict: Verdict,
    ) {
        self.seq += 1;
        let run_id = self.folded.header.run_id.clone();
        let (step, gate, trigger) = match check {
            (step, Some(gate)) => (Some(step), Some(gate), None),
            (trigger, None) => (None, None, Some(trigger)),
        };
        let m = LiteMeasurement {
            step,
            gate,
            trigger,
            at,
            value,
            baseline: None,
            verdict,
            condition: None,
            detail: None,
        };
        self.folded
            .state
            .apply_measurement(self.seq, at, &run_id, &m);
    }

    pub(crate) fn finish(self) -> Report {
        super::report(self.folded, &self.journal)
    }

    /// The report, as if the journal had `bad_lines` that did not parse.
    pub(crate) fn finish_with(mut self, bad_lines: Vec<String>) -> Report {
        self.folded.warnings = bad_lines;
        self.finish()
    }
}
