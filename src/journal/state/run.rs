//! The run as a whole in the fold: its start, resumes, pauses and end; the
//! war room's notes and milestones; readiness; and the deviations from the
//! plan that the report lists.

use serde_json::Value;

use super::{RunState, Stamped};
use crate::event::{Event, Outcome, Record, RunStarted};
use crate::journal::snapshot::PlanSnapshot;
use crate::journal::time::Ts;
use crate::journal::who::Who;

/// A question open at the driving terminal: the Ctrl-C menu (`interrupt`),
/// a failed step (`on_failure`), a step in flight at a crash (`resume`).
#[derive(Debug, Clone, PartialEq)]
pub struct Deciding {
    pub step: Option<String>,
    pub context: String,
    pub choices: Vec<String>,
    pub since: Stamped,
    /// The process that asks: its operator answers.
    pub who: Who,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteEntry {
    pub seq: u64,
    pub at: Stamped,
    pub who: Who,
    pub text: String,
}

/// Where a milestone comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneOrigin {
    /// From the run's events (first step, go decision, rollback, ...).
    Derived,
    /// A step's `milestone`, reached when the step was done.
    Step,
    /// Recorded by a person (`cutover mark`).
    Mark,
}

impl MilestoneOrigin {
    pub fn label(self) -> &'static str {
        match self {
            MilestoneOrigin::Derived => "derived",
            MilestoneOrigin::Step => "step",
            MilestoneOrigin::Mark => "mark",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneEntry {
    pub name: String,
    /// When it happened (`--at`, or a manual step's done time), as written.
    pub at: Stamped,
    pub origin: MilestoneOrigin,
    /// Who it is credited to: who marked it, who marked its manual step
    /// done, or the process whose event it is.
    pub who: Who,
    /// The record (0 for a derived one that a resume renamed).
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadinessEntry {
    pub at: Ts,
    pub checklist: String,
    pub ready: bool,
    pub overridden: bool,
    pub reason: Option<String>,
}

/// Something that went otherwise than planned.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviationEntry {
    /// The record it comes from.
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    /// `retry`, `skipped`, `failed`, `stopped`, `waiver`, `readiness-override`,
    /// `resume-decision`, `ctrl-c`, `ctrl-c-decision`, `failure-decision`,
    /// `failed-continued`, `paused`, `resumed`, `gate-failed`, `trigger-fired`,
    /// `rollback`, `rollback-skipped`, `rollback-retried`, `approval-timeout`,
    /// `orphan-stopped`, `orphan-elsewhere`, `output-abandoned`.
    pub kind: String,
    pub step: Option<String>,
    pub text: DeviationText,
}

/// What a deviation says: most say what their record says.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviationText {
    /// The words of its record.
    Record,
    Retry {
        attempt: u32,
        attempts: u32,
    },
    Waived {
        checklist: String,
        count: u64,
        items: Vec<String>,
    },
    ReadinessOverride {
        checklist: String,
        reason: Option<String>,
    },
    /// `on_failure = "continue"` let the step's failure through.
    FailedContinued,
}

impl RunState {
    pub(super) fn apply_run(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::RunStarted(s) => {
                if self.started.is_none() {
                    self.plan = PlanSnapshot::from_value(&s.plan);
                    self.schedule.rehearsal = s.rehearsal;
                    // The plan is kept typed (`plan`), not twice as JSON.
                    self.started = Some(RunStarted {
                        plan: Value::Null,
                        ..s.clone()
                    });
                    self.started_at = Some(Self::stamped(r, at));
                    self.started_by = Some(who.clone());
                    self.plan_steps();
                    self.plan_checks();
                    self.milestone_derived("run-started", at, &who);
                }
                self.add_operator(&who);
            }
            Event::RunResumed { .. } => self.resumed(r, at, &who),
            Event::Paused { reason, step, hint } => {
                self.paused = Some(*reason);
                if !hint.is_empty() {
                    self.pause_hint = Some(hint.clone());
                }
                self.deviate(r.seq, at, &who, "paused", step.as_deref());
            }
            Event::Interrupted { signal } => {
                // During a rollback a first signal changes nothing: it goes on.
                let rolling_back = self
                    .rollback
                    .as_ref()
                    .is_some_and(|rb| rb.finished.is_none());
                if signal == "SIGINT" && !rolling_back && self.interrupted.is_none() {
                    self.interrupted = Some(Self::stamped(r, at));
                }
                self.deviate(r.seq, at, &who, "ctrl-c", None);
            }
            Event::DecisionPending {
                step,
                context,
                choices,
            } => {
                self.deciding = Some(Deciding {
                    step: step.clone(),
                    context: context.clone(),
                    choices: choices.clone(),
                    since: Self::stamped(r, at),
                    who,
                });
            }
            Event::Note { text } => self.notes.push(NoteEntry {
                seq: r.seq,
                at: Self::stamped(r, at),
                who,
                text: text.clone(),
            }),
            Event::Milestone {
                name,
                at: when,
                step,
            } => self.marked(r, at, who, name, when.as_deref(), step.as_deref()),
            Event::Readiness { .. } => self.readiness_checked(r, at, &who),
            Event::RunFinished(f) => {
                self.interrupted = None;
                self.deciding = None;
                self.finished = Some(f.clone());
                self.last_finished = Some(f.clone());
                self.finished_at = Some(Self::stamped(r, at));
                for step in &f.failed_steps {
                    let text = DeviationText::FailedContinued;
                    self.deviate_with(r.seq, at, &who, "failed-continued", Some(step), text);
                }
                self.milestone_derived("run-finished", at, &who);
            }
            _ => {}
        }
    }

    /// A readiness check: its waivers and an override are deviations.
    fn readiness_checked(&mut self, r: &Record, at: Ts, who: &Who) {
        let Event::Readiness {
            checklist,
            ready,
            overridden,
            reason,
            summary,
        } = &r.event
        else {
            return;
        };
        let (ready, overridden) = (*ready, *overridden);
        let (count, items) = waived_items(summary);
        if count > 0 {
            let text = DeviationText::Waived {
                checklist: checklist.clone(),
                count,
                items,
            };
            self.deviate_with(r.seq, at, who, "waiver", None, text);
        }
        if overridden {
            let text = DeviationText::ReadinessOverride {
                checklist: checklist.clone(),
                reason: reason.clone(),
            };
            self.deviate_with(r.seq, at, who, "readiness-override", None, text);
        }
        self.readiness.push(ReadinessEntry {
            at,
            checklist: checklist.clone(),
            ready,
            overridden,
            reason: reason.clone(),
        });
    }

    fn resumed(&mut self, r: &Record, at: Ts, who: &Who) {
        if let Event::RunResumed { pid } = r.event {
            let takeover = self.is_hypercare_takeover(pid);
            self.hypercare_resumed_by(pid);
            // The background process taking the hypercare watch over is a
            // planned hand-over (`--detach-hypercare`), not a resume after a
            // stop: no deviation, no `resumed` milestone.
            if takeover {
                self.add_operator(who);
                return;
            }
        }
        // The run did not end where it last finished: that was a pause.
        if self.finished.is_some() {
            let stopped_as = match self.last_finished.as_ref().map(|f| f.outcome) {
                Some(Outcome::Aborted) => "aborted",
                Some(Outcome::Failed) => "interrupted",
                _ => "paused",
            };
            if let Some(m) = self
                .milestones
                .iter_mut()
                .rev()
                .find(|m| m.origin == MilestoneOrigin::Derived && m.name == "run-finished")
            {
                m.name = stopped_as.to_string();
            }
            if let Some(e) = self
                .history
                .iter_mut()
                .rev()
                .find(|e| matches!(e.event, Event::RunFinished(_)))
            {
                e.resumed_after = true;
            }
        }
        self.add_operator(who);
        self.finished = None;
        self.interrupted = None;
        self.deciding = None;
        self.paused = None;
        self.pause_hint = None;
        self.resumed_by.push(who.clone());
        self.milestone_derived("resumed", at, who);
        self.deviate(r.seq, at, who, "resumed", None);
    }

    fn marked(
        &mut self,
        r: &Record,
        at: Ts,
        who: Who,
        name: &str,
        when: Option<&str>,
        step: Option<&str>,
    ) {
        // `--at` is when it happened.
        let happened = when.and_then(Ts::parse).unwrap_or(at);
        let raw = when.map_or_else(|| r.ts.clone(), str::to_string);
        // A manual step's milestone is whoever marked the step done.
        let credited = step
            .and_then(|s| self.steps.get(s))
            .and_then(|s| s.manual_done_by.clone())
            .unwrap_or(who);
        self.milestones.push(MilestoneEntry {
            name: name.to_string(),
            at: Stamped { raw, ts: happened },
            origin: if step.is_some() {
                MilestoneOrigin::Step
            } else {
                MilestoneOrigin::Mark
            },
            who: credited,
            seq: r.seq,
        });
    }

    pub(super) fn milestone_derived(&mut self, name: &str, at: Ts, who: &Who) {
        self.milestones.push(MilestoneEntry {
            name: name.to_string(),
            at: Stamped {
                raw: at.rfc3339(),
                ts: at,
            },
            origin: MilestoneOrigin::Derived,
            who: who.clone(),
            seq: self.last_seq,
        });
    }

    /// Every step of the plan, in runbook order, before any event names one.
    fn plan_steps(&mut self) {
        let ids: Vec<String> = self.plan.step_ids().map(str::to_string).collect();
        for id in ids {
            self.step(&id);
        }
    }
}

/// How many readiness items were waived, and which (the readiness
/// record's `summary.waived`: a count, or the waived items' ids).
fn waived_items(summary: &Value) -> (u64, Vec<String>) {
    match summary.get("waived") {
        Some(Value::Number(n)) => (n.as_u64().unwrap_or(0), Vec::new()),
        Some(Value::Array(a)) => (
            a.len() as u64,
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
        ),
        _ => (0, Vec::new()),
    }
}
