//! Gate evaluation: the counting rules of DESIGN.md ("Gate semantics") as a
//! synchronous state machine (`GateState`), and `run_gate`, the async driver
//! that measures every `interval` and feeds the machine.
//!
//! Counting: pass, fail and inconclusive measurements count toward `count`;
//! an error does not (it is retried at the next interval) and any non-error
//! resets the consecutive-error counter. After each measurement, in order:
//! failures > `failure_limit` → fail; inconclusive > `inconclusive_limit` →
//! inconclusive; consecutive errors > `error_limit` → error; `count` reached
//! → pass. The overall `timeout` fails the gate. A source that is down never
//! passes a gate: errors never count toward `count`.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::runbook::model::Gate;
use crate::signals::{Measurement, SourceSet, Verdict};

/// How a gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    /// Too many inconclusive measurements: an operator has to decide.
    Inconclusive,
    /// Too many consecutive errors: the source could not be read. A failed gate.
    Error,
}

/// The decision of a finished gate, with the tallies that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateResult {
    pub gate: String,
    pub outcome: GateOutcome,
    /// Why, in words ("2 failed measurements, 1 tolerated").
    pub reason: String,
    /// `false` for a shadow gate: the outcome is recorded but does not block.
    pub enforced: bool,
    pub passed: u32,
    pub failed: u32,
    pub inconclusive: u32,
    /// Every error, consecutive or not.
    pub errors: u32,
}

impl GateResult {
    /// Whether the gate holds up its step: an enforced gate that did not pass.
    pub fn blocks(&self) -> bool {
        self.enforced && self.outcome != GateOutcome::Pass
    }
}

/// The counters of one gate evaluation.
#[derive(Debug, Clone)]
pub struct GateState {
    id: String,
    count: u32,
    failure_limit: u32,
    error_limit: u32,
    inconclusive_limit: u32,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    shadow: bool,
    passed: u32,
    failed: u32,
    inconclusive: u32,
    errors: u32,
    consecutive_errors: u32,
    done: Option<GateResult>,
}

impl GateState {
    pub fn new(gate: &Gate, started: Instant) -> Self {
        GateState {
            id: gate.id.clone(),
            // A gate takes at least one measurement: "count = 0" would pass
            // without looking at anything.
            count: gate.count.max(1),
            failure_limit: gate.failure_limit,
            error_limit: gate.error_limit,
            inconclusive_limit: gate.inconclusive_limit,
            deadline: gate.timeout.map(|t| started + t),
            timeout: gate.timeout,
            shadow: gate.shadow,
            passed: 0,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            consecutive_errors: 0,
            done: None,
        }
    }

    /// Measurements that count toward `count`.
    pub fn counted(&self) -> u32 {
        self.passed + self.failed + self.inconclusive
    }

    pub fn result(&self) -> Option<&GateResult> {
        self.done.as_ref()
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Record one measurement's verdict taken at `now`; gives the result once
    /// the gate has decided (and the same result on every later call).
    pub fn record(&mut self, verdict: Verdict, now: Instant) -> Option<&GateResult> {
        if self.done.is_some() {
            return self.done.as_ref();
        }
        match verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            Verdict::Error => {
                self.errors += 1;
                self.consecutive_errors += 1;
            }
        }
        if verdict != Verdict::Error {
            self.consecutive_errors = 0;
        }
        let decision = if self.failed > self.failure_limit {
            Some((
                GateOutcome::Fail,
                format!(
                    "{} failed measurement(s), {} tolerated",
                    self.failed, self.failure_limit
                ),
            ))
        } else if self.inconclusive > self.inconclusive_limit {
            Some((
                GateOutcome::Inconclusive,
                format!(
                    "{} inconclusive measurement(s), {} tolerated",
                    self.inconclusive, self.inconclusive_limit
                ),
            ))
        } else if self.consecutive_errors > self.error_limit {
            Some((
                GateOutcome::Error,
                format!(
                    "{} consecutive measurement error(s), {} tolerated",
                    self.consecutive_errors, self.error_limit
                ),
            ))
        } else if self.counted() >= self.count {
            Some((
                GateOutcome::Pass,
                format!(
                    "{} of {} measurement(s) taken within limits ({} passed, {} failed, {} inconclusive)",
                    self.counted(),
                    self.count,
                    self.passed,
                    self.failed,
                    self.inconclusive
                ),
            ))
        } else {
            None
        };
        match decision {
            Some((outcome, reason)) => self.finish(outcome, reason),
            None => self.check_timeout(now),
        }
    }

    /// Fail the gate if its overall timeout has passed at `now`.
    pub fn check_timeout(&mut self, now: Instant) -> Option<&GateResult> {
        if self.done.is_none()
            && let (Some(deadline), Some(timeout)) = (self.deadline, self.timeout)
            && now >= deadline
        {
            let reason = format!(
                "timed out after {} with {} of {} measurement(s) counted ({} error(s))",
                humantime::format_duration(timeout),
                self.counted(),
                self.count,
                self.errors
            );
            return self.finish(GateOutcome::Fail, reason);
        }
        self.done.as_ref()
    }

    fn finish(&mut self, outcome: GateOutcome, mut reason: String) -> Option<&GateResult> {
        if self.shadow {
            reason.push_str(" (shadow gate: recorded, not enforced)");
        }
        self.done = Some(GateResult {
            gate: self.id.clone(),
            outcome,
            reason,
            enforced: !self.shadow,
            passed: self.passed,
            failed: self.failed,
            inconclusive: self.inconclusive,
            errors: self.errors,
        });
        self.done.as_ref()
    }
}

/// Evaluate `gate` for real: measure every `interval` until the state machine
/// decides or the timeout passes. `on_measurement` sees every measurement
/// before it is counted (the engine journals it there).
///
/// Cancellation-safe: dropping the future stops measuring and kills any
/// command probe in flight; nothing is left half-recorded because recording
/// happens synchronously after each measurement.
pub async fn run_gate(
    gate: &Gate,
    sources: &SourceSet,
    baseline: Option<f64>,
    on_measurement: &mut (dyn FnMut(&Measurement) + Send),
) -> GateResult {
    let started = Instant::now();
    let mut state = GateState::new(gate, started);
    let interval = gate.check.interval;
    let mut next = tokio::time::Instant::from_std(started);
    loop {
        let measured = match state.deadline() {
            Some(deadline) => tokio::time::timeout_at(
                tokio::time::Instant::from_std(deadline),
                sources.measure(&gate.check, baseline),
            )
            .await
            .ok(),
            None => Some(sources.measure(&gate.check, baseline).await),
        };
        let now = Instant::now();
        let decided = match measured {
            Some(m) => {
                on_measurement(&m);
                state.record(m.verdict, now).cloned()
            }
            None => state.check_timeout(now).cloned(),
        };
        if let Some(result) = decided {
            return result;
        }
        // Intervals are measured from the start of one measurement to the
        // next, so a slow source does not stretch the gate.
        next += interval;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        match state.deadline().map(tokio::time::Instant::from_std) {
            Some(deadline) if deadline <= next => {
                tokio::time::sleep_until(deadline).await;
                if let Some(result) = state.check_timeout(Instant::now()).cloned() {
                    return result;
                }
            }
            _ => tokio::time::sleep_until(next).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;
    use crate::runbook::model::{Check, CommandRead, GateWhen, NoData, Probe};

    fn gate(count: u32, failure_limit: u32, error_limit: u32, inconclusive_limit: u32) -> Gate {
        Gate {
            id: "g".into(),
            when: GateWhen::After,
            check: Check {
                source: "s".into(),
                probe: Probe::Query { query: "q".into() },
                command_read: CommandRead::Stdout,
                condition_text: "< 1".into(),
                condition: Condition::parse("< 1").unwrap(),
                interval: Duration::from_secs(1),
                no_data: NoData::Inconclusive,
            },
            count,
            failure_limit,
            error_limit,
            inconclusive_limit,
            timeout: None,
            shadow: false,
        }
    }

    use Verdict::{Error as E, Fail as F, Inconclusive as I, Pass as P};

    /// Feed verdicts; give the outcome and after how many verdicts it came.
    fn feed(g: &Gate, verdicts: &[Verdict]) -> Option<(GateOutcome, usize)> {
        let t0 = Instant::now();
        let mut s = GateState::new(g, t0);
        for (i, v) in verdicts.iter().enumerate() {
            if let Some(r) = s.record(*v, t0) {
                return Some((r.outcome, i + 1));
            }
        }
        None
    }

    #[test]
    fn passes_when_count_is_reached_within_limits() {
        let g = gate(3, 0, 3, 0);
        assert_eq!(feed(&g, &[P, P, P]), Some((GateOutcome::Pass, 3)));
        assert_eq!(feed(&g, &[P, P]), None);
        let g = gate(3, 1, 3, 1);
        assert_eq!(feed(&g, &[P, F, I]), Some((GateOutcome::Pass, 3)));
    }

    #[test]
    fn fails_the_moment_failures_exceed_the_limit() {
        let g = gate(10, 1, 3, 0);
        assert_eq!(feed(&g, &[P, F, P, F]), Some((GateOutcome::Fail, 4)));
        let g = gate(10, 0, 3, 0);
        assert_eq!(feed(&g, &[F]), Some((GateOutcome::Fail, 1)));
    }

    #[test]
    fn inconclusive_beyond_its_limit_is_inconclusive() {
        let g = gate(5, 0, 3, 0);
        assert_eq!(feed(&g, &[P, I]), Some((GateOutcome::Inconclusive, 2)));
        let g = gate(5, 0, 3, 2);
        assert_eq!(
            feed(&g, &[I, I, P, I]),
            Some((GateOutcome::Inconclusive, 4))
        );
    }

    #[test]
    fn failure_limit_is_checked_before_inconclusive_limit() {
        // After the 2nd measurement both limits are exceeded at once? Not possible
        // with one verdict, so check the order with limits already at the edge.
        let g = gate(5, 0, 3, 0);
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        s.inconclusive = 1; // already over its limit, undetected
        assert_eq!(s.record(F, t0).map(|r| r.outcome), Some(GateOutcome::Fail));
    }

    #[test]
    fn inconclusive_is_checked_before_errors_and_errors_before_pass() {
        let g = gate(1, 0, 0, 0);
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        s.consecutive_errors = 5;
        assert_eq!(
            s.record(I, t0).map(|r| r.outcome),
            Some(GateOutcome::Inconclusive)
        );
        // An error after the count is reached (impossible in practice) still errors.
        let g = gate(1, 0, 0, 0);
        let mut s = GateState::new(&g, t0);
        s.passed = 1;
        assert_eq!(s.record(E, t0).map(|r| r.outcome), Some(GateOutcome::Error));
    }

    #[test]
    fn errors_do_not_count_and_fail_after_the_error_limit() {
        let g = gate(2, 0, 3, 0);
        assert_eq!(feed(&g, &[E, E, E, E]), Some((GateOutcome::Error, 4)));
        assert_eq!(feed(&g, &[E, E, E]), None);
        // Errors are retried: they do not move toward `count`.
        assert_eq!(feed(&g, &[P, E, E, E, P]), Some((GateOutcome::Pass, 5)));
        let g = gate(1, 0, 0, 0);
        assert_eq!(feed(&g, &[E]), Some((GateOutcome::Error, 1)));
    }

    #[test]
    fn a_non_error_resets_the_consecutive_error_counter() {
        let g = gate(100, 10, 2, 10);
        // 2 errors, a pass, 2 errors, a fail, 2 errors: never 3 in a row.
        assert_eq!(feed(&g, &[E, E, P, E, E, F, E, E, I, E, E]), None);
        assert_eq!(feed(&g, &[E, E, P, E, E, E]), Some((GateOutcome::Error, 6)));
    }

    #[test]
    fn a_down_source_never_passes() {
        let g = gate(1, 0, 1_000, 0);
        assert_eq!(feed(&g, &vec![E; 1000]), None);
        let g = gate(3, 5, 3, 0);
        assert_eq!(feed(&g, &[E; 10]), Some((GateOutcome::Error, 4)));
    }

    #[test]
    fn the_overall_timeout_fails_the_gate() {
        let mut g = gate(5, 0, 3, 0);
        g.timeout = Some(Duration::from_secs(10));
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        assert!(s.record(P, t0 + Duration::from_secs(1)).is_none());
        assert!(s.check_timeout(t0 + Duration::from_secs(9)).is_none());
        let r = s.check_timeout(t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(r.outcome, GateOutcome::Fail);
        assert!(r.reason.contains("timed out after 10s"), "{}", r.reason);
        // A measurement arriving after the deadline does not revive it.
        assert_eq!(
            s.record(P, t0 + Duration::from_secs(11)).unwrap().outcome,
            GateOutcome::Fail
        );
        // Reaching the count at the deadline passes: count is checked first.
        let mut g = gate(1, 0, 3, 0);
        g.timeout = Some(Duration::from_secs(10));
        let mut s = GateState::new(&g, t0);
        let r = s.record(P, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(r.outcome, GateOutcome::Pass);
    }

    #[test]
    fn a_decided_gate_stays_decided() {
        let g = gate(1, 0, 3, 0);
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        assert_eq!(s.record(F, t0).unwrap().outcome, GateOutcome::Fail);
        assert_eq!(s.record(P, t0).unwrap().outcome, GateOutcome::Fail);
        assert_eq!(s.result().unwrap().failed, 1);
    }

    #[test]
    fn shadow_gates_record_the_outcome_but_do_not_block() {
        let mut g = gate(1, 0, 3, 0);
        g.shadow = true;
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        let r = s.record(F, t0).unwrap().clone();
        assert_eq!(r.outcome, GateOutcome::Fail);
        assert!(!r.enforced);
        assert!(!r.blocks());
        assert!(r.reason.contains("not enforced"));
        let g = gate(1, 0, 3, 0);
        let mut s = GateState::new(&g, t0);
        assert!(s.record(F, t0).unwrap().blocks());
        let mut s = GateState::new(&g, t0);
        assert!(!s.record(P, t0).unwrap().blocks());
    }

    #[test]
    fn zero_count_still_takes_a_measurement() {
        let g = gate(0, 0, 3, 0);
        assert_eq!(feed(&g, &[E]), None);
        assert_eq!(feed(&g, &[P]), Some((GateOutcome::Pass, 1)));
    }

    #[test]
    fn tallies_are_reported() {
        let g = gate(4, 2, 3, 1);
        let t0 = Instant::now();
        let mut s = GateState::new(&g, t0);
        for v in [P, E, F, I, P] {
            s.record(v, t0);
        }
        let r = s.result().unwrap();
        assert_eq!((r.passed, r.failed, r.inconclusive, r.errors), (2, 1, 1, 1));
        assert_eq!(r.outcome, GateOutcome::Pass);
    }

    fn command_sources() -> SourceSet {
        let mut map = indexmap::IndexMap::new();
        map.insert(
            "s".to_string(),
            crate::runbook::model::Source {
                name: "s".into(),
                timeout: Duration::from_millis(500),
                headers: indexmap::IndexMap::new(),
                kind: crate::runbook::model::SourceKind::Command {
                    shell: "/bin/sh".into(),
                },
            },
        );
        SourceSet::new(&map, crate::secrets::Masker::default(), &[])
    }

    fn command_gate(cmd: &str, count: u32, error_limit: u32) -> Gate {
        let mut g = gate(count, 0, error_limit, 0);
        g.check.probe = Probe::Query { query: cmd.into() };
        g.check.interval = Duration::from_millis(20);
        g
    }

    fn run(g: &Gate) -> (GateResult, Vec<Measurement>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sources = command_sources();
        let mut seen = Vec::new();
        let result = rt.block_on(run_gate(g, &sources, None, &mut |m: &Measurement| {
            seen.push(m.clone());
        }));
        (result, seen)
    }

    #[test]
    fn run_gate_takes_count_measurements() {
        let (r, seen) = run(&command_gate("echo 0.5", 3, 3));
        assert_eq!(r.outcome, GateOutcome::Pass, "{r:?}");
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter()
                .all(|m| m.verdict == Verdict::Pass && m.value == Some(0.5))
        );
        let (r, seen) = run(&command_gate("echo 2", 3, 3));
        assert_eq!(r.outcome, GateOutcome::Fail);
        assert_eq!(
            seen.len(),
            1,
            "fails at the first failure with failure_limit 0"
        );
    }

    #[test]
    fn run_gate_on_a_failing_source_errors_after_the_error_limit() {
        let (r, seen) = run(&command_gate("echo oops >&2; exit 1", 3, 2));
        assert_eq!(r.outcome, GateOutcome::Error);
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|m| m.verdict == Verdict::Error));
        assert!(seen[0].detail.as_deref().unwrap().contains("oops"));
    }

    #[test]
    fn run_gate_times_out_on_a_slow_source() {
        // Each measurement times out (source timeout 500ms) and errors; the gate's
        // own timeout ends it first.
        let mut g = command_gate("sleep 5", 3, 100);
        g.timeout = Some(Duration::from_millis(800));
        let started = Instant::now();
        let (r, _) = run(&g);
        assert_eq!(r.outcome, GateOutcome::Fail);
        assert!(r.reason.contains("timed out"), "{}", r.reason);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn dropping_run_gate_stops_it_and_kills_the_probe_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // Source timeout is 500ms; cancel at 200ms, while `sleep` runs.
        let g = command_gate(
            &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
            3,
            3,
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sources = command_sources();
        let mut seen = 0;
        let cancelled = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(200),
                run_gate(&g, &sources, None, &mut |_: &Measurement| seen += 1),
            )
            .await
        });
        assert!(cancelled.is_err());
        assert_eq!(seen, 0, "no half-taken measurement is reported");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => true,
                Ok(stat) => stat.split_whitespace().nth(2) == Some("Z"),
            }
        });
        assert!(
            gone,
            "the probe's process {pid} outlived the cancelled gate"
        );
    }
}
