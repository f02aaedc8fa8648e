//! Folding go/no-go records: requests, votes, the decision, timeouts. A
//! vote after the decision (never journaled by this cutover) does not count.

use super::step::{Decided, Vote};
use super::{RunState, Stamped};
use crate::event::{Event, GoNoGo, Record};
use crate::journal::time::Ts;
use crate::journal::who::Who;

impl RunState {
    pub(super) fn apply_approval(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::ApprovalEscalated { step, to, .. } => {
                self.step(step).escalated = Some((at, to.clone()));
            }
            Event::ApprovalRequested {
                step,
                min,
                approvers,
            } => {
                let rec = self.step(step);
                rec.approval_requested = true;
                rec.approval_needed = *min;
                rec.approvers.clone_from(approvers);
            }
            Event::ApprovalGranted {
                step,
                auto,
                reason,
                identity,
            } => {
                self.vote_ended_wait(step, at);
                if self.step(step).decided.is_some() {
                    return;
                }
                let vote = Vote {
                    person: who.person(),
                    seq: r.seq,
                    approve: true,
                    auto: *auto,
                    who: who.clone(),
                    at: r.ts.clone(),
                    reason: reason.clone(),
                    identity: *identity,
                };
                let rec = self.step(step);
                rec.approvals += 1;
                rec.approved_by.push(vote.person.clone());
                rec.votes.push(vote);
                self.go_milestone(step, at, &who);
            }
            Event::ApprovalRejected {
                step,
                reason,
                identity,
            } => {
                self.vote_ended_wait(step, at);
                let rec = self.step(step);
                if rec.decided.is_some() {
                    return;
                }
                rec.rejected = true;
                rec.votes.push(Vote {
                    person: who.person(),
                    seq: r.seq,
                    approve: false,
                    auto: false,
                    who,
                    at: r.ts.clone(),
                    reason: reason.clone(),
                    identity: *identity,
                });
            }
            Event::ApprovalDecided {
                step,
                decision,
                by,
                vote_seq,
                reason,
            } => {
                let rec = self.step(step);
                if rec.decided.is_none() {
                    rec.decided = Some(Decided {
                        decision: *decision,
                        seq: r.seq,
                        by: by.clone(),
                        vote_seq: *vote_seq,
                        reason: reason.clone(),
                    });
                }
                if *decision == GoNoGo::Go {
                    self.go_milestone(step, at, &who);
                }
            }
            Event::ApprovalTimedOut { step, .. } => {
                self.vote_ended_wait(step, at);
                self.step(step).approval_timed_out = true;
                self.deviate(r.seq, at, &who, "approval-timeout", Some(step));
            }
            _ => {}
        }
    }

    /// A vote or a timeout: the step's wait for approval ends here (the
    /// last one before it moves on counts, for `min` > 1).
    fn vote_ended_wait(&mut self, step: &str, at: Ts) {
        let t = &mut self.step(step).timing;
        if t.awaiting_since.is_some() {
            t.decided_at = Some(at);
        }
    }

    /// The run's first go decision is a milestone: the vote that reaches
    /// `min` (or its `approval_decided`, written with it).
    fn go_milestone(&mut self, step: &str, at: Ts, who: &Who) {
        if self.go_decision_seen {
            return;
        }
        let planned = self
            .plan
            .step(step)
            .and_then(|s| s.approval.as_ref())
            .map(|a| a.min);
        let rec = self.step(step);
        let needed = if rec.approval_needed > 0 {
            rec.approval_needed
        } else {
            planned.unwrap_or(1)
        };
        let go = match &rec.decided {
            Some(d) => d.decision == GoNoGo::Go,
            None => matches!(rec.decided_by_votes(needed), Some((GoNoGo::Go, ..))),
        };
        if go {
            self.go_decision_seen = true;
            self.milestone_derived("go-decision", at, who);
        }
    }

    /// The time a record was written, for views that show it as written.
    pub(super) fn stamped(r: &Record, at: Ts) -> Stamped {
        Stamped {
            raw: r.ts.clone(),
            ts: at,
        }
    }
}
