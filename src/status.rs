//! The war-room view of a run, rebuilt from its journal only: steps with
//! state and duration, gates with their latest value against the target,
//! triggers and their health, approvals with who voted, notes, milestones.
//! `cutover status` renders it as text or JSON; `cutover runs` uses its summary.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde::Serialize;

use crate::event::Verdict;
use crate::event::{GateResultKind, GoNoGo, Identity, Outcome, Record, StepState};
use crate::journal::{CheckKind, MilestoneOrigin, RunState, SKIPPED_WHY, StepRecord, Ts, Who};
pub use crate::journal::{RollbackRunState as RollbackState, TriggerHealth};
use crate::text::{duration, number};

/// How many of the last notes the view keeps.
const LAST_NOTES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub run_id: String,
    pub runbook: Option<String>,
    pub env: Option<String>,
    pub dry_run: bool,
    pub started_at: Option<String>,
    pub started_by: Option<String>,
    /// `running`, `stopped` (no end journaled and no process drives it), or
    /// how the run ended (`completed`, `paused`, ...).
    pub state: String,
    /// Whether a process holds the run's driving lock; `None` when not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driven: Option<bool>,
    pub outcome: Option<Outcome>,
    pub message: Option<String>,
    /// From `run_started` to the last `run_finished`; for a run still going,
    /// to now (or its last record). For a paused run: until it paused.
    pub duration_ms: Option<u64>,
    /// A paused run: how long since it paused (only when built with `now`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_for_ms: Option<u64>,
    pub last_seq: u64,
    pub updated_at: Option<String>,
    pub steps: Vec<StepView>,
    pub gates: Vec<GateView>,
    pub triggers: Vec<TriggerView>,
    pub approvals: Vec<ApprovalView>,
    pub notes: Vec<NoteView>,
    pub milestones: Vec<MilestoneView>,
    /// The last pause's instructions, while paused.
    pub paused_hint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    pub state: StepState,
    pub detail: Option<String>,
    pub attempts: u32,
    pub started_at: Option<String>,
    /// Until it ended, or until the last record for a step still going.
    pub duration_ms: Option<u64>,
    /// Its rollback, once started; `None` if it was not rolled back.
    pub rollback: Option<StepRollbackView>,
    /// What an operator should know about it (`output_abandoned`: a
    /// detached process held its output). In JSON only when there are some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A step's rollback as far as the journal goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRollbackView {
    pub state: RollbackState,
    /// Rolled back although the step did not finish (`rollback_partial`).
    pub partial: bool,
    /// How many times its rollback action started (`cutover resume
    /// --rollback` runs a failed one again); 0 if skipped before it ran.
    /// In JSON only when not 1.
    #[serde(skip_serializing_if = "is_one")]
    pub attempts: u32,
    /// `skipped`: who skipped it (`cutover resume --skip-rollback`), the
    /// `--as` name if one was given. In JSON only when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_by: Option<String>,
    /// `skipped`: what the operator said they did (`--reason`). In JSON
    /// only when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_one(n: &u32) -> bool {
    *n == 1
}

impl StepRollbackView {
    /// `rolled back`, `rolling back`, `rollback FAILED`, `rollback skipped
    /// (by NAME: REASON)` (REASON: `--reason`, else "undone by hand"), with `(partial)` and the attempt if
    /// it ran more than once.
    pub fn label(&self) -> String {
        let mut out = match self.state {
            RollbackState::RollingBack => "rolling back".to_string(),
            RollbackState::RolledBack => "rolled back".to_string(),
            RollbackState::Failed => "rollback FAILED".to_string(),
            RollbackState::Skipped => format!(
                "rollback skipped (by {}: {})",
                self.skipped_by.as_deref().unwrap_or("the operator"),
                self.skip_reason.as_deref().unwrap_or(SKIPPED_WHY)
            ),
        };
        if self.partial {
            out.push_str(" (partial)");
        }
        if self.attempts > 1 {
            let _ = write!(out, " (attempt {})", self.attempts);
        }
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    pub step: String,
    pub gate: String,
    pub condition: String,
    pub shadow: bool,
    pub measurements: u32,
    pub latest_value: Option<f64>,
    pub latest_verdict: Option<Verdict>,
    pub result: Option<GateResultKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerView {
    pub id: String,
    pub armed: bool,
    pub fired: bool,
    pub condition: Option<String>,
    pub latest_value: Option<f64>,
    /// What the latest measurement says about the system. A trigger's
    /// measurement "passes" when its `fire_if` holds, which is bad news, so
    /// it is shown as `breaching`, never as pass/fail. `None`: not measured yet.
    pub health: Option<TriggerHealth>,
    /// Source errors since the last good measurement.
    pub errors: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub step: String,
    pub needed: u32,
    pub approvers: Vec<String>,
    pub votes: Vec<Vote>,
    /// Still waiting for votes.
    pub pending: bool,
    pub timed_out: bool,
    /// The go/no-go's `approval_decided`; absent while it is open (and in
    /// journals older than that record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided: Option<DecidedView>,
}

/// How a go/no-go was decided.
#[derive(Debug, Clone, Serialize)]
pub struct DecidedView {
    pub decision: GoNoGo,
    /// The `approval_decided` record's seq.
    pub seq: u64,
    pub by: Vec<String>,
    /// Why no vote closed it (`timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vote {
    /// Who voted (`ops@jump (as alice)`; `, declared` when a production
    /// run took the name as declared).
    pub who: String,
    pub at: String,
    pub approve: bool,
    pub reason: Option<String>,
    /// In a production run: `login` or `declared` (not verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    pub at: String,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneView {
    pub name: String,
    pub at: String,
    pub who: String,
}

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
        let now_ts = now
            .map(Ts::from_system)
            .or(state.last_at.as_ref().map(|l| l.ts));
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
        StatusView {
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
            updated_at: state.last_at.as_ref().map(|l| l.raw.clone()),
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
                .filter_map(|(id, rec)| approval_view(id, rec))
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
        }
    }

    /// The run ended (for `--follow`): a `run_finished` not followed by a resume.
    pub fn ended(&self) -> bool {
        self.outcome.is_some()
    }

    /// Record whether a process drives the run (holds its lock). A run with
    /// no end journaled and no driver crashed or was killed: `stopped`.
    /// `run_ref` names the run in the printed `cutover resume` command.
    pub fn set_driven(&mut self, driven: bool, run_ref: &str) {
        self.driven = Some(driven);
        if !driven && !self.ended() {
            self.state = "stopped".into();
            self.message = Some(format!(
                "no process drives it; continue with `cutover resume {run_ref}`"
            ));
        }
    }

    /// No end journaled and no process drives it (crashed or killed).
    pub fn stopped(&self) -> bool {
        !self.ended() && self.driven == Some(false)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "run `{}`{}{}{}: {}{}",
            self.run_id,
            self.runbook
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            self.env
                .as_ref()
                .map(|e| format!(" env `{e}`"))
                .unwrap_or_default(),
            if self.dry_run { " DRY RUN" } else { "" },
            if self.stopped() {
                format!("STOPPED ({})", self.message.as_deref().unwrap_or_default())
            } else {
                self.state.to_uppercase()
            },
            match (self.paused_for_ms, self.duration_ms) {
                (Some(p), Some(d)) => format!(
                    " for {} (it paused {} after it started)",
                    duration::short(p),
                    duration::short(d)
                ),
                (Some(p), None) => format!(" for {}", duration::short(p)),
                (None, Some(d)) => format!(" after {}", duration::short(d)),
                (None, None) => String::new(),
            }
        );
        if let (Some(at), Some(by)) = (&self.started_at, &self.started_by) {
            let _ = writeln!(out, "  started {at} by {by}");
        }
        if let Some(m) = self.message.as_ref().filter(|_| !self.stopped()) {
            let _ = writeln!(out, "  {m}");
        }
        out.push_str("\nsteps\n");
        for s in &self.steps {
            let _ = writeln!(
                out,
                "  {:<24} {:<18} {:>8}{}{}{}",
                s.id,
                s.state.label(),
                s.duration_ms.map(duration::short).unwrap_or_default(),
                if s.attempts > 1 {
                    format!("  attempt {}", s.attempts)
                } else {
                    String::new()
                },
                s.rollback
                    .as_ref()
                    .map(|rb| format!("  {}", rb.label()))
                    .unwrap_or_default(),
                s.detail
                    .as_ref()
                    .map(|d| format!("  {}", d.lines().next().unwrap_or_default()))
                    .unwrap_or_default()
            );
            for w in &s.warnings {
                let _ = writeln!(out, "    warning: {w}");
            }
        }
        if !self.gates.is_empty() {
            out.push_str("\ngates\n");
            for g in &self.gates {
                let _ = writeln!(
                    out,
                    "  {}.{:<20} latest {} (target {}) {} after {} measurement(s){}",
                    g.step,
                    g.gate,
                    g.latest_value.map_or_else(|| "-".into(), number::exact),
                    g.condition,
                    g.result
                        .map_or_else(|| "measuring".into(), |r| crate::event::words(&r)),
                    g.measurements,
                    if g.shadow { " (shadow)" } else { "" }
                );
            }
        }
        if !self.triggers.is_empty() {
            out.push_str("\ntriggers\n");
            for t in &self.triggers {
                let health = if t.fired {
                    "FIRED".to_string()
                } else if t.errors > 0 {
                    format!(
                        "source failing ({} errors: {})",
                        t.errors,
                        t.last_error.as_deref().unwrap_or("?")
                    )
                } else {
                    let health = match t.health {
                        Some(TriggerHealth::Breaching) => "BREACHING".to_string(),
                        Some(h) => h.label().to_string(),
                        None => "not measured yet".into(),
                    };
                    if t.armed {
                        format!("armed, {health}")
                    } else {
                        format!("disarmed, last {health}")
                    }
                };
                let _ = writeln!(
                    out,
                    "  {:<24} {health}; latest {}{}",
                    t.id,
                    t.latest_value.map_or_else(|| "-".into(), number::exact),
                    t.condition
                        .as_ref()
                        .map(|c| format!(" (fires if {c})"))
                        .unwrap_or_default()
                );
            }
        }
        if !self.approvals.is_empty() {
            out.push_str("\napprovals\n");
            for a in &self.approvals {
                let yes = a.votes.iter().filter(|v| v.approve).count();
                let _ = writeln!(
                    out,
                    "  {:<24} {}{} of {} approved{}{}",
                    a.step,
                    if a.pending { "PENDING, " } else { "" },
                    yes,
                    a.needed.max(1),
                    if a.timed_out { ", timed out" } else { "" },
                    a.decided
                        .as_ref()
                        .map(|d| format!(
                            "; decided: {} (journal seq {})",
                            d.decision.label(),
                            d.seq
                        ))
                        .unwrap_or_default()
                );
                for v in &a.votes {
                    let _ = writeln!(
                        out,
                        "    {} by {} at {}{}",
                        if v.approve { "approved" } else { "REJECTED" },
                        v.who,
                        v.at,
                        v.reason
                            .as_deref()
                            .map(|r| format!(": {}", crate::text::one_line(r)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        if !self.milestones.is_empty() {
            out.push_str("\nmilestones\n");
            for m in &self.milestones {
                let _ = writeln!(out, "  {} {} ({})", m.at, m.name, m.who);
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\nlast notes\n");
            for n in &self.notes {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    n.at,
                    n.who,
                    crate::text::one_line(&n.text)
                );
            }
        }
        if let Some(h) = &self.paused_hint {
            let _ = writeln!(out, "\n{h}");
        }
        // Names, notes and messages come from runbooks, people and commands:
        // no escape sequence in them reaches the terminal raw.
        crate::text::visible(&out).into_owned()
    }
}

fn step_view(state: &RunState, id: &str, rec: &StepRecord, now: Option<Ts>) -> StepView {
    let started_at = rec.first_state_at.as_ref();
    let until = rec.ended_at.as_ref().map(|e| e.ts).or(now);
    StepView {
        id: id.to_string(),
        state: rec.state,
        detail: rec.detail.clone(),
        attempts: rec.attempts,
        started_at: started_at.map(|s| s.raw.clone()),
        duration_ms: started_at.zip(until).and_then(|(s, e)| between(s.ts, e)),
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

/// A step's go/no-go, once it was asked, voted on or decided.
fn approval_view(id: &str, rec: &StepRecord) -> Option<ApprovalView> {
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
        pending: rec.awaiting_votes(),
        timed_out: rec.approval_timed_out,
        decided: rec.decided.as_ref().map(|d| DecidedView {
            decision: d.decision,
            seq: d.seq,
            by: d.by.clone(),
            reason: d.reason.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn parse_ts(ts: &str) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(ts).ok()
    }

    fn rec(seq: u64, ts: &str, event: Event) -> Record {
        Record {
            seq,
            ts: ts.into(),
            run_id: "r".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event,
        }
    }

    fn state(step: &str, state: StepState) -> Event {
        Event::StepState {
            step: step.into(),
            state,
            detail: None,
        }
    }

    #[test]
    fn steps_durations_approvals_and_notes() {
        let records = vec![
            rec(
                1,
                "2026-01-01T00:00:00.000Z",
                state("a", StepState::Running),
            ),
            rec(2, "2026-01-01T00:00:02.500Z", state("a", StepState::Done)),
            rec(
                3,
                "2026-01-01T00:00:03.000Z",
                state("b", StepState::AwaitingApproval),
            ),
            rec(
                4,
                "2026-01-01T00:00:03.000Z",
                Event::ApprovalRequested {
                    step: "b".into(),
                    min: 2,
                    approvers: vec![],
                },
            ),
            rec(
                5,
                "2026-01-01T00:00:04.000Z",
                Event::ApprovalGranted {
                    step: "b".into(),
                    reason: Some("green".into()),
                    auto: false,
                    identity: None,
                },
            ),
            rec(
                6,
                "2026-01-01T00:00:05.000Z",
                Event::Note {
                    text: "db looks fine".into(),
                },
            ),
        ];
        let v = StatusView::build(&records, None);
        assert_eq!(v.state, "running");
        assert_eq!(v.steps[0].duration_ms, Some(2500));
        assert_eq!(v.steps[1].state, StepState::AwaitingApproval);
        assert_eq!(v.steps[1].duration_ms, Some(2000), "until the last record");
        assert!(v.approvals[0].pending);
        assert_eq!(v.approvals[0].votes[0].who, "op@host");
        let text = v.to_text();
        assert!(text.contains("PENDING, 1 of 2 approved"), "{text}");
        assert!(text.contains("db looks fine"), "{text}");
        assert!(text.contains("2.5s"), "{text}");
    }

    fn measured(trigger: &str, value: f64, verdict: &str) -> Event {
        Event::TriggerMeasurement {
            trigger: trigger.into(),
            measurement: serde_json::from_value(serde_json::json!({
                "source": "prom",
                "source_kind": "prometheus",
                "query": "errors",
                "at": "2026-01-01T00:00:01.000Z",
                "latency_ms": 1.0,
                "value": value,
                "condition": "> 0.05",
                "verdict": verdict,
            }))
            .unwrap(),
        }
    }

    #[test]
    fn triggers_show_ok_or_breaching_never_pass_or_fail() {
        let records = [
            rec(
                1,
                "2026-01-01T00:00:00.000Z",
                Event::TriggerArmed {
                    trigger: "calm".into(),
                },
            ),
            rec(
                2,
                "2026-01-01T00:00:00.000Z",
                Event::TriggerArmed {
                    trigger: "hot".into(),
                },
            ),
            // `fire_if` does not hold: the measurement "fails", the system is fine.
            rec(
                3,
                "2026-01-01T00:00:01.000Z",
                measured("calm", 0.01, "fail"),
            ),
            // `fire_if` holds: the measurement "passes", the system is not fine.
            rec(4, "2026-01-01T00:00:01.000Z", measured("hot", 0.2, "pass")),
        ];
        let v = StatusView::build(&records, None);
        assert_eq!(v.triggers[0].health, Some(TriggerHealth::Ok));
        assert_eq!(v.triggers[1].health, Some(TriggerHealth::Breaching));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["triggers"][0]["health"], "ok");
        assert_eq!(json["triggers"][1]["health"], "breaching");
        assert!(json["triggers"][0].get("latest_verdict").is_none());
        let text = v.to_text();
        assert!(
            text.contains("calm") && text.contains("armed, ok;"),
            "{text}"
        );
        assert!(text.contains("armed, BREACHING;"), "{text}");
        assert!(!text.contains("fail") && !text.contains("pass"), "{text}");
    }

    #[test]
    fn a_partial_rollback_is_marked() {
        let rb_started = |step: &str, partial: bool| Event::RollbackStepStarted {
            step: step.into(),
            action: "undo".into(),
            partial,
        };
        let rb_finished = |step: &str, ok: bool| Event::RollbackStepFinished {
            step: step.into(),
            ok,
            exit_code: None,
            duration_ms: 1,
            detail: None,
        };
        let at = "2026-01-01T00:00:01.000Z";
        let records = [
            rec(1, at, state("a", StepState::Done)),
            rec(2, at, state("b", StepState::Failed)),
            rec(3, at, rb_started("b", true)),
            rec(4, at, rb_finished("b", true)),
            rec(5, at, rb_started("a", false)),
        ];
        let v = StatusView::build(&records, None);
        assert_eq!(
            v.steps[0].rollback.as_ref().unwrap().label(),
            "rolling back"
        );
        assert_eq!(
            v.steps[1].rollback.as_ref().unwrap().label(),
            "rolled back (partial)"
        );
        let text = v.to_text();
        assert!(text.contains("rolled back (partial)"), "{text}");
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json["steps"][1]["rollback"],
            serde_json::json!({"state": "rolled_back", "partial": true})
        );
        let records = [
            rec(1, at, rb_started("c", true)),
            rec(2, at, rb_finished("c", false)),
        ];
        let v = StatusView::build(&records, None);
        assert_eq!(
            v.steps[0].rollback.as_ref().unwrap().label(),
            "rollback FAILED (partial)"
        );
    }

    fn started() -> Event {
        Event::RunStarted(crate::event::RunStarted {
            plan_hash: "h".into(),
            runbook_name: "b".into(),
            runbook_path: "b.toml".into(),
            runbook_sha256: "s".into(),
            change: None,
            env: None,
            production: false,
            dry_run: false,
            pid: 1,
            set: Vec::new(),
            plan: serde_json::Value::Null,
        })
    }

    fn finished(outcome: Outcome) -> Event {
        Event::RunFinished(crate::event::RunFinished {
            outcome,
            exit_code: outcome.exit_code(),
            dry_run: false,
            failed_steps: Vec::new(),
            queries_ok: None,
            message: "m".into(),
        })
    }

    #[test]
    fn notes_and_marks_after_the_end_do_not_lengthen_the_run() {
        let records = [
            rec(1, "2026-01-01T00:00:00.000Z", started()),
            rec(2, "2026-01-01T00:00:11.469Z", finished(Outcome::Completed)),
            rec(
                3,
                "2026-01-01T00:00:47.000Z",
                Event::Note {
                    text: "late".into(),
                },
            ),
            rec(
                4,
                "2026-01-01T00:01:00.000Z",
                Event::Milestone {
                    name: "all-clear".into(),
                    at: None,
                    step: None,
                },
            ),
        ];
        for now in [None, parse_ts("2026-01-01T00:05:00.000Z")] {
            let v = StatusView::build(&records, now);
            assert_eq!(v.duration_ms, Some(11_469));
            assert_eq!(v.paused_for_ms, None);
            assert!(v.to_text().contains("COMPLETED after 11.5s"));
        }
    }

    #[test]
    fn a_paused_run_says_how_long_it_ran_and_how_long_it_has_been_paused() {
        let records = [
            rec(1, "2026-01-01T00:00:00.000Z", started()),
            rec(
                2,
                "2026-01-01T00:00:00.010Z",
                state("m", StepState::AwaitingOperator),
            ),
            rec(3, "2026-01-01T00:00:00.020Z", finished(Outcome::Paused)),
        ];
        let v = StatusView::build(&records, parse_ts("2026-01-01T00:00:01.420Z"));
        assert_eq!(v.duration_ms, Some(20));
        assert_eq!(v.paused_for_ms, Some(1_400));
        assert_eq!(v.steps[0].duration_ms, Some(1_410), "still waiting");
        let text = v.to_text();
        assert!(
            text.contains("PAUSED for 1.4s (it paused 0.0s after it started)"),
            "{text}"
        );
        // Without `now` (as `runs` builds it): until the pause only.
        let v = StatusView::build(&records, None);
        assert_eq!(v.paused_for_ms, None);
        assert!(v.to_text().contains("PAUSED after 0.0s"));
        // Resumed: running again, timed from the start to now.
        let mut records = records.to_vec();
        records.push(rec(
            4,
            "2026-01-01T00:00:02.000Z",
            Event::RunResumed { pid: 2 },
        ));
        let v = StatusView::build(&records, parse_ts("2026-01-01T00:00:03.000Z"));
        assert_eq!(v.duration_ms, Some(3_000));
        assert_eq!(v.paused_for_ms, None);
    }
}
