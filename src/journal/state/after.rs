//! After the last step, in the fold: hypercare (started, handed to a
//! background process and taken over by it, ended), every outcome measurement (`cutover
//! verify`), the follow-up action items (`cutover action`), and when each
//! planned outcome is due.

use super::{RunState, Stamped};
use crate::event::{
    ActionAdded, ActionClosed, Event, HypercareEnd, HypercareStarted, Outcome, OutcomeMeasured,
    OutcomeResult, Record,
};
use crate::journal::snapshot::DueAt;
use crate::journal::time::Ts;
use crate::journal::who::Who;

/// What the fold knows of the time after the last step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AfterLaunch {
    pub hypercare: Option<HypercareRecord>,
    /// Every outcome measurement, in journal order.
    pub measured: Vec<OutcomeEntry>,
    /// Action items, by id order.
    pub actions: Vec<ActionEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HypercareRecord {
    pub started_at: Ts,
    pub duration_ms: u64,
    /// When it ends unless something ends it first.
    pub until: Ts,
    pub triggers: Vec<String>,
    /// Handed to a background process (`--detach-hypercare`), the last time.
    pub detached: Option<Detached>,
    pub ended: Option<HypercareEndEntry>,
}

/// The hypercare watch handed to a background process (`hypercare_detached`).
#[derive(Debug, Clone, PartialEq)]
pub struct Detached {
    pub at: Ts,
    /// Where the background process writes what it shows.
    pub log: String,
    /// Absent in journals written before it was journaled.
    pub pid: Option<u32>,
    /// The background process journaled its `run_resumed`: it drives the run.
    pub taken_over: bool,
    /// Another process resumed the run since (the background one was gone):
    /// the watch is no longer in the background.
    pub superseded: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HypercareEndEntry {
    pub seq: u64,
    pub at: Ts,
    pub reason: HypercareEnd,
    pub who: Who,
    pub why: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeEntry {
    pub seq: u64,
    pub at: Stamped,
    pub who: Who,
    pub measured: OutcomeMeasured,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionEntry {
    pub id: u32,
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    pub text: String,
    pub owner: String,
    /// As given (`2026-12-01`).
    pub due: Option<String>,
    /// The last moment it counts as closed on time (the end of its due day, UTC).
    pub due_by: Option<Ts>,
    /// The suggested follow-up it adopts (`S17`).
    pub suggestion: Option<String>,
    pub closed: Option<ActionClose>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionClose {
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    pub note: Option<String>,
}

impl ActionEntry {
    /// Closed, and not after its due date (`None`: it has no due date).
    pub fn closed_on_time(&self) -> Option<bool> {
        let due = self.due_by?;
        Some(self.closed.as_ref().is_some_and(|c| c.at <= due))
    }
}

/// When an outcome is due, for a run as journaled so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The last step is not done yet: no due time.
    NotYet,
    /// The change did not stay: the run rolled back (or was a dry run). Its
    /// outcomes are not measured unless asked to (`verify --now`).
    Void,
    /// Due at this time (which may have passed).
    At(Ts),
    /// `at = "end"` while hypercare goes on: at its `until`, unless ended early.
    AtHypercareEnd(Ts),
}

impl Due {
    /// Due at or before `now`.
    pub fn passed(self, now: Ts) -> bool {
        matches!(self, Due::At(t) if t <= now)
    }

    /// The time it is (or is expected to be) due.
    pub fn time(self) -> Option<Ts> {
        match self {
            Due::At(t) | Due::AtHypercareEnd(t) => Some(t),
            Due::NotYet | Due::Void => None,
        }
    }
}

/// The last moment an action item due on `due` counts as closed on time: a
/// date (`2026-12-01`) is the end of that day, UTC; a time is itself.
pub fn due_by(due: &str) -> Option<Ts> {
    let due = due.trim();
    if due.len() == 10 && due.as_bytes().get(4) == Some(&b'-') {
        return Ts::parse(&format!("{due}T23:59:59.999Z"));
    }
    Ts::parse(due)
}

impl RunState {
    pub(super) fn apply_after(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::HypercareStarted(h) => self.hypercare_started(h, at),
            Event::HypercareDetached(d) => {
                if let Some(h) = &mut self.after.hypercare {
                    h.detached = Some(Detached {
                        at,
                        log: d.log.clone(),
                        pid: d.pid,
                        taken_over: false,
                        superseded: false,
                    });
                }
            }
            Event::HypercareEnded(e) => {
                if let Some(h) = &mut self.after.hypercare
                    && h.ended.is_none()
                {
                    h.ended = Some(HypercareEndEntry {
                        seq: r.seq,
                        at,
                        reason: e.reason,
                        who,
                        why: e.why.clone(),
                    });
                }
            }
            Event::OutcomeMeasured(m) => self.after.measured.push(OutcomeEntry {
                seq: r.seq,
                at: Self::stamped(r, at),
                who,
                measured: (**m).clone(),
            }),
            Event::ActionAdded(a) => self.action_added(r.seq, at, who, a),
            Event::ActionClosed(c) => self.action_closed(r.seq, at, who, c),
            _ => {}
        }
    }

    fn hypercare_started(&mut self, h: &HypercareStarted, at: Ts) {
        // A resume that finds it started goes on with the first one.
        if self.after.hypercare.is_some() {
            return;
        }
        let duration = i64::try_from(h.duration_ms).unwrap_or(i64::MAX);
        self.after.hypercare = Some(HypercareRecord {
            started_at: at,
            duration_ms: h.duration_ms,
            until: Ts::parse(&h.until).unwrap_or(Ts {
                ms: at.ms.saturating_add(duration),
            }),
            triggers: h.triggers.clone(),
            detached: None,
            ended: None,
        });
    }

    fn action_added(&mut self, seq: u64, at: Ts, who: Who, a: &ActionAdded) {
        if self.after.actions.iter().any(|x| x.id == a.id) {
            return;
        }
        self.after.actions.push(ActionEntry {
            id: a.id,
            seq,
            at,
            who,
            text: a.text.clone(),
            owner: a.owner.clone(),
            due: a.due.clone(),
            due_by: a.due.as_deref().and_then(due_by),
            suggestion: a.suggestion.clone(),
            closed: None,
        });
    }

    fn action_closed(&mut self, seq: u64, at: Ts, who: Who, c: &ActionClosed) {
        if let Some(a) = self.after.actions.iter_mut().find(|x| x.id == c.id)
            && a.closed.is_none()
        {
            a.closed = Some(ActionClose {
                seq,
                at,
                who,
                note: c.note.clone(),
            });
        }
    }

    /// A rehearsal (`run --rehearsal`), not a real change: every view asks
    /// here.
    pub fn is_rehearsal(&self) -> bool {
        self.schedule.rehearsal
    }

    /// Hypercare started and is not over: neither ended nor cut short by a
    /// rollback, and the run not ended for good. (A paused or crashed run in
    /// hypercare is still in it: `cutover resume` goes on watching.)
    pub fn in_hypercare(&self) -> bool {
        self.after
            .hypercare
            .as_ref()
            .is_some_and(|h| h.ended.is_none())
            && self.rollback.is_none()
            && !matches!(
                self.outcome(),
                Some(Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)
            )
    }

    /// A `run_resumed` by `pid` is the background process taking over the
    /// hypercare watch just handed to it (`--detach-hypercare`): a planned
    /// hand-over, not a resume after a stop.
    pub fn is_hypercare_takeover(&self, pid: u32) -> bool {
        self.after
            .hypercare
            .as_ref()
            .and_then(|h| h.detached.as_ref())
            .is_some_and(|d| !d.taken_over && !d.superseded && d.pid == Some(pid))
    }

    /// A `run_resumed` by `pid`: the background process took the watch
    /// over, or (any other process) the watch is no longer in the background.
    pub(super) fn hypercare_resumed_by(&mut self, pid: u32) {
        let takeover = self.is_hypercare_takeover(pid);
        if let Some(d) = self
            .after
            .hypercare
            .as_mut()
            .and_then(|h| h.detached.as_mut())
        {
            if takeover {
                d.taken_over = true;
            } else {
                d.superseded = true;
            }
        }
    }

    /// The background process `pid` took the hypercare watch over (its
    /// `run_resumed` folded in already).
    pub fn hypercare_taken_over_by(&self, pid: u32) -> bool {
        self.after
            .hypercare
            .as_ref()
            .and_then(|h| h.detached.as_ref())
            .is_some_and(|d| d.taken_over && d.pid == Some(pid))
    }

    /// The background process driving the hypercare watch, as the journal
    /// last said: handed to it and not resumed by another process since.
    pub fn hypercare_background(&self) -> Option<&Detached> {
        self.after
            .hypercare
            .as_ref()
            .filter(|_| self.in_hypercare())
            .and_then(|h| h.detached.as_ref())
            .filter(|d| !d.superseded)
    }

    /// When the last step was done: hypercare's start, else when the run
    /// completed. `None` before (or without) that.
    pub fn steps_done_at(&self) -> Option<Ts> {
        if let Some(h) = &self.after.hypercare {
            return Some(h.started_at);
        }
        (self.outcome() == Some(Outcome::Completed))
            .then(|| self.finished_at.as_ref().map(|f| f.ts))
            .flatten()
    }

    /// When an outcome planned `at` is due.
    pub fn outcome_due(&self, at: DueAt) -> Due {
        let dry = self.started.as_ref().is_some_and(|s| s.dry_run);
        if dry || self.rollback.is_some() {
            return Due::Void;
        }
        let Some(done) = self.steps_done_at() else {
            return Due::NotYet;
        };
        match at {
            DueAt::After(d) => Due::At(Ts {
                ms: done
                    .ms
                    .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            }),
            DueAt::End => match &self.after.hypercare {
                None => Due::At(done),
                Some(h) => match &h.ended {
                    Some(e) => Due::At(e.at),
                    None => Due::AtHypercareEnd(h.until),
                },
            },
        }
    }

    /// The last measurement of outcome `name` that met or missed its
    /// target (one that could not measure does not count as measured).
    pub fn outcome_verdict(&self, name: &str) -> Option<&OutcomeEntry> {
        self.after
            .measured
            .iter()
            .rev()
            .find(|m| m.measured.outcome == name && m.measured.result != OutcomeResult::Unmeasured)
    }

    /// The last measurement of outcome `name`, whatever it found.
    pub fn outcome_last(&self, name: &str) -> Option<&OutcomeEntry> {
        self.after
            .measured
            .iter()
            .rev()
            .find(|m| m.measured.outcome == name)
    }

    pub fn action(&self, id: u32) -> Option<&ActionEntry> {
        self.after.actions.iter().find(|a| a.id == id)
    }

    /// The id the next action item gets.
    pub fn next_action_id(&self) -> u32 {
        self.after.actions.iter().map(|a| a.id).max().unwrap_or(0) + 1
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, HypercareDetached, HypercareStarted, Record};
    use crate::journal::RunState;

    fn rec(seq: u64, ms: u64, event: Event) -> Record {
        Record {
            seq,
            ts: format!("2026-11-25T21:00:{:02}.{:03}Z", ms / 1000, ms % 1000),
            run_id: "r".into(),
            actor: "a".into(),
            on_behalf: None,
            event,
        }
    }

    /// A run in hypercare handed to pid 42, then `run_resumed` by each of `pids`.
    fn handed_over_then_resumed_by(pids: &[u32]) -> RunState {
        let mut records = vec![
            rec(
                1,
                0,
                Event::HypercareStarted(HypercareStarted {
                    duration_ms: 3_600_000,
                    until: "2026-11-25T22:00:00Z".into(),
                    triggers: vec!["errors".into()],
                }),
            ),
            rec(
                2,
                100,
                Event::HypercareDetached(HypercareDetached {
                    log: "/runs/r/journal.hypercare.log".into(),
                    pid: Some(42),
                }),
            ),
        ];
        for (i, pid) in pids.iter().enumerate() {
            let n = i as u64;
            records.push(rec(
                3 + n,
                5_000 + 5_000 * n,
                Event::RunResumed { pid: *pid },
            ));
        }
        RunState::replay(&records)
    }

    #[test]
    fn the_background_process_taking_over_is_a_hand_over_not_a_resume() {
        let s = handed_over_then_resumed_by(&[42]);
        let d = s.hypercare_background().expect("watched in the background");
        assert_eq!((d.pid, d.taken_over), (Some(42), true));
        assert!(s.hypercare_taken_over_by(42));
        assert!(s.deviations.iter().all(|d| d.kind != "resumed"));
        assert!(s.milestones.iter().all(|m| m.name != "resumed"));
        assert!(s.down.is_empty(), "driven throughout: {:?}", s.down);
        assert!(s.resumed_by.is_empty());
    }

    #[test]
    fn a_resume_by_another_process_takes_the_watch_out_of_the_background() {
        // The background process was killed; a person resumed the run.
        let s = handed_over_then_resumed_by(&[42, 7]);
        assert!(s.hypercare_background().is_none());
        assert!(!s.hypercare_taken_over_by(7));
        let resumed: Vec<u64> = s
            .deviations
            .iter()
            .filter(|d| d.kind == "resumed")
            .map(|d| d.seq)
            .collect();
        assert_eq!(resumed, [4], "the person's resume is one");
        assert_eq!(s.down.len(), 1);
        // Not taken over at all (the background process never came): the
        // driving process's own resume is an ordinary one.
        let s = handed_over_then_resumed_by(&[7]);
        assert!(s.hypercare_background().is_none());
        assert!(s.deviations.iter().any(|d| d.kind == "resumed"));
    }
}
