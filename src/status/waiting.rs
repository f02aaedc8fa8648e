//! What a run waits for, as the room needs it: a go/no-go (who voted, who
//! may, escalated or not), a manual step (its instructions), the operator
//! choosing at the driving terminal (the Ctrl-C menu, a failed step), the
//! steps still finishing after a Ctrl-C, a resume; each with the commands
//! that give it. And the run's state word for the room: `interrupted`
//! while a Ctrl-C is being dealt with, `stopped` when no process drives it.

use std::time::SystemTime;

use super::view::{StatusView, WaitView};
use crate::event::{Outcome, StepState};
use crate::journal::{Deciding, RunState, StepRecord, Ts, Who};
use crate::text::duration;

impl StatusView {
    /// Finish the view for the room: whether a process drives the run
    /// (`stopped` when none does and it did not end), `interrupted` while
    /// its driver deals with a Ctrl-C, and what it waits for. `run_ref`
    /// names the run in commands; `now` says for how long.
    pub fn attend(
        &mut self,
        state: &RunState,
        run_ref: &str,
        driven: bool,
        now: Option<SystemTime>,
    ) {
        self.set_driven(driven, run_ref);
        if driven && !self.ended() && state.interrupted.is_some() {
            self.state = "interrupted".into();
        }
        let now = now.map(Ts::from_system);
        let ctx = Ctx {
            state,
            run_ref,
            now,
        };
        self.waiting_for = if self.stopped() {
            vec![WaitView {
                kind: "resume",
                step: None,
                text: "a resume: no process drives the run (it crashed or was killed)".into(),
                commands: vec![format!("cutover resume {run_ref}")],
                since: state.last_at().map(|l| l.raw),
            }]
        } else if let Some(outcome) = state.outcome() {
            ctx.after_end(outcome)
        } else {
            ctx.while_driven()
        };
    }
}

struct Ctx<'a> {
    state: &'a RunState,
    run_ref: &'a str,
    now: Option<Ts>,
}

impl Ctx<'_> {
    /// ` for 1m05s`, when `now` is known.
    fn for_how_long(&self, since: Ts) -> String {
        self.now
            .filter(|n| *n >= since)
            .map(|n| format!(" for {}", duration::short(n.since(since))))
            .unwrap_or_default()
    }

    /// Go/no-go decisions open and manual steps not yet marked done.
    fn people(&self) -> Vec<WaitView> {
        let mut out = Vec::new();
        for (id, rec) in &self.state.steps {
            if rec.awaiting_votes() {
                out.push(self.approval(id, rec));
            } else if rec.state == StepState::AwaitingOperator && !rec.manual_done {
                out.push(self.manual(id, rec));
            }
        }
        out
    }

    fn approval(&self, id: &str, rec: &StepRecord) -> WaitView {
        let since = rec.timing.awaiting_since;
        let approvers = if rec.approvers.is_empty() {
            "anyone may approve".to_string()
        } else {
            format!("approvers: {}", rec.approvers.join(", "))
        };
        let escalated = rec
            .escalated
            .as_ref()
            .map(|(_, to)| format!("; escalated to {}", to.join(", ")))
            .unwrap_or_default();
        WaitView {
            kind: "approval",
            step: Some(id.to_string()),
            text: format!(
                "go/no-go of `{id}`{}: {} of {} approved{}; {approvers}{escalated}",
                since.map(|s| self.for_how_long(s)).unwrap_or_default(),
                rec.approvals,
                rec.approval_needed.max(1),
                if rec.approved_by.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", rec.approved_by.join(", "))
                },
            ),
            commands: vec![format!(
                "cutover approve {} {id} --reason \"...\"",
                self.run_ref
            )],
            since: since.map(Ts::rfc3339),
        }
    }

    fn manual(&self, id: &str, rec: &StepRecord) -> WaitView {
        let since = rec.timing.exec_start;
        let owner = self
            .state
            .plan
            .step(id)
            .and_then(|s| s.owner.as_deref())
            .map(|o| format!(" (owner {o})"))
            .unwrap_or_default();
        let what = rec
            .detail
            .as_deref()
            .and_then(|d| d.lines().next())
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        WaitView {
            kind: "manual",
            step: Some(id.to_string()),
            text: format!(
                "manual step `{id}`{owner}{}{what}",
                since.map(|s| self.for_how_long(s)).unwrap_or_default()
            ),
            commands: vec![format!("cutover done {} {id}", self.run_ref)],
            since: since.map(Ts::rfc3339),
        }
    }

    /// A driven run: the operator choosing, steps finishing after a
    /// Ctrl-C, people elsewhere.
    fn while_driven(&self) -> Vec<WaitView> {
        let mut out = Vec::new();
        if let Some(d) = &self.state.deciding {
            out.push(self.deciding(d));
        } else if let Some(at) = &self.state.interrupted {
            out.push(WaitView {
                kind: "drain",
                step: None,
                text: format!(
                    "the steps still running to finish after a Ctrl-C{}; then the operator at the driving terminal chooses: continue, rollback or abort",
                    self.for_how_long(at.ts)
                ),
                commands: Vec::new(),
                since: Some(at.raw.clone()),
            });
        }
        if self
            .state
            .rollback
            .as_ref()
            .is_none_or(|rb| rb.finished.is_some())
        {
            out.extend(self.people());
        }
        out
    }

    fn deciding(&self, d: &Deciding) -> WaitView {
        let about = match (d.context.as_str(), &d.step) {
            ("interrupt", _) => "after a Ctrl-C".to_string(),
            ("on_failure", Some(step)) => format!("about failed step `{step}`"),
            (_, Some(step)) => format!("about step `{step}` (in flight when the run stopped)"),
            _ => String::new(),
        };
        WaitView {
            kind: "decision",
            step: d.step.clone(),
            text: format!(
                "the operator at the driving terminal ({}) to choose {about}{}: {}",
                Who::label(&d.who),
                self.for_how_long(d.since.ts),
                d.choices.join(", ")
            ),
            commands: Vec::new(),
            since: Some(d.since.raw.clone()),
        }
    }

    /// A run that stopped: what brings it back.
    fn after_end(&self, outcome: Outcome) -> Vec<WaitView> {
        let r = self.run_ref;
        let since = self.state.finished_at.as_ref().map(|f| f.raw.clone());
        let (kind, text, commands) = match outcome {
            Outcome::Completed | Outcome::RolledBack => return Vec::new(),
            Outcome::Paused => {
                let mut out = self.people();
                out.push(WaitView {
                    kind: "resume",
                    step: None,
                    text: "a resume: the run is paused".into(),
                    commands: vec![format!("cutover resume {r}")],
                    since,
                });
                return out;
            }
            Outcome::Aborted => (
                "resume",
                "a person to roll it back or carry on: the run was aborted".to_string(),
                vec![
                    format!("cutover resume {r} --rollback"),
                    format!("cutover resume {r}"),
                ],
            ),
            Outcome::RollbackFailed => (
                "rollback",
                format!(
                    "a person to finish the rollback: it FAILED at {}",
                    self.state
                        .rollback
                        .as_ref()
                        .map(|rb| rb.failed.join(", "))
                        .unwrap_or_default()
                ),
                vec![
                    format!("cutover resume {r} --rollback"),
                    format!("cutover resume {r} --skip-rollback STEP --reason \"...\""),
                ],
            ),
            Outcome::Failed => (
                "resume",
                "a resume: the engine stopped on an error".to_string(),
                vec![format!("cutover resume {r}")],
            ),
        };
        vec![WaitView {
            kind,
            step: None,
            text,
            commands,
            since,
        }]
    }
}
