//! The schedule in the fold: the planned durations a run started with
//! (`schedule_planned`), a start it waits for (`run_scheduled` until
//! `start_reached`), steps skipped before the start, a window override, the
//! overrun projected; and from them, at any moment, the run's ETA: elapsed
//! against planned, the projected end along the remaining plan (the same
//! projection the plan's offsets come from: `schedule::project`), ahead or
//! behind, and the window's end.

use super::{DeviationText, RunState, StepRecord};
use crate::event::{Event, Record, SchedulePlanned, StepState};
use crate::journal::time::Ts;
use crate::journal::who::Who;
use crate::schedule::{Known, Node, parse_rfc3339};

/// What the schedule records of a run say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleState {
    /// A dress rehearsal (`run_started.rehearsal`).
    pub rehearsal: bool,
    /// The schedule it started with; `None` in older journals.
    pub planned: Option<SchedulePlanned>,
    /// The start it waits (or waited) for.
    pub scheduled: Option<Scheduled>,
    /// When the scheduled start came.
    pub start_reached: Option<Ts>,
    pub skipped: Vec<SkipEntry>,
    pub window_override: Option<OverrideEntry>,
    /// The first `overrun_projected`.
    pub overrun: Option<OverrunEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub seq: u64,
    pub at: Ts,
    /// `--at` or `[schedule] start`.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkipEntry {
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    pub steps: Vec<String>,
    pub from: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverrideEntry {
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    pub reason: String,
    pub refused: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverrunEntry {
    pub seq: u64,
    pub at: Ts,
    pub projected_end: Ts,
    pub window_end: Ts,
    pub over_ms: u64,
}

impl ScheduleState {
    /// Waiting for its scheduled start (or it never came: cancelled, crashed).
    pub fn waiting(&self) -> bool {
        self.scheduled.is_some() && self.start_reached.is_none()
    }
}

/// Where a run stands against its schedule at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Eta {
    pub now: Ts,
    /// When its steps began (the scheduled start, else the run's start).
    pub began: Ts,
    pub elapsed_ms: u64,
    /// The planned start, if the run had one.
    pub planned_start: Option<Ts>,
    /// The planned total; `None` when no step has a planned duration.
    pub planned_total_ms: Option<u64>,
    /// The planned start (else `began`) plus the planned total.
    pub planned_end: Option<Ts>,
    /// When the last step would end if every step left takes its planned
    /// time; `None` without a plan, or when a failed step blocks the rest.
    pub projected_end: Option<Ts>,
    pub remaining_ms: Option<u64>,
    /// Projected end minus planned end: behind when positive, ahead when negative.
    pub slip_ms: Option<i64>,
    pub window_end: Option<Ts>,
    /// How far the projected end falls past the window's end.
    pub overrun_ms: Option<u64>,
    /// The steps in flight.
    pub steps: Vec<StepEta>,
}

/// A step in flight against its plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEta {
    pub step: String,
    pub elapsed_ms: u64,
    pub planned_ms: Option<u64>,
    /// How far past its planned duration it runs.
    pub over_ms: Option<u64>,
}

impl RunState {
    pub(super) fn apply_schedule(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        let s = &mut self.schedule;
        match &r.event {
            Event::SchedulePlanned(p) => s.planned = Some((**p).clone()),
            Event::RunScheduled { at: when, by } => {
                s.scheduled = Some(Scheduled {
                    seq: r.seq,
                    at: Ts::parse(when).unwrap_or(at),
                    by: by.clone(),
                });
            }
            Event::StartReached { .. } => s.start_reached = Some(at),
            Event::StepsSkipped {
                steps,
                from,
                reason,
            } => s.skipped.push(SkipEntry {
                seq: r.seq,
                at,
                who,
                steps: steps.clone(),
                from: from.clone(),
                reason: reason.clone(),
            }),
            Event::WindowOverride { reason, refused } => {
                s.window_override = Some(OverrideEntry {
                    seq: r.seq,
                    at,
                    who: who.clone(),
                    reason: reason.clone(),
                    refused: refused.clone(),
                });
                self.deviate(r.seq, at, &who, "window-override", None);
            }
            Event::OverrunProjected {
                projected_end,
                window_end,
                over_ms,
            } => {
                if s.overrun.is_none() {
                    s.overrun = Some(OverrunEntry {
                        seq: r.seq,
                        at,
                        projected_end: Ts::parse(projected_end).unwrap_or(at),
                        window_end: Ts::parse(window_end).unwrap_or(at),
                        over_ms: *over_ms,
                    });
                }
                self.deviate_with(
                    r.seq,
                    at,
                    &who,
                    "overrun-projected",
                    None,
                    DeviationText::Record,
                );
            }
            _ => {}
        }
    }

    /// When the steps began: the scheduled start that came, else the run's start.
    pub fn steps_began(&self) -> Option<Ts> {
        self.schedule
            .start_reached
            .or(self.started_at.as_ref().map(|s| s.ts))
    }

    /// The planned start: the time waited for, else the one journaled with
    /// the planned schedule, else the plan's `[schedule] start`.
    pub fn planned_start(&self) -> Option<Ts> {
        self.schedule
            .scheduled
            .as_ref()
            .map(|s| s.at)
            .or_else(|| {
                let p = self.schedule.planned.as_ref()?.planned_start.as_deref()?;
                Ts::parse(p)
            })
            .or_else(|| ms_ts(self.plan.schedule.start.as_deref()?))
    }

    /// A step's planned duration: the journaled schedule's, else (older
    /// journals) the plan's `expected`.
    pub fn planned_ms(&self, step: &str) -> Option<u64> {
        match &self.schedule.planned {
            Some(p) => p
                .steps
                .iter()
                .find(|s| s.step == step)
                .and_then(|s| s.planned_ms),
            None => self
                .plan
                .step(step)
                .and_then(super::super::snapshot::StepSnapshot::expected)
                .map(|d| d.as_millis() as u64),
        }
    }

    /// The window's end, as epoch time.
    pub fn window_end(&self) -> Option<Ts> {
        self.plan.schedule.window_ms().map(|(_, e)| Ts { ms: e })
    }

    /// How long a step took on the schedule: from its first state (its
    /// before-gates, a go/no-go wait included) to its end, less the time no
    /// cutover process drove the run. `None` if it never ran (a skipped
    /// step) or is not over.
    pub fn schedule_span(&self, step: &str) -> Option<u64> {
        let rec = self.steps.get(step)?;
        if rec.state == StepState::Skipped {
            return None;
        }
        let from = rec.first_state_at.as_ref()?.ts;
        let to = rec.ended_at.as_ref()?.ts;
        let paused: u64 = self
            .down
            .iter()
            .map(|&(a, b)| {
                let (a, b) = (a.max(from), b.min(to));
                if b > a { b.since(a) } else { 0 }
            })
            .sum();
        Some(to.since(from).saturating_sub(paused))
    }

    /// Where the run stands against its schedule at `now`; `None` before
    /// it started.
    pub fn eta(&self, now: Ts) -> Option<Eta> {
        if self.schedule.waiting() {
            return None;
        }
        let began = self.steps_began()?;
        let ids: Vec<&str> = self.plan.step_ids().collect();
        let planned: Vec<Option<u64>> = ids.iter().map(|id| self.planned_ms(id)).collect();
        let nodes: Vec<Node<'_>> = self
            .plan
            .runbook
            .steps
            .iter()
            .zip(&planned)
            .map(|(s, p)| Node {
                id: &s.id,
                needs: &s.needs,
                planned_ms: *p,
            })
            .collect();
        let known: Vec<Known> = ids.iter().map(|id| self.known(id, began)).collect();
        let projection = crate::schedule::project(
            &nodes,
            &known,
            self.plan.runbook.max_parallel,
            now.ms.max(began.ms),
        );
        let planned_total_ms = self
            .schedule
            .planned
            .as_ref()
            .map(|p| p.planned_total_ms)
            .or_else(|| {
                planned
                    .iter()
                    .any(Option::is_some)
                    .then(|| planned_total(&nodes, self.plan.runbook.max_parallel))
            })
            .filter(|_| planned.iter().any(Option::is_some));
        let planned_start = self.planned_start();
        let planned_end = planned_total_ms.map(|t| Ts {
            ms: planned_start.unwrap_or(began).ms + i64::try_from(t).unwrap_or(i64::MAX / 4),
        });
        let projected_end = projection
            .end
            .filter(|_| planned_total_ms.is_some())
            .map(|ms| Ts { ms });
        let window_end = self.window_end();
        let steps = ids
            .iter()
            .zip(&known)
            .filter_map(|(id, k)| match k {
                Known::InFlight { since } => {
                    let elapsed_ms = now.since(Ts { ms: *since });
                    let planned_ms = self.planned_ms(id);
                    Some(StepEta {
                        step: (*id).to_string(),
                        elapsed_ms,
                        planned_ms,
                        over_ms: planned_ms
                            .filter(|p| elapsed_ms > *p)
                            .map(|p| elapsed_ms - p),
                    })
                }
                _ => None,
            })
            .collect();
        Some(Eta {
            now,
            began,
            elapsed_ms: now.since(began),
            planned_start,
            planned_total_ms,
            planned_end,
            remaining_ms: projected_end.map(|e| e.since(now)),
            slip_ms: projected_end.zip(planned_end).map(|(p, e)| p.ms - e.ms),
            overrun_ms: projected_end
                .zip(window_end)
                .filter(|(p, w)| p > w)
                .map(|(p, w)| p.since(w)),
            projected_end,
            window_end,
            steps,
        })
    }

    /// What the projection knows of step `id`.
    fn known(&self, id: &str, began: Ts) -> Known {
        let Some(rec) = self.steps.get(id) else {
            return Known::Pending;
        };
        let ended = |rec: &StepRecord| rec.ended_at.as_ref().map_or(began.ms, |e| e.ts.ms);
        match rec.state {
            StepState::Pending => Known::Pending,
            s if s.is_complete() => Known::Over { at: ended(rec) },
            StepState::Failed
                if self
                    .plan
                    .step(id)
                    .is_some_and(|p| p.on_failure.as_deref() == Some("continue")) =>
            {
                Known::Over { at: ended(rec) }
            }
            StepState::Failed | StepState::Stopped => Known::Blocked,
            _ => Known::InFlight {
                since: rec.first_state_at.as_ref().map_or(began.ms, |s| s.ts.ms),
            },
        }
    }
}

/// The planned total of `nodes` from their planned durations alone.
fn planned_total(nodes: &[Node<'_>], max_parallel: usize) -> u64 {
    let p = crate::schedule::project(nodes, &vec![Known::Pending; nodes.len()], max_parallel, 0);
    p.end.map_or(0, |e| e.max(0) as u64)
}

/// A schedule time (RFC 3339, any offset) as a journal time.
fn ms_ts(text: &str) -> Option<Ts> {
    parse_rfc3339(text).ok().map(|ms| Ts { ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PlannedSource, PlannedStep, RunStarted};

    const T0: &str = "2026-12-12T22:00:00.000Z";

    /// A record `secs` seconds after 22:00.
    fn at(seq: u64, secs: i64, event: Event) -> Record {
        Record {
            seq,
            ts: format!("2026-12-12T22:{:02}:{:02}.000Z", secs / 60, secs % 60),
            run_id: "r".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event,
        }
    }

    fn ts(secs: i64) -> Ts {
        Ts {
            ms: Ts::parse(T0).unwrap().ms + secs * 1000,
        }
    }

    /// A run of a → b → c (a, b: 60 s planned; c: 120 s), max_parallel 1,
    /// window ending at 22:05.
    fn started() -> Vec<Record> {
        let plan = serde_json::json!({
            "schedule": {"window": {"start": "2026-12-12T21:00:00Z", "end": "2026-12-12T22:05:00Z"}},
            "runbook": {"name": "n", "max_parallel": 1, "steps": [
                {"id": "a", "expected": "1m"},
                {"id": "b", "needs": ["a"], "expected": "1m"},
                {"id": "c", "needs": ["b"]},
            ]}
        });
        let step = |id: &str, ms: Option<u64>, start: u64, source| PlannedStep {
            step: id.into(),
            planned_ms: ms,
            source,
            rehearsal_median_ms: None,
            rehearsals: 0,
            start_ms: start,
            end_ms: start + ms.unwrap_or(0),
        };
        vec![
            at(
                1,
                0,
                Event::RunStarted(RunStarted {
                    plan_hash: "h".into(),
                    runbook_name: "n".into(),
                    runbook_path: "n.toml".into(),
                    runbook_sha256: String::new(),
                    change: None,
                    env: None,
                    production: false,
                    dry_run: false,
                    pid: 1,
                    set: Vec::new(),
                    plan,
                    rehearsal: true,
                }),
            ),
            at(
                2,
                0,
                Event::SchedulePlanned(Box::new(SchedulePlanned {
                    planned_start: None,
                    planned_total_ms: 240_000,
                    critical_path: vec!["a".into(), "b".into(), "c".into()],
                    steps: vec![
                        step("a", Some(60_000), 0, PlannedSource::Expected),
                        step("b", Some(60_000), 60_000, PlannedSource::Expected),
                        step("c", Some(120_000), 120_000, PlannedSource::Rehearsal),
                    ],
                })),
            ),
        ]
    }

    fn state_at(seq: u64, secs: i64, step: &str, state: StepState) -> Record {
        at(
            seq,
            secs,
            Event::StepState {
                step: step.into(),
                state,
                detail: None,
            },
        )
    }

    #[test]
    fn the_eta_projects_the_rest_of_the_plan_from_now() {
        let mut records = started();
        records.push(state_at(3, 0, "a", StepState::Running));
        records.push(state_at(4, 90, "a", StepState::Done));
        records.push(state_at(5, 90, "b", StepState::Running));
        let s = RunState::replay(&records);
        assert!(s.schedule.rehearsal);
        // 22:02:00: a took 90 s (30 late), b has run 30 of its 60 s.
        let e = s.eta(ts(120)).unwrap();
        assert_eq!(e.elapsed_ms, 120_000);
        assert_eq!(e.planned_total_ms, Some(240_000));
        assert_eq!(e.planned_end, Some(ts(240)));
        // b ends at 22:02:30, c (120 s) at 22:04:30: 30 s behind.
        assert_eq!(e.projected_end, Some(ts(270)));
        assert_eq!(e.remaining_ms, Some(150_000));
        assert_eq!(e.slip_ms, Some(30_000));
        assert_eq!(e.window_end, Some(ts(300)));
        assert_eq!(e.overrun_ms, None);
        assert_eq!(
            e.steps,
            [StepEta {
                step: "b".into(),
                elapsed_ms: 30_000,
                planned_ms: Some(60_000),
                over_ms: None
            }]
        );
        // 22:03:30: b runs 60 s over; the end moves past the window's.
        let late = s.eta(ts(210)).unwrap();
        assert_eq!(late.steps[0].over_ms, Some(60_000));
        assert_eq!(late.projected_end, Some(ts(330)));
        assert_eq!(late.overrun_ms, Some(30_000));
    }

    #[test]
    fn a_failed_step_leaves_no_projection_and_a_scheduled_run_no_eta() {
        let mut records = started();
        records.push(state_at(3, 0, "a", StepState::Running));
        records.push(state_at(4, 10, "a", StepState::Failed));
        let s = RunState::replay(&records);
        let e = s.eta(ts(20)).unwrap();
        assert_eq!(e.projected_end, None);
        assert_eq!(e.slip_ms, None);

        let mut waiting = started();
        waiting.push(at(
            3,
            0,
            Event::RunScheduled {
                at: "2026-12-12T22:10:00Z".into(),
                by: "--at".into(),
            },
        ));
        let s = RunState::replay(&waiting);
        assert!(s.schedule.waiting());
        assert_eq!(s.eta(ts(5)), None);
        assert_eq!(s.planned_start(), Some(ts(600)));
        waiting.push(at(4, 600, Event::StartReached { waited_ms: 600_000 }));
        let s = RunState::replay(&waiting);
        assert!(!s.schedule.waiting());
        assert_eq!(s.steps_began(), Some(ts(600)));
        let e = s.eta(ts(600)).unwrap();
        assert_eq!(e.planned_end, Some(ts(840)));
        assert_eq!(e.slip_ms, Some(0));
    }

    #[test]
    fn skips_overrides_and_overruns_are_kept_and_deviate() {
        let mut records = started();
        records.push(at(
            3,
            0,
            Event::StepsSkipped {
                steps: vec!["a".into()],
                from: Some("b".into()),
                reason: "done yesterday".into(),
            },
        ));
        records.push(at(
            4,
            0,
            Event::WindowOverride {
                reason: "vendor call".into(),
                refused: vec!["window".into()],
            },
        ));
        for seq in [5, 6] {
            records.push(at(
                seq,
                i64::try_from(seq).unwrap(),
                Event::OverrunProjected {
                    projected_end: "2026-12-12T22:06:00Z".into(),
                    window_end: "2026-12-12T22:05:00Z".into(),
                    over_ms: 60_000,
                },
            ));
        }
        let s = RunState::replay(&records);
        assert_eq!(s.schedule.skipped[0].from.as_deref(), Some("b"));
        assert_eq!(
            s.schedule.window_override.as_ref().unwrap().reason,
            "vendor call"
        );
        assert_eq!(s.schedule.overrun.as_ref().unwrap().seq, 5, "the first one");
        let kinds: Vec<&str> = s.deviations.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["window-override", "overrun-projected", "overrun-projected"]
        );
    }

    #[test]
    fn a_steps_span_includes_its_wait_and_leaves_out_pauses() {
        let mut records = started();
        records.push(state_at(3, 0, "a", StepState::AwaitingApproval));
        records.push(state_at(4, 30, "a", StepState::Running));
        records.push(at(5, 40, Event::RunResumed { pid: 2 }));
        records.push(state_at(6, 100, "a", StepState::Done));
        let s = RunState::replay(&records);
        // 100 s from its first state, less the 10 s no process drove it.
        assert_eq!(s.schedule_span("a"), Some(90_000));
        assert_eq!(s.schedule_span("b"), None);
        // Older journals: the plan's `expected` stands in.
        let old = RunState::replay(&records[..1]);
        assert_eq!(old.planned_ms("a"), Some(60_000));
        assert_eq!(old.planned_ms("c"), None);
    }
}
