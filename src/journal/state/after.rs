//! After the last step, in the fold: hypercare (started, handed to a
//! background process, ended), every outcome measurement (`cutover
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
    /// Handed to a background process (`--detach-hypercare`): when, and its log.
    pub detached: Option<(Ts, String)>,
    pub ended: Option<HypercareEndEntry>,
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
                    h.detached = Some((at, d.log.clone()));
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
