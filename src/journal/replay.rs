//! Replay: fold journal records into the state of a run. `resume` starts
//! from it; `status` and the report can read the same fields.

use indexmap::IndexMap;

use crate::event::{
    AttemptResult, Choice, Event, GoNoGo, Outcome, PauseReason, Phase, ProcessIdentity, Record,
    RollbackReason, RunFinished, RunStarted, StepState,
};

#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub state: StepState,
    /// Attempts started (across processes).
    pub attempts: u32,
    /// An attempt started and never finished: the process died with it running.
    pub attempt_open: bool,
    /// The last finished attempt succeeded (its command must not run again).
    pub last_attempt_ok: bool,
    /// Some attempt's action succeeded since the step was last rolled back:
    /// its change may be live even if a later attempt failed.
    pub action_succeeded_once: bool,
    pub approval_requested: bool,
    /// Approvals the go/no-go needs (`approval_requested`'s `min`; 0 before
    /// it is requested).
    pub approval_needed: u32,
    /// Approvals in the current go/no-go.
    pub approvals: u32,
    /// The people who approved in the current go/no-go, in order (see
    /// `event::person`).
    pub approved_by: Vec<String>,
    /// Someone rejected the current go/no-go.
    pub rejected: bool,
    /// The votes of the current go/no-go, in journal order.
    pub votes: Vec<Vote>,
    /// How the current go/no-go was decided (`approval_decided`); `None`
    /// while it is open, and in journals older than the record (see
    /// [`StepRecord::decided_by_votes`]).
    pub decided: Option<Decided>,
    pub manual_done: bool,
    pub manual_note: Option<String>,
    /// When the step was marked done (the `manual_done` record's time).
    pub manual_done_at: Option<String>,
    pub rolled_back: bool,
    /// Who skipped its rollback (`--skip-rollback`: the operator said it is
    /// not to run): the name given (`--as`), else the actor.
    pub rollback_skipped_by: Option<String>,
    /// What they said they did (`cutover resume --reason`), if anything.
    pub rollback_skip_reason: Option<String>,
    /// The step's action (command, request) started at some point in this
    /// run: a step stopped in its before-gates or approval never touched
    /// anything. For `rollback_partial`.
    pub action_started: bool,
    /// The last operator decision about this step not yet acted on.
    pub decision: Option<Choice>,
}

/// One vote of a go/no-go, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub person: String,
    pub seq: u64,
    pub approve: bool,
    /// `--yes` stood in for the approval.
    pub auto: bool,
}

/// A go/no-go's `approval_decided` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub decision: GoNoGo,
    /// The `seq` of the `approval_decided` record.
    pub seq: u64,
    pub by: Vec<String>,
    /// The vote that closed it; `None` for a timeout.
    pub vote_seq: Option<u64>,
    /// Why it closed without a vote (`timeout`).
    pub reason: Option<String>,
}

impl StepRecord {
    /// What the journaled votes of the current go/no-go decide, whether or
    /// not an `approval_decided` says so (journals written before the
    /// record, or a vote whose decision was torn off by a crash): the first
    /// rejection is a no-go; `needed` approvals (or one by `--yes`) are a
    /// go. `(decision, by, seq of the closing vote)`.
    pub fn decided_by_votes(&self, needed: u32) -> Option<(GoNoGo, Vec<String>, u64)> {
        let mut approvers = Vec::new();
        for v in &self.votes {
            if !v.approve {
                return Some((GoNoGo::NoGo, vec![v.person.clone()], v.seq));
            }
            approvers.push(v.person.clone());
            if v.auto || approvers.len() >= needed.max(1) as usize {
                return Some((GoNoGo::Go, approvers, v.seq));
            }
        }
        None
    }

    /// The go/no-go's decision: the journaled one, else what the votes
    /// decide (older journals), with the `seq` to name.
    pub fn go_no_go(&self, needed: u32) -> Option<(GoNoGo, u64)> {
        match &self.decided {
            Some(d) => Some((d.decision, d.seq)),
            None => self
                .decided_by_votes(needed)
                .map(|(decision, _, seq)| (decision, seq)),
        }
    }

    /// A rerun of a step whose go/no-go was a no-go ends that go/no-go:
    /// the step asks again when it gets to its approval.
    fn reopen_go_no_go(&mut self) {
        self.approval_requested = false;
        self.approvals = 0;
        self.approved_by.clear();
        self.rejected = false;
        self.votes.clear();
        self.decided = None;
    }

    /// The operator said its rollback is not to run (`--skip-rollback`).
    pub fn rollback_skipped(&self) -> bool {
        self.rollback_skipped_by.is_some()
    }
}

/// A rollback the operator skipped (`cutover resume --skip-rollback`): it
/// was undone by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRollback {
    pub step: String,
    /// The `--as` name, else the actor.
    pub by: String,
    /// What they did (`--reason`), if they said.
    pub reason: Option<String>,
}

impl Default for StepRecord {
    fn default() -> Self {
        StepRecord {
            state: StepState::Pending,
            attempts: 0,
            attempt_open: false,
            last_attempt_ok: false,
            action_succeeded_once: false,
            approval_requested: false,
            approval_needed: 0,
            approvals: 0,
            approved_by: Vec::new(),
            rejected: false,
            votes: Vec::new(),
            decided: None,
            manual_done: false,
            manual_note: None,
            manual_done_at: None,
            rolled_back: false,
            rollback_skipped_by: None,
            rollback_skip_reason: None,
            action_started: false,
            decision: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackProgress {
    pub reason: RollbackReason,
    pub planned: Vec<String>,
    /// Those of `planned` that did not finish (`rollback_partial`).
    pub partial: Vec<String>,
    /// Rollback steps that finished (ok or not).
    pub finished_steps: Vec<String>,
    pub failed: Vec<String>,
    /// A rollback step that started and never finished.
    pub open_step: Option<String>,
    /// `Some(ok)` once `rollback_finished` is journaled.
    pub finished: Option<bool>,
}

/// A command that started and was not journaled as finished: after a crash
/// it may still be running.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenProcess {
    pub step: String,
    pub phase: Phase,
    pub process: ProcessIdentity,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub run_id: String,
    pub started: Option<RunStarted>,
    pub steps: IndexMap<String, StepRecord>,
    /// Each step's last action start and last completion on one timeline,
    /// oldest first. Rollback undoes in reverse.
    pub timeline: Vec<(String, Change)>,
    pub rollback: Option<RollbackProgress>,
    pub paused: Option<PauseReason>,
    pub finished: Option<RunFinished>,
    pub last_seq: u64,
    /// `seq` values that did not follow their predecessor (should be empty).
    pub seq_gaps: Vec<(u64, u64)>,
    pub notes: Vec<String>,
    /// The people who drove the run (started or resumed it), for `no_self_approval`.
    pub operators: Vec<String>,
    /// Baseline values by check (`trigger` or `step.gate`).
    pub baselines: std::collections::BTreeMap<String, f64>,
    /// Commands started and not known to be over, in start order.
    pub open_processes: Vec<OpenProcess>,
}

/// A point on a run's timeline (`RunState::timeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The step's action started (`running`).
    Started,
    /// The step became done.
    Done,
}

/// The `context` of a `decision` about a step's rollback (`--skip-rollback`,
/// `--rollback` retrying a failed one).
pub const ROLLBACK_CONTEXT: &str = "rollback";

/// What a skipped rollback (`cutover resume --skip-rollback`) says when the
/// operator gave no `--reason`.
pub const SKIPPED_WHY: &str = "undone by hand";

impl RunState {
    /// The step's action finished OK in some attempt since it was last
    /// rolled back, but the step is not complete: its after-gates failed,
    /// were stopped, or had not run at a crash, or a later attempt (a
    /// rerun) failed. Its change is live.
    pub fn action_finished(&self, id: &str) -> bool {
        self.steps
            .get(id)
            .is_some_and(|r| r.action_started && r.action_succeeded_once && !r.state.is_complete())
    }

    /// The steps whose rollback the operator skipped (`--skip-rollback`)
    /// and that were not rolled back, with who skipped them and what they
    /// said, in the order of the rollback's plan.
    pub fn rollbacks_skipped(&self) -> Vec<SkippedRollback> {
        let planned: &[String] = self.rollback.as_ref().map_or(&[], |rb| &rb.planned);
        let mut ids: Vec<&String> = planned.iter().collect();
        ids.extend(self.steps.keys().filter(|id| !planned.contains(id)));
        ids.into_iter()
            .filter_map(|id| {
                let r = self.steps.get(id)?;
                (r.rollback_skipped() && !r.rolled_back).then(|| SkippedRollback {
                    step: id.clone(),
                    by: r.rollback_skipped_by.clone().unwrap_or_default(),
                    reason: r.rollback_skip_reason.clone(),
                })
            })
            .collect()
    }

    /// The rollbacks of the last rollback still to run, in its order: not
    /// rolled back OK yet and not skipped by the operator.
    pub fn rollbacks_left(&self) -> Vec<String> {
        self.rollback.as_ref().map_or_else(Vec::new, |rb| {
            rb.planned
                .iter()
                .filter(|s| {
                    self.steps
                        .get(s.as_str())
                        .is_none_or(|r| !r.rolled_back && !r.rollback_skipped())
                })
                .cloned()
                .collect()
        })
    }

    pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> RunState {
        let mut state = RunState::default();
        for r in records {
            state.apply(r);
        }
        state
    }

    pub fn step(&mut self, id: &str) -> &mut StepRecord {
        self.steps.entry(id.to_string()).or_default()
    }

    /// The outcome of the last `run_finished`, unless something happened after it
    /// (a resume in progress).
    pub fn outcome(&self) -> Option<Outcome> {
        self.finished.as_ref().map(|f| f.outcome)
    }

    fn add_operator(&mut self, r: &Record) {
        let who = crate::event::person(&r.actor, r.on_behalf.as_deref());
        if !self.operators.contains(&who) {
            self.operators.push(who);
        }
    }

    fn mark(&mut self, step: &str, change: Change) {
        self.timeline.retain(|(s, c)| !(s == step && *c == change));
        self.timeline.push((step.to_string(), change));
    }

    fn close_process(&mut self, step: &str, phase: Phase) {
        self.open_processes
            .retain(|p| !(p.step == step && p.phase == phase));
    }

    pub fn apply(&mut self, r: &Record) {
        if self.last_seq != 0 && r.seq != self.last_seq + 1 {
            self.seq_gaps.push((self.last_seq, r.seq));
        }
        self.last_seq = r.seq;
        if self.run_id.is_empty() {
            self.run_id.clone_from(&r.run_id);
        }
        match &r.event {
            Event::RunStarted(s) => {
                self.started = Some(s.clone());
                self.add_operator(r);
            }
            Event::RunResumed { .. } => {
                self.add_operator(r);
                self.finished = None;
                self.paused = None;
            }
            Event::StepState { step, state, .. } => {
                let rec = self.step(step);
                rec.state = *state;
                // The step moved on: whatever was decided about it was acted on.
                rec.decision = None;
                if *state == StepState::Running {
                    rec.action_started = true;
                    self.mark(step, Change::Started);
                } else {
                    rec.attempt_open = false;
                }
                if *state == StepState::Done {
                    self.mark(step, Change::Done);
                }
            }
            Event::AttemptStarted { step, attempt, .. } => {
                let rec = self.step(step);
                rec.decision = None;
                rec.attempts = rec.attempts.max(*attempt);
                rec.attempt_open = true;
                rec.last_attempt_ok = false;
            }
            Event::ProcessStarted {
                step,
                phase,
                process,
            } => {
                self.close_process(step, *phase);
                self.open_processes.push(OpenProcess {
                    step: step.clone(),
                    phase: *phase,
                    process: process.clone(),
                });
            }
            Event::OrphanStopped {
                step,
                phase,
                stopped: true,
                ..
            }
            | Event::OrphanAbsent { step, phase, .. } => self.close_process(step, *phase),
            Event::AttemptFinished { step, result, .. } => {
                self.close_process(step, Phase::Step);
                let rec = self.step(step);
                rec.attempt_open = false;
                rec.last_attempt_ok = *result == AttemptResult::Succeeded;
                rec.action_succeeded_once |= rec.last_attempt_ok;
            }
            Event::ApprovalRequested { step, min, .. } => {
                let rec = self.step(step);
                rec.approval_requested = true;
                rec.approval_needed = *min;
            }
            // A vote after the decision (never journaled by this cutover)
            // does not count.
            Event::ApprovalGranted { step, auto, .. } if self.step(step).decided.is_none() => {
                let person = crate::event::person(&r.actor, r.on_behalf.as_deref());
                let rec = self.step(step);
                rec.approvals += 1;
                rec.approved_by.push(person.clone());
                rec.votes.push(Vote {
                    person,
                    seq: r.seq,
                    approve: true,
                    auto: *auto,
                });
            }
            Event::ApprovalRejected { step, .. } if self.step(step).decided.is_none() => {
                let person = crate::event::person(&r.actor, r.on_behalf.as_deref());
                let rec = self.step(step);
                rec.rejected = true;
                rec.votes.push(Vote {
                    person,
                    seq: r.seq,
                    approve: false,
                    auto: false,
                });
            }
            Event::ApprovalDecided {
                step,
                decision,
                by,
                vote_seq,
                reason,
            } if self.step(step).decided.is_none() => {
                self.step(step).decided = Some(Decided {
                    decision: *decision,
                    seq: r.seq,
                    by: by.clone(),
                    vote_seq: *vote_seq,
                    reason: reason.clone(),
                });
            }
            Event::ManualDone { step, note } => {
                let rec = self.step(step);
                rec.manual_done = true;
                rec.manual_note.clone_from(note);
                rec.manual_done_at = Some(r.ts.clone());
            }
            Event::Decision {
                step: Some(step),
                choice: Choice::Skip,
                context,
                reason,
            } if context == ROLLBACK_CONTEXT => {
                let who = match r.on_behalf.as_deref() {
                    Some(name) if !name.is_empty() => name.to_string(),
                    _ => r.actor.clone(),
                };
                let rec = self.step(step);
                rec.rollback_skipped_by = Some(who);
                rec.rollback_skip_reason.clone_from(reason);
                if let Some(rb) = &mut self.rollback {
                    rb.failed.retain(|s| s != step);
                }
            }
            // A retried rollback: its `rollback_step_started` says the rest.
            Event::Decision {
                step: Some(_),
                context,
                ..
            } if context == ROLLBACK_CONTEXT => {}
            Event::Decision {
                step: Some(step),
                choice,
                ..
            } => {
                let rec = self.step(step);
                rec.decision = Some(*choice);
                let no_go = rec.rejected
                    || rec
                        .decided
                        .as_ref()
                        .is_some_and(|d| d.decision == GoNoGo::NoGo);
                if no_go && matches!(choice, Choice::Rerun | Choice::Retry) {
                    rec.reopen_go_no_go();
                }
            }
            Event::RollbackStarted {
                reason,
                steps,
                partial,
            } => {
                self.rollback = Some(RollbackProgress {
                    reason: reason.clone(),
                    planned: steps.clone(),
                    partial: partial.clone(),
                    finished_steps: Vec::new(),
                    failed: Vec::new(),
                    open_step: None,
                    finished: None,
                });
            }
            Event::RollbackStepStarted { step, .. } => {
                if let Some(rb) = &mut self.rollback {
                    rb.open_step = Some(step.clone());
                    // A rollback that failed is going on again (`resume --rollback`).
                    rb.finished = None;
                    rb.failed.retain(|s| s != step);
                }
            }
            Event::RollbackStepFinished { step, ok, .. } => {
                self.close_process(step, Phase::Rollback);
                if let Some(rb) = &mut self.rollback {
                    rb.open_step = None;
                    rb.finished_steps.push(step.clone());
                    if !ok {
                        rb.failed.push(step.clone());
                    }
                }
                if *ok {
                    let rec = self.step(step);
                    rec.rolled_back = true;
                    rec.action_succeeded_once = false;
                }
            }
            Event::RollbackFinished { ok, .. } => {
                if let Some(rb) = &mut self.rollback {
                    rb.finished = Some(*ok);
                }
            }
            Event::Paused { reason, .. } => self.paused = Some(*reason),
            Event::Note { text } => self.notes.push(text.clone()),
            Event::Baseline {
                check,
                value: Some(v),
                ..
            } => {
                self.baselines.insert(check.clone(), *v);
            }
            Event::RunFinished(f) => self.finished = Some(f.clone()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Phase, Stream};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            ts: "t".into(),
            run_id: "r".into(),
            actor: "a".into(),
            on_behalf: None,
            event,
        }
    }

    /// `events` as records numbered from seq 1.
    fn records(events: Vec<Event>) -> Vec<Record> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, e))
            .collect()
    }

    /// The state after `events`, numbered from seq 1.
    fn replay(events: Vec<Event>) -> RunState {
        RunState::replay(&records(events))
    }

    /// Step `s`'s first attempt finished, ok or not.
    fn attempt(ok: bool) -> Event {
        Event::AttemptFinished {
            step: "s".into(),
            attempt: 1,
            result: if ok {
                AttemptResult::Succeeded
            } else {
                AttemptResult::Failed
            },
            exit_code: Some(0),
            duration_ms: 1,
            detail: None,
        }
    }

    /// Step `s`'s first attempt started.
    fn start() -> Event {
        Event::AttemptStarted {
            step: "s".into(),
            attempt: 1,
            attempts: 1,
            action: "x".into(),
        }
    }

    /// The steps marked `change` on the timeline, oldest first.
    fn order(s: &RunState, change: Change) -> Vec<&str> {
        s.timeline
            .iter()
            .filter(|(_, c)| *c == change)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    fn state(step: &str, state: StepState) -> Event {
        Event::StepState {
            step: step.into(),
            state,
            detail: None,
        }
    }

    /// A vote on step `s` by `who`.
    fn vote(seq: u64, who: &str, approve: bool) -> Record {
        let event = if approve {
            Event::ApprovalGranted {
                step: "s".into(),
                reason: None,
                auto: false,
                identity: None,
            }
        } else {
            Event::ApprovalRejected {
                step: "s".into(),
                reason: None,
                identity: None,
            }
        };
        Record {
            on_behalf: Some(who.into()),
            ..rec(seq, event)
        }
    }

    fn decided(seq: u64, decision: GoNoGo, vote_seq: u64) -> Record {
        rec(
            seq,
            Event::ApprovalDecided {
                step: "s".into(),
                decision,
                by: vec!["x".into()],
                vote_seq: Some(vote_seq),
                reason: None,
            },
        )
    }

    fn requested(seq: u64) -> Record {
        rec(
            seq,
            Event::ApprovalRequested {
                step: "s".into(),
                min: 2,
                approvers: Vec::new(),
            },
        )
    }

    #[test]
    fn a_go_no_go_counts_its_votes_until_its_decision() {
        let records = vec![
            requested(1),
            vote(2, "alice", true),
            vote(3, "bob", false),
            decided(4, GoNoGo::NoGo, 3),
            // Never journaled by this cutover: it does not count.
            vote(5, "carol", true),
        ];
        let s = RunState::replay(&records);
        let r = &s.steps["s"];
        assert_eq!(r.approval_needed, 2);
        assert_eq!(r.approved_by, ["alice"]);
        assert!(r.rejected);
        assert_eq!(r.votes.len(), 2);
        let d = r.decided.as_ref().unwrap();
        assert_eq!((d.decision, d.seq, d.vote_seq), (GoNoGo::NoGo, 4, Some(3)));
        assert_eq!(r.go_no_go(2), Some((GoNoGo::NoGo, 4)));
    }

    #[test]
    fn a_rerun_after_a_no_go_opens_a_new_go_no_go_and_after_a_go_keeps_it() {
        let rerun = |seq| {
            rec(
                seq,
                Event::Decision {
                    step: Some("s".into()),
                    choice: Choice::Rerun,
                    context: "resume".into(),
                    reason: None,
                },
            )
        };
        let no_go = vec![
            requested(1),
            vote(2, "bob", false),
            decided(3, GoNoGo::NoGo, 2),
            rerun(4),
        ];
        let r = &RunState::replay(&no_go).steps["s"];
        assert!(!r.approval_requested && !r.rejected && r.votes.is_empty());
        assert_eq!(r.decided, None);
        let go = vec![
            requested(1),
            vote(2, "alice", true),
            vote(3, "bob", true),
            decided(4, GoNoGo::Go, 3),
            rerun(5),
        ];
        let r = &RunState::replay(&go).steps["s"];
        assert_eq!(
            r.go_no_go(2),
            Some((GoNoGo::Go, 4)),
            "a go holds for a rerun"
        );
    }

    #[test]
    fn older_journals_are_decided_by_their_votes() {
        let granted = RunState::replay(&[requested(1), vote(2, "a", true), vote(3, "b", true)]);
        assert_eq!(granted.steps["s"].decided, None);
        assert_eq!(granted.steps["s"].go_no_go(2), Some((GoNoGo::Go, 3)));
        let open = RunState::replay(&[requested(1), vote(2, "a", true)]);
        assert_eq!(open.steps["s"].go_no_go(2), None);
        let rejected = RunState::replay(&[requested(1), vote(2, "a", true), vote(3, "b", false)]);
        assert_eq!(
            rejected.steps["s"].decided_by_votes(2),
            Some((GoNoGo::NoGo, vec!["b".to_string()], 3))
        );
    }

    #[test]
    fn a_decision_holds_until_the_step_moves_on() {
        let rerun = Event::Decision {
            step: Some("s".into()),
            choice: Choice::Rerun,
            context: "resume".into(),
            reason: None,
        };
        let mut events = vec![state("s", StepState::Running), start(), rerun];
        // Decided, then the resume paused for another step: still pending.
        events.push(Event::Note {
            text: "paused".into(),
        });
        assert_eq!(
            replay(events.clone()).steps["s"].decision,
            Some(Choice::Rerun)
        );
        // The step ran again: the decision was acted on.
        events.push(start());
        assert_eq!(replay(events.clone()).steps["s"].decision, None);
        events.pop();
        events.push(state("s", StepState::Skipped));
        assert_eq!(replay(events).steps["s"].decision, None);
    }

    #[test]
    fn recovers_done_in_flight_and_order() {
        let events = vec![
            state("a", StepState::Running),
            Event::AttemptStarted {
                step: "a".into(),
                attempt: 1,
                attempts: 1,
                action: "x".into(),
            },
            Event::Output {
                step: "a".into(),
                stream: Stream::Stdout,
                phase: Phase::Step,
                line: "hi".into(),
            },
            Event::AttemptFinished {
                step: "a".into(),
                attempt: 1,
                result: AttemptResult::Succeeded,
                exit_code: Some(0),
                duration_ms: 1,
                detail: None,
            },
            state("a", StepState::Done),
            state("c", StepState::Done),
            state("b", StepState::Running),
            Event::AttemptStarted {
                step: "b".into(),
                attempt: 2,
                attempts: 3,
                action: "y".into(),
            },
        ];
        let s = replay(events);
        assert_eq!(order(&s, Change::Done), ["a", "c"]);
        assert_eq!(s.steps["b"].state, StepState::Running);
        assert!(s.steps["b"].attempt_open);
        assert_eq!(s.steps["b"].attempts, 2);
        assert!(!s.steps["a"].attempt_open);
        assert!(s.seq_gaps.is_empty());
        assert_eq!(s.outcome(), None);
    }

    #[test]
    fn a_command_stays_open_until_it_finishes_or_resume_deals_with_it() {
        let started = |step: &str, phase, pgid| Event::ProcessStarted {
            step: step.into(),
            phase,
            process: ProcessIdentity {
                pgid,
                start_ticks: 9,
                boot_id: "b".into(),
                host: "h".into(),
                pid_ns: String::new(),
            },
        };
        let open = |events: Vec<Event>| -> Vec<(String, i32)> {
            replay(events)
                .open_processes
                .into_iter()
                .map(|p| (p.step, p.process.pgid))
                .collect()
        };
        let finished = Event::AttemptFinished {
            step: "a".into(),
            attempt: 1,
            result: AttemptResult::Failed,
            exit_code: Some(1),
            duration_ms: 1,
            detail: None,
        };
        assert_eq!(
            open(vec![started("a", Phase::Step, 10), finished.clone()]),
            []
        );
        // A retry's group replaces the first one's.
        assert_eq!(
            open(vec![
                started("a", Phase::Step, 10),
                finished,
                started("a", Phase::Step, 11),
                started("b", Phase::Rollback, 12),
            ]),
            [("a".to_string(), 11), ("b".to_string(), 12)]
        );
        // Survived SIGKILL: the next resume looks again.
        let orphan = |stopped| Event::OrphanStopped {
            step: "a".into(),
            phase: Phase::Step,
            pgid: 10,
            signal: "SIGKILL".into(),
            stopped,
        };
        assert_eq!(
            open(vec![started("a", Phase::Step, 10), orphan(false)]),
            [("a".to_string(), 10)]
        );
        assert_eq!(open(vec![started("a", Phase::Step, 10), orphan(true)]), []);
    }

    #[test]
    fn notices_seq_gaps_and_rollback_progress() {
        let records = vec![
            rec(
                1,
                Event::RollbackStarted {
                    reason: RollbackReason::Operator,
                    steps: vec!["b".into(), "a".into()],
                    partial: Vec::new(),
                },
            ),
            rec(
                2,
                Event::RollbackStepStarted {
                    step: "b".into(),
                    action: "x".into(),
                    partial: false,
                },
            ),
            rec(
                4,
                Event::RollbackStepFinished {
                    step: "b".into(),
                    ok: true,
                    exit_code: Some(0),
                    duration_ms: 1,
                    detail: None,
                },
            ),
        ];
        let s = RunState::replay(&records);
        assert_eq!(s.seq_gaps, [(2, 4)]);
        let rb = s.rollback.unwrap();
        assert_eq!(rb.finished_steps, ["b"]);
        assert_eq!(rb.finished, None);
        assert!(s.steps["b"].rolled_back);
    }

    #[test]
    fn knows_which_actions_started_and_a_partial_rollback_that_ran() {
        let events = vec![
            state("a", StepState::Running),
            state("a", StepState::Done),
            state("g", StepState::BeforeGates),
            state("m", StepState::Running),
            state("m", StepState::Failed),
            state("g", StepState::Stopped),
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec!["m".into(), "a".into()],
                partial: vec!["m".into()],
            },
            Event::RollbackStepStarted {
                step: "m".into(),
                action: "undo".into(),
                partial: true,
            },
            Event::RollbackStepFinished {
                step: "m".into(),
                ok: true,
                exit_code: Some(0),
                duration_ms: 1,
                detail: None,
            },
        ];
        let s = replay(events);
        assert_eq!(order(&s, Change::Started), ["a", "m"]);
        assert!(s.steps["m"].action_started);
        assert!(!s.steps["g"].action_started, "stopped in its before-gates");
        assert!(
            s.steps["m"].rolled_back,
            "a second resume must not run it again"
        );
        let rb = s.rollback.unwrap();
        assert_eq!(rb.partial, ["m"]);
        assert_eq!(rb.finished_steps, ["m"]);
    }

    #[test]
    fn a_failed_rollback_goes_on_without_what_ran_or_was_skipped() {
        let finished = |step: &str, ok| Event::RollbackStepFinished {
            step: step.into(),
            ok,
            exit_code: Some(if ok { 0 } else { 7 }),
            duration_ms: 1,
            detail: None,
        };
        let started = |step: &str| Event::RollbackStepStarted {
            step: step.into(),
            action: "undo".into(),
            partial: false,
        };
        let mut events = vec![
            state("a", StepState::Done),
            state("b", StepState::Done),
            state("c", StepState::Done),
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec!["c".into(), "b".into(), "a".into()],
                partial: Vec::new(),
            },
            started("c"),
            finished("c", true),
            started("b"),
            finished("b", false),
            Event::RollbackFinished {
                ok: false,
                failed: vec!["b".into()],
            },
        ];
        let s = replay(events.clone());
        assert_eq!(s.rollbacks_left(), ["b", "a"]);
        assert_eq!(s.rollback.as_ref().unwrap().finished, Some(false));
        // The operator undid `b` by hand.
        events.push(Event::Decision {
            step: Some("b".into()),
            choice: Choice::Skip,
            context: ROLLBACK_CONTEXT.into(),
            reason: None,
        });
        let s = replay(events.clone());
        assert_eq!(s.rollbacks_left(), ["a"]);
        assert!(s.steps["b"].rollback_skipped());
        assert_eq!(s.steps["b"].decision, None, "not a decision about the step");
        // The retry under way: no longer finished, no longer failed.
        events.push(started("a"));
        let rb = replay(events).rollback.unwrap();
        assert_eq!(rb.finished, None);
        assert!(rb.failed.is_empty());
    }

    #[test]
    fn an_action_that_finished_is_live_until_its_step_completes() {
        let base = vec![state("s", StepState::Running), start()];
        assert!(!replay(base.clone()).action_finished("s"), "still open");
        let mut ok = base.clone();
        ok.extend([attempt(true), state("s", StepState::AfterGates)]);
        assert!(replay(ok.clone()).action_finished("s"));
        ok.push(state("s", StepState::Failed));
        assert!(
            replay(ok.clone()).action_finished("s"),
            "after-gates failed"
        );
        ok.push(state("s", StepState::Done));
        assert!(!replay(ok).action_finished("s"), "done is not unconfirmed");
        let mut failed = base;
        failed.extend([attempt(false), state("s", StepState::Failed)]);
        assert!(!replay(failed).action_finished("s"));
    }

    #[test]
    fn a_change_stays_live_after_a_later_attempt_failed_until_rolled_back() {
        let mut events = vec![
            state("s", StepState::Running),
            start(),
            attempt(true),
            state("s", StepState::Failed),
            // `resume --rerun s`: the action fails ("already exists").
            state("s", StepState::Running),
            start(),
            attempt(false),
            state("s", StepState::Failed),
        ];
        let s = replay(events.clone());
        assert!(!s.steps["s"].last_attempt_ok);
        assert!(s.action_finished("s"), "the first attempt's change is live");
        events.extend([
            Event::RollbackStepStarted {
                step: "s".into(),
                action: "undo".into(),
                partial: false,
            },
            Event::RollbackStepFinished {
                step: "s".into(),
                ok: true,
                exit_code: Some(0),
                duration_ms: 1,
                detail: None,
            },
        ]);
        assert!(!replay(events).action_finished("s"), "undone");
    }

    #[test]
    fn one_timeline_of_starts_and_completions_and_who_skipped_a_rollback() {
        let mut records = records(vec![
            state("a", StepState::Running),
            state("a", StepState::Done),
            state("s", StepState::Running),
            state("l", StepState::Running),
            state("l", StepState::Done),
            state("s", StepState::Running),
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec!["l".into(), "s".into(), "a".into()],
                partial: Vec::new(),
            },
            Event::Decision {
                step: Some("a".into()),
                choice: Choice::Skip,
                context: ROLLBACK_CONTEXT.into(),
                reason: None,
            },
        ]);
        records.push(Record {
            on_behalf: Some("alice".into()),
            ..rec(
                9,
                Event::Decision {
                    step: Some("l".into()),
                    choice: Choice::Skip,
                    context: ROLLBACK_CONTEXT.into(),
                    reason: Some("restored from snapshot by hand".into()),
                },
            )
        });
        let s = RunState::replay(&records);
        let marks: Vec<(&str, Change)> =
            s.timeline.iter().map(|(id, c)| (id.as_str(), *c)).collect();
        assert_eq!(
            marks,
            [
                ("a", Change::Started),
                ("a", Change::Done),
                ("l", Change::Started),
                ("l", Change::Done),
                ("s", Change::Started),
            ]
        );
        assert_eq!(
            s.rollbacks_skipped(),
            [
                SkippedRollback {
                    step: "l".into(),
                    by: "alice".into(),
                    reason: Some("restored from snapshot by hand".into()),
                },
                SkippedRollback {
                    step: "a".into(),
                    by: "a".into(),
                    reason: None,
                }
            ]
        );
    }
}
