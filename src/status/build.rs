//! The war-room view of a folded run: durations measured to the run's end
//! (or to now while it goes on), the last notes, and a row per step, gate,
//! trigger and go/no-go in the order they first appeared.

use std::time::SystemTime;

use super::view::{
    ApprovalView, DecidedView, GateView, MilestoneView, NoteView, RollbackState, StatusView,
    StepRollbackView, StepView, TriggerView, Vote,
};
use crate::event::{Outcome, Record, StepState};
use crate::journal::{CheckKind, MilestoneOrigin, RunState, StepRecord, Ts, Who};

/// How many of the last notes the view keeps.
const LAST_NOTES: usize = 5;

/// Milliseconds from `from` to `to`; `None` if `to` is earlier.
fn between(from: Ts, to: Ts) -> Option<u64> {
    u64::try_from(to.ms - from.ms).ok()
}

impl StatusView {
    /// The view of a whole journal's `records`. `now` ends the durations of
    /// steps still going; `None` ends them at the last record.
    pub fn build(records: &[Record], now: Option<SystemTime>) -> StatusView {
        StatusView::from_state(&RunState::replay(records), now)
    }

    /// The view of a folded run. `now` ends the durations of steps still
    /// going; `None` ends them at the last record.
    pub fn from_state(state: &RunState, now: Option<SystemTime>) -> StatusView {
        let started = state.started.as_ref();
        let now_ts = now.map(Ts::from_system).or(state.last_at().map(|l| l.ts));
        let finished = state.finished.as_ref();
        // From `run_started` to the last `run_finished` (or to now / the
        // last record while it goes on): notes, marks and votes appended
        // after the end do not make the run longer.
        let start = state.started_at.as_ref().or(state.first_at.as_ref());
        let end = if finished.is_some() {
            state.finished_at.as_ref().map(|f| f.ts)
        } else {
            now_ts
        };
        let duration_ms = start.zip(end).and_then(|(s, e)| between(s.ts, e));
        // How long it has been paused: from its `run_finished` to now.
        let paused_for_ms = match (finished.map(|f| f.outcome), end, now) {
            (Some(Outcome::Paused), Some(e), Some(_)) => now_ts.and_then(|n| between(e, n)),
            _ => None,
        };
        let skip = state.notes.len().saturating_sub(LAST_NOTES);
        let mut view = StatusView {
            format_version: super::view::STATUS_FORMAT_VERSION,
            run_id: state.run_id.clone(),
            runbook: started.map(|s| s.runbook_name.clone()),
            env: started.and_then(|s| s.env.clone()),
            dry_run: started.is_some_and(|s| s.dry_run),
            started_at: start.map(|s| s.raw.clone()),
            started_by: state.started_by.as_ref().map(Who::label),
            state: finished.map_or_else(|| "running".into(), |f| f.outcome.label().to_string()),
            driven: None,
            outcome: finished.map(|f| f.outcome),
            message: finished.map(|f| f.message.clone()),
            duration_ms,
            paused_for_ms,
            last_seq: state.last_seq,
            updated_at: state.last_at().map(|l| l.raw),
            steps: state
                .steps
                .iter()
                .map(|(id, rec)| step_view(state, id, rec, now_ts))
                .collect(),
            gates: gate_views(state),
            triggers: trigger_views(state),
            approvals: state
                .steps
                .iter()
                .filter_map(|(id, rec)| approval_view(id, rec, still_waits(state)))
                .collect(),
            notes: state.notes[skip..]
                .iter()
                .map(|n| NoteView {
                    at: n.at.raw.clone(),
                    who: n.who.label(),
                    text: n.text.clone(),
                })
                .collect(),
            milestones: state
                .milestones
                .iter()
                .filter(|m| m.origin != MilestoneOrigin::Derived)
                .map(|m| MilestoneView {
                    name: m.name.clone(),
                    at: m.at.raw.clone(),
                    who: m.who.label(),
                })
                .collect(),
            paused_hint: finished.and(state.pause_hint.clone()),
            waiting_for: Vec::new(),
            schedule: None,
            hypercare: super::after::hypercare_view(state, now.map(Ts::from_system)),
            outcomes: super::after::outcome_views(state),
        };
        view.add_schedule(state, now_ts);
        view
    }

    /// The schedule's part of the view: `scheduled` while the run waits for
    /// its start, the ETA while it runs.
    fn add_schedule(&mut self, state: &RunState, now: Option<Ts>) {
        let now = now.or(state.last_at().map(|l| l.ts)).unwrap_or_default();
        self.schedule = super::schedule::view(state, now);
        if self.schedule.as_ref().is_some_and(|s| s.waiting) {
            "scheduled".clone_into(&mut self.state);
        }
        for s in &mut self.steps {
            s.planned_ms = state.planned_ms(&s.id);
        }
    }
}

/// The run still takes votes and `cutover done`: no rollback started, and
/// it did not end for good (a paused run takes them for its resume).
fn still_waits(state: &RunState) -> bool {
    state.rollback.is_none()
        && !matches!(
            state.outcome(),
            Some(
                Outcome::Completed
                    | Outcome::RolledBack
                    | Outcome::RollbackFailed
                    | Outcome::Aborted
            )
        )
}

/// A step's state as the room needs it: `done` as soon as a manual step
/// was marked done (the driver, if any, completes it within its poll; a
/// paused run on its resume), `cancelled` for a step a rollback left
/// unrun. With the detail that says why.
fn shown_state(state: &RunState, rec: &StepRecord) -> (StepState, Option<String>) {
    let waiting = matches!(
        rec.state,
        StepState::Pending | StepState::AwaitingApproval | StepState::AwaitingOperator
    );
    if rec.state == StepState::AwaitingOperator && rec.manual_done {
        let by = rec
            .manual_done_by
            .as_ref()
            .map(Who::label)
            .unwrap_or_default();
        let note = rec
            .manual_note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        return (StepState::Done, Some(format!("marked done by {by}{note}")));
    }
    if waiting && rec.rollback_run.is_none() && state.rollback.is_some() {
        return (
            StepState::Cancelled,
            Some("not run: the run rolled back".into()),
        );
    }
    (rec.state, rec.detail.clone())
}

fn step_view(state: &RunState, id: &str, rec: &StepRecord, now: Option<Ts>) -> StepView {
    let started_at = rec.first_state_at.as_ref();
    let (shown, detail) = shown_state(state, rec);
    let marked_done = rec
        .manual_done_at
        .as_deref()
        .and_then(Ts::parse)
        .filter(|_| shown == StepState::Done && rec.state == StepState::AwaitingOperator);
    let until = rec.ended_at.as_ref().map(|e| e.ts).or(marked_done).or(now);
    StepView {
        id: id.to_string(),
        owner: state.plan.step(id).and_then(|s| s.owner.clone()),
        state: shown,
        detail,
        attempts: rec.attempts,
        started_at: started_at.map(|s| s.raw.clone()),
        duration_ms: started_at.zip(until).and_then(|(s, e)| between(s.ts, e)),
        planned_ms: None,
        rollback: rec.rollback_run.as_ref().map(|rb| StepRollbackView {
            state: rb.state,
            partial: rb.partial,
            attempts: rb.attempts,
            skipped_by: (rb.state == RollbackState::Skipped)
                .then(|| rec.rollback_skipped_by.clone())
                .flatten(),
            skip_reason: (rb.state == RollbackState::Skipped)
                .then(|| rec.rollback_skip_reason.clone())
                .flatten(),
        }),
        warnings: rec
            .warnings
            .iter()
            .filter_map(|seq| state.entry(*seq))
            .filter_map(|e| crate::describe::abandoned(&e.event))
            .collect(),
    }
}

/// Gates, from their first start on, in that order.
fn gate_views(state: &RunState) -> Vec<GateView> {
    state
        .checks_seen
        .iter()
        .filter_map(|key| state.checks.get(key))
        .filter_map(|c| {
            let round = c.round.as_ref()?;
            Some(GateView {
                step: c.step.clone().unwrap_or_default(),
                gate: c.gate.clone().unwrap_or_default(),
                condition: round.condition.clone(),
                shadow: round.shadow,
                measurements: round.measurements,
                latest_value: round.latest_value,
                latest_verdict: round.latest_verdict,
                result: round.result,
            })
        })
        .collect()
}

/// Triggers, from their first event on, in that order.
fn trigger_views(state: &RunState) -> Vec<TriggerView> {
    state
        .checks_seen
        .iter()
        .filter_map(|key| state.checks.get(key))
        .filter(|c| c.kind == CheckKind::Trigger)
        .map(|c| TriggerView {
            id: c.key.clone(),
            armed: c.armed,
            fired: c.fired.is_some(),
            condition: c.seen_condition.clone(),
            latest_value: c.latest_value,
            health: c.health,
            errors: c.errors,
            last_error: c.last_error.clone(),
        })
        .collect()
}

/// A step's go/no-go, once it was asked, voted on or decided; pending only
/// while the run `waits` for votes.
fn approval_view(id: &str, rec: &StepRecord, waits: bool) -> Option<ApprovalView> {
    let asked = rec.approval_requested
        || !rec.votes.is_empty()
        || rec.decided.is_some()
        || rec.approval_timed_out;
    asked.then(|| ApprovalView {
        step: id.to_string(),
        needed: if rec.approval_requested {
            rec.approval_needed
        } else {
            1
        },
        approvers: rec.approvers.clone(),
        votes: rec
            .votes
            .iter()
            .map(|v| Vote {
                who: v.voter(),
                at: v.at.clone(),
                approve: v.approve,
                reason: v.reason.clone(),
                identity: v.identity,
            })
            .collect(),
        pending: waits && rec.awaiting_votes(),
        timed_out: rec.approval_timed_out,
        decided: rec.decided.as_ref().map(|d| DecidedView {
            decision: d.decision,
            seq: d.seq,
            by: d.by.clone(),
            reason: d.reason.clone(),
        }),
    })
}
