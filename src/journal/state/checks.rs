//! Gates and triggers in the fold: every measurement (as a point), the
//! verdicts counted, results, baselines, firings and source errors, and a
//! trigger's health as of its latest measurement.

use super::RunState;
use crate::event::Verdict;
use crate::event::{Event, GateResultKind, Record};
use crate::journal::snapshot::CheckSnapshot;
use crate::journal::time::Ts;
use crate::journal::who::Who;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Gate,
    Trigger,
}

/// A gate (`step.gate`) or trigger and everything measured of it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    /// `step.gate` or the trigger id.
    pub key: String,
    pub kind: CheckKind,
    /// A gate's step and id.
    pub step: Option<String>,
    pub gate: Option<String>,
    /// `before` / `after` for gates.
    pub when: Option<String>,
    pub source: String,
    pub query: String,
    /// `pass_if` for a gate, `fire_if` for a trigger.
    pub condition: String,
    pub shadow: bool,
    /// A trigger's `action`.
    pub action: Option<String>,
    pub baseline: Option<f64>,
    pub result: Option<GateResultKind>,
    pub detail: Option<String>,
    pub started: Option<Ts>,
    pub finished: Option<Ts>,
    /// Raw verdicts of the check's condition. For a trigger that is
    /// `fire_if`: `pass` means the fire condition held, a breach.
    pub counts: VerdictCounts,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
    /// First measurement that breached the target (a gate failing, a
    /// trigger's condition holding).
    pub first_breach: Option<Ts>,
    pub first_breach_value: Option<f64>,
    pub fired: Option<Fired>,
    pub source_errors: u64,
    /// Every measurement, in journal order (numbers only).
    pub points: Vec<Point>,
    /// A gate's current round (since its last `gate_started`).
    pub round: Option<GateRound>,
    /// A trigger: armed now.
    pub armed: bool,
    /// A trigger: the condition of its latest measurement or firing.
    pub seen_condition: Option<String>,
    /// A trigger: what its latest measurement says about the system.
    pub health: Option<TriggerHealth>,
    /// A trigger: source errors since its last good measurement, and the last one's words.
    pub errors: u32,
    pub last_error: Option<String>,
    pub latest_value: Option<f64>,
    /// Listed in `RunState::checks_seen`.
    seen: bool,
}

/// A gate's measurements since it last started (a rerun starts it over).
#[derive(Debug, Clone, PartialEq)]
pub struct GateRound {
    pub condition: String,
    pub shadow: bool,
    pub measurements: u32,
    pub latest_value: Option<f64>,
    pub latest_verdict: Option<Verdict>,
    pub result: Option<GateResultKind>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerdictCounts {
    pub pass: u64,
    pub fail: u64,
    pub inconclusive: u64,
    pub error: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub ms: i64,
    pub value: Option<f64>,
    pub verdict: Verdict,
}

impl Point {
    /// Whether this measurement is the bad kind for its check.
    pub fn breach(&self, kind: CheckKind) -> bool {
        match kind {
            // A trigger "passes" when its `fire_if` holds.
            CheckKind::Trigger => self.verdict == Verdict::Pass,
            CheckKind::Gate => self.verdict == Verdict::Fail,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fired {
    pub at: Ts,
    pub action: String,
    pub condition: String,
    pub value: Option<f64>,
    pub held_ms: u64,
}

/// A trigger's condition as of its latest measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerHealth {
    /// `fire_if` does not hold.
    Ok,
    /// `fire_if` holds (it fires once that lasts its `for`).
    Breaching,
    /// No data, or neither side of the condition could be decided.
    Inconclusive,
    /// The source could not be queried.
    SourceFailing,
}

impl TriggerHealth {
    /// A trigger measurement's verdict is relative to `fire_if`: pass = breach.
    pub fn from_verdict(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Pass => TriggerHealth::Breaching,
            Verdict::Fail => TriggerHealth::Ok,
            Verdict::Inconclusive => TriggerHealth::Inconclusive,
            Verdict::Error => TriggerHealth::SourceFailing,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TriggerHealth::Ok => "ok",
            TriggerHealth::Breaching => "breaching",
            TriggerHealth::Inconclusive => "inconclusive",
            TriggerHealth::SourceFailing => "source failing",
        }
    }
}

impl CheckRecord {
    fn new(key: &str, kind: CheckKind, step: Option<&str>, gate: Option<&str>) -> Self {
        CheckRecord {
            key: key.to_string(),
            kind,
            step: step.map(str::to_string),
            gate: gate.map(str::to_string),
            when: None,
            source: String::new(),
            query: String::new(),
            condition: String::new(),
            shadow: false,
            action: None,
            baseline: None,
            result: None,
            detail: None,
            started: None,
            finished: None,
            counts: VerdictCounts::default(),
            min: None,
            max: None,
            last: None,
            first_breach: None,
            first_breach_value: None,
            fired: None,
            source_errors: 0,
            points: Vec::new(),
            round: None,
            armed: false,
            seen_condition: None,
            health: None,
            errors: 0,
            last_error: None,
            latest_value: None,
            seen: false,
        }
    }

    /// Source, query and condition as planned.
    pub(super) fn plan(&mut self, planned: &CheckSnapshot) {
        if !planned.source.is_empty() {
            self.source.clone_from(&planned.source);
        }
        if !planned.condition_text.is_empty() {
            self.condition.clone_from(&planned.condition_text);
        }
        if let Some(q) = planned.query() {
            self.query = q;
        }
    }
}

/// Which check a measurement belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Measured<'a> {
    Gate { step: &'a str, gate: &'a str },
    Trigger { trigger: &'a str },
}

impl RunState {
    /// The check `key`, added (after the planned ones) if it is new.
    pub(super) fn check_mut(&mut self, which: Measured<'_>) -> &mut CheckRecord {
        // Looked up without allocating first: nearly every measurement is
        // of a known check.
        let known = match which {
            Measured::Gate { step, gate } => {
                self.key_buf.clear();
                self.key_buf.push_str(step);
                self.key_buf.push('.');
                self.key_buf.push_str(gate);
                self.checks.get_index_of(self.key_buf.as_str())
            }
            Measured::Trigger { trigger } => self.checks.get_index_of(trigger),
        };
        if let Some(i) = known {
            return &mut self.checks[i];
        }
        let (key, kind, step, gate) = match which {
            Measured::Gate { step, gate } => (
                format!("{step}.{gate}"),
                CheckKind::Gate,
                Some(step),
                Some(gate),
            ),
            Measured::Trigger { trigger } => (trigger.to_string(), CheckKind::Trigger, None, None),
        };
        self.checks
            .entry(key.clone())
            .or_insert_with(|| CheckRecord::new(&key, kind, step, gate))
    }

    /// The check appears in `status` from its first gate start (a gate) or
    /// any event of its (a trigger), in that order.
    fn seen(&mut self, key: &str) {
        match self.checks.get_mut(key) {
            Some(c) if c.seen => return,
            Some(c) => c.seen = true,
            None => {}
        }
        self.checks_seen.push(key.to_string());
    }

    #[expect(clippy::too_many_arguments, reason = "the fields of one measurement")]
    pub(super) fn measurement(
        &mut self,
        which: &Measured<'_>,
        at: &str,
        value: Option<f64>,
        verdict: Verdict,
        baseline: Option<f64>,
        condition: Option<&str>,
        detail: Option<&str>,
    ) {
        self.counts.measurements += 1;
        let ms = Ts::parse(at).map_or(0, |t| t.ms);
        if verdict == Verdict::Error {
            let key = match which {
                Measured::Gate { step, gate } => format!("{step}.{gate}"),
                Measured::Trigger { trigger } => (*trigger).to_string(),
            };
            self.query_errors.insert(key);
        }
        let trigger = matches!(which, Measured::Trigger { .. });
        let c = self.check_mut(*which);
        if baseline.is_some() {
            c.baseline = baseline;
        }
        match verdict {
            Verdict::Pass => c.counts.pass += 1,
            Verdict::Fail => c.counts.fail += 1,
            Verdict::Inconclusive => c.counts.inconclusive += 1,
            Verdict::Error => c.counts.error += 1,
        }
        if let Some(v) = value.filter(|v| v.is_finite()) {
            c.min = Some(c.min.map_or(v, |m| m.min(v)));
            c.max = Some(c.max.map_or(v, |m| m.max(v)));
            c.last = Some(v);
        }
        let p = Point { ms, value, verdict };
        if p.breach(c.kind) && c.first_breach.is_none() {
            c.first_breach = Some(Ts { ms });
            c.first_breach_value = value;
        }
        c.points.push(p);
        c.latest_value = value;
        if let Some(round) = &mut c.round {
            round.measurements += 1;
            round.latest_value = value;
            round.latest_verdict = Some(verdict);
        }
        if trigger {
            c.health = Some(TriggerHealth::from_verdict(verdict));
            c.seen_condition = condition.map(str::to_string);
            if verdict == Verdict::Error {
                c.errors += 1;
                c.last_error = detail.map(str::to_string);
            } else {
                c.errors = 0;
            }
            if !c.seen {
                let key = c.key.clone();
                self.seen(&key);
            }
        }
    }

    pub(super) fn apply_check(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::GateStarted {
                step,
                gate,
                when,
                source,
                query,
                condition,
                shadow,
            } => {
                let c = self.check_mut(Measured::Gate { step, gate });
                c.when = Some(when.clone());
                c.source.clone_from(source);
                c.query.clone_from(query);
                c.condition.clone_from(condition);
                c.shadow = *shadow;
                c.started.get_or_insert(at);
                c.round = Some(GateRound {
                    condition: condition.clone(),
                    shadow: *shadow,
                    measurements: 0,
                    latest_value: None,
                    latest_verdict: None,
                    result: None,
                });
                let key = c.key.clone();
                self.seen(&key);
            }
            Event::GateFinished {
                step,
                gate,
                result,
                shadow,
                detail,
            } => {
                let c = self.check_mut(Measured::Gate { step, gate });
                c.result = Some(*result);
                c.detail.clone_from(detail);
                c.shadow = *shadow;
                c.finished = Some(at);
                if let Some(round) = &mut c.round {
                    round.result = Some(*result);
                }
                if *result != GateResultKind::Pass && !*shadow {
                    self.deviate(r.seq, at, &who, "gate-failed", Some(step));
                }
            }
            Event::Baseline {
                check,
                value,
                measurement,
            } => {
                if let Some(v) = value {
                    self.baselines.insert(check.clone(), *v);
                }
                if measurement.verdict == Verdict::Error {
                    self.query_errors.insert(check.clone());
                }
                if let Some(c) = self.checks.get_mut(check) {
                    c.baseline = *value;
                }
            }
            _ => self.apply_trigger(r, at, &who),
        }
    }

    fn apply_trigger(&mut self, r: &Record, at: Ts, who: &Who) {
        match &r.event {
            Event::TriggerArmed { trigger } | Event::TriggerDisarmed { trigger } => {
                let armed = matches!(r.event, Event::TriggerArmed { .. });
                self.check_mut(Measured::Trigger { trigger }).armed = armed;
                self.seen(trigger);
            }
            Event::TriggerFired {
                trigger,
                action,
                condition,
                value,
                held_ms,
            } => {
                let c = self.check_mut(Measured::Trigger { trigger });
                if c.fired.is_none() {
                    c.fired = Some(Fired {
                        at,
                        action: action.clone(),
                        condition: condition.clone(),
                        value: *value,
                        held_ms: *held_ms,
                    });
                }
                if c.condition.is_empty() {
                    c.condition.clone_from(condition);
                }
                c.seen_condition = Some(condition.clone());
                self.seen(trigger);
                self.milestone_derived(&format!("trigger-fired: {trigger}"), at, who);
                self.deviate(r.seq, at, who, "trigger-fired", None);
            }
            Event::TriggerSourceError { trigger, .. } => {
                let detail = match &r.event {
                    Event::TriggerSourceError { detail, .. } => detail.clone(),
                    _ => String::new(),
                };
                self.query_errors.insert(trigger.clone());
                let c = self.check_mut(Measured::Trigger { trigger });
                c.source_errors += 1;
                c.errors += 1;
                c.last_error = Some(detail);
                c.health = Some(TriggerHealth::SourceFailing);
                self.seen(trigger);
            }
            _ => {}
        }
    }

    /// The plan's gates and triggers, so they are listed even if they never ran.
    pub(super) fn plan_checks(&mut self) {
        let plan = self.plan.clone();
        for step in &plan.runbook.steps {
            for gate in &step.gates {
                let c = self.check_mut(Measured::Gate {
                    step: &step.id,
                    gate: &gate.id,
                });
                c.plan(&gate.check);
                c.when.clone_from(&gate.when);
                c.shadow = gate.shadow;
            }
        }
        for t in &plan.runbook.triggers {
            let c = self.check_mut(Measured::Trigger { trigger: &t.id });
            c.plan(&t.check);
            c.action.clone_from(&t.action);
        }
    }
}
