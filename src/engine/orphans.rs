//! Resume's stop phase: every command the crashed process left running (a
//! step in flight, a rollback command) is judged, stopped (SIGTERM, its
//! step's grace, SIGKILL) and journaled before anything runs again, so no
//! step ever runs twice at once.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::execute::EngineError;
use super::process::{Here, Judgement, groups_alive, judge_now, signal_orphan};
use super::scheduler::{After, Scheduler};
use super::step::Msg;
use crate::event::{Event, OrphanAbsence, Outcome, PauseReason, Phase};

/// SIGTERM-to-SIGKILL wait for a leftover command whose step is no longer
/// in the runbook (the plan hash makes that unlikely).
const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How often the leftover groups are looked at while they are being stopped.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait for a group to go after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(3);

/// A command of the crashed process that resume is stopping.
struct Leftover {
    step: String,
    phase: Phase,
    pgid: i32,
    grace: Duration,
    /// The last signal sent.
    signal: Signal,
    /// When SIGKILL was sent.
    killed_at: Option<tokio::time::Instant>,
    gone: bool,
}

impl Leftover {
    fn kill(&mut self, now: tokio::time::Instant) {
        signal_orphan(self.pgid, Signal::SIGKILL);
        self.signal = Signal::SIGKILL;
        self.killed_at = Some(now);
    }
}

/// What the stop phase found that the rest of resume must know.
#[derive(Debug, Default)]
pub(super) struct Leftovers {
    /// Steps whose command started on another host or in another PID
    /// namespace (`elsewhere`): maybe still running, so never re-run
    /// without the operator's decision.
    pub(super) elsewhere: Vec<String>,
}

fn seconds(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
    ))
    .to_string()
}

impl Scheduler {
    /// Before anything runs again: stop every command the crashed process
    /// left running (a step in flight, a rollback command), so no step ever
    /// runs twice at once. Every recorded group is judged first; all of
    /// ours get SIGTERM at once, each its step's grace (concurrently), then
    /// SIGKILL. Each is journaled (`orphan_stopped` / `orphan_absent`).
    /// `None` when the run paused instead: a group survived SIGKILL
    /// (running anything next to it is what this prevents), a signal came
    /// while waiting, or a rollback command may still run elsewhere.
    pub(super) async fn stop_orphans(&mut self) -> Result<Option<Leftovers>, EngineError> {
        let (mut ours, found, rollback_elsewhere) = self.judge_leftovers();
        self.flush()?;
        let mut interrupted = None;
        if !ours.is_empty() {
            interrupted = self.stop_leftovers(&mut ours).await;
            for l in &ours {
                self.emit(Event::OrphanStopped {
                    step: l.step.clone(),
                    phase: l.phase,
                    pgid: l.pgid,
                    signal: l.signal.as_str().to_string(),
                    stopped: l.gone,
                });
            }
            self.flush()?;
        }
        let survivors: Vec<String> = ours
            .iter()
            .filter(|l| !l.gone)
            .map(|l| l.pgid.to_string())
            .collect();
        if !survivors.is_empty() {
            self.finish(
                Outcome::Paused,
                format!(
                    "process group(s) {} of the crashed process could not be stopped, so nothing runs next to them; once `pgrep -a -g {}` shows nothing, `cutover resume {}`",
                    survivors.join(", "),
                    survivors.join(","),
                    self.opts.run_ref
                ),
            );
            return Ok(None);
        }
        if interrupted.is_some() {
            // Nothing was re-run or decided: the person who pressed Ctrl-C
            // (or the supervisor) gets the run back paused.
            let hint = format!("interrupted; {}", self.ways_on());
            self.finish_paused(Some(After::Pause {
                reason: PauseReason::Interrupted,
                step: None,
                hint,
            }));
            return Ok(None);
        }
        if let Some((step, host)) = rollback_elsewhere.first()
            && self
                .state
                .rollback
                .as_ref()
                .is_some_and(|rb| rb.finished.is_none())
        {
            let hint = format!(
                "the rollback of `{step}` started on host {host} (or in another PID namespace) and may still be running there; make sure it is over, then `cutover resume {}` runs it again",
                self.opts.run_ref
            );
            self.emit(Event::Paused {
                reason: PauseReason::NeedsDecision,
                step: Some(step.clone()),
                hint: hint.clone(),
            });
            self.finish(Outcome::Paused, format!("paused; {hint}"));
            return Ok(None);
        }
        Ok(Some(found))
    }

    /// Judge every group the journal says is open: ours (stopped next),
    /// or absent (journaled now), noting those that started elsewhere.
    fn judge_leftovers(&mut self) -> (Vec<Leftover>, Leftovers, Vec<(String, String)>) {
        let here = Here::now();
        let mut ours = Vec::new();
        let mut found = Leftovers::default();
        let mut rollback_elsewhere = Vec::new();
        for open in self.state.open_processes.clone() {
            let pgid = open.process.pgid;
            match judge_now(&open.process, here) {
                Judgement::Ours => ours.push(Leftover {
                    grace: self
                        .steps
                        .get(&open.step)
                        .map_or(DEFAULT_GRACE, |s| s.grace),
                    step: open.step,
                    phase: open.phase,
                    pgid,
                    signal: Signal::SIGTERM,
                    killed_at: None,
                    gone: false,
                }),
                Judgement::Absent(why) => {
                    let host = (why == OrphanAbsence::Elsewhere).then(|| open.process.host.clone());
                    if let Some(host) = &host {
                        match open.phase {
                            Phase::Step => found.elsewhere.push(open.step.clone()),
                            Phase::Rollback => {
                                rollback_elsewhere.push((open.step.clone(), host.clone()));
                            }
                        }
                    }
                    self.emit(Event::OrphanAbsent {
                        step: open.step,
                        phase: open.phase,
                        pgid,
                        why,
                        host,
                    });
                }
            }
        }
        (ours, found, rollback_elsewhere)
    }

    /// SIGTERM every leftover group at once, SIGKILL each still there after
    /// its grace, and wait for them. A SIGINT/SIGTERM meanwhile kills them
    /// all at once and is returned (it ends the resume as paused).
    async fn stop_leftovers(&mut self, ours: &mut [Leftover]) -> Option<&'static str> {
        let longest = ours.iter().map(|l| l.grace).max().unwrap_or_default();
        let same = ours.iter().all(|l| l.grace == longest);
        self.say(&format!(
            "stopping {} command{} left running by the crashed process: SIGTERM now, SIGKILL in {}{}",
            ours.len(),
            if ours.len() == 1 { "" } else { "s" },
            if same { "" } else { "at most " },
            seconds(longest),
        ));
        for l in ours.iter() {
            signal_orphan(l.pgid, Signal::SIGTERM);
        }
        let start = tokio::time::Instant::now();
        let mut interrupted = None;
        // Messages other than signals wait until the stop phase is over.
        let mut deferred = Vec::new();
        loop {
            let now = tokio::time::Instant::now();
            let pgids: Vec<i32> = ours.iter().filter(|l| !l.gone).map(|l| l.pgid).collect();
            let alive = groups_alive(&pgids);
            for l in ours.iter_mut().filter(|l| !l.gone) {
                if !alive.contains(&l.pgid) {
                    l.gone = true;
                } else if l.killed_at.is_none()
                    && (interrupted.is_some() || now.duration_since(start) >= l.grace)
                {
                    l.kill(now);
                }
            }
            let waiting = ours.iter().filter(|l| !l.gone).any(|l| {
                l.killed_at
                    .is_none_or(|at| now.duration_since(at) < KILL_WAIT)
            });
            if !waiting {
                break;
            }
            if interrupted.is_some() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(Msg::Interrupt(signal)) => {
                        interrupted = Some(signal);
                        self.emit(Event::Interrupted { signal: signal.into() });
                        self.say(&format!(
                            "{signal}: killing the leftover commands now (SIGKILL); the run pauses before anything runs again"
                        ));
                        for l in ours.iter_mut().filter(|l| !l.gone) {
                            l.kill(tokio::time::Instant::now());
                        }
                    }
                    Some(other) => deferred.push(other),
                    None => tokio::time::sleep(POLL).await,
                },
                () = tokio::time::sleep(POLL) => {}
            }
        }
        for msg in deferred {
            let _ = self.ctx.tx.send(msg);
        }
        interrupted
    }
}
