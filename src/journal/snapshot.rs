//! `PlanSnapshot`: the parts of the plan journaled in `run_started.plan`
//! that the fold and the views read, typed. The journaled plan is the whole
//! resolved runbook, masked; a view never needs the runbook file.
//!
//! Tolerant on purpose: every field has a default, unknown fields are
//! ignored, and a value of the wrong shape leaves its field at the default
//! (an old journal, or one written by a newer cutover, still reads).
//! `format_version` is the plan's own (`plan::PLAN_FORMAT_VERSION`; 0 in
//! journals that predate it).

use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PlanSnapshot {
    pub format_version: u32,
    pub env: Option<String>,
    pub production: bool,
    pub runbook: RunbookSnapshot,
    /// The env's schedule (planned start, window, freezes).
    pub schedule: ScheduleSnapshot,
}

/// A plan's schedule, times as journaled (RFC 3339 UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ScheduleSnapshot {
    pub start: Option<String>,
    pub window: Option<WindowSnapshot>,
    #[serde(deserialize_with = "tolerant_list")]
    pub freeze: Vec<FreezeSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WindowSnapshot {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FreezeSnapshot {
    pub start: String,
    pub end: String,
    pub reason: String,
    pub file: Option<String>,
}

impl ScheduleSnapshot {
    /// The window as epoch milliseconds, when both ends read.
    pub fn window_ms(&self) -> Option<(i64, i64)> {
        let w = self.window.as_ref()?;
        Some((
            crate::schedule::parse_rfc3339(&w.start).ok()?,
            crate::schedule::parse_rfc3339(&w.end).ok()?,
        ))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunbookSnapshot {
    pub name: String,
    pub owner: Option<String>,
    pub change: Option<String>,
    /// `[teams]`: who is in each team an `approvers` entry names.
    pub teams: IndexMap<String, Vec<String>>,
    /// `[runbook] declared_identities`: names given with `--as` count in production.
    pub declared_identities: bool,
    /// `[secrets]`: which environment variable holds each secret.
    pub secrets: IndexMap<String, SecretSnapshot>,
    #[serde(deserialize_with = "tolerant_list")]
    pub steps: Vec<StepSnapshot>,
    #[serde(deserialize_with = "tolerant_list")]
    pub triggers: Vec<TriggerSnapshot>,
    /// Steps that may run at once (0 in journals that predate it: read as 1).
    pub max_parallel: usize,
    /// `[hypercare]` as planned for the run's env.
    pub hypercare: Option<HypercareSnapshot>,
    #[serde(deserialize_with = "tolerant_list")]
    pub outcomes: Vec<OutcomeSnapshot>,
}

/// `[hypercare]` as planned.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HypercareSnapshot {
    /// As journaled (`2h`); see [`HypercareSnapshot::duration`].
    #[serde(rename = "duration")]
    pub duration_text: String,
    pub triggers: Option<Vec<String>>,
}

impl HypercareSnapshot {
    pub fn duration(&self) -> Option<Duration> {
        humantime::parse_duration(&self.duration_text).ok()
    }
}

/// An `[[outcome]]` as planned: what is measured, its target, when it is due.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OutcomeSnapshot {
    pub name: String,
    pub description: Option<String>,
    /// `end`, or a duration after the last step (`1day`).
    #[serde(rename = "at")]
    pub at_text: String,
    pub owner: Option<String>,
    #[serde(flatten)]
    pub check: CheckSnapshot,
}

/// When an outcome is due, as planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueAt {
    /// At the end of hypercare (without one: when the last step is done).
    End,
    /// This long after the last step is done.
    After(Duration),
}

impl OutcomeSnapshot {
    /// `None` when the journaled `at` does not read.
    pub fn at(&self) -> Option<DueAt> {
        match self.at_text.trim() {
            "end" | "" => Some(DueAt::End),
            text => humantime::parse_duration(text).ok().map(DueAt::After),
        }
    }
}

/// A secret as planned: only where its value comes from (never the value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecretSnapshot {
    pub env: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct StepSnapshot {
    pub id: String,
    /// Who owns it (`alice`, `team:dba`); absent in older journals.
    pub owner: Option<String>,
    pub action: ActionSnapshot,
    pub needs: Vec<String>,
    /// As journaled (`"2m"`); see [`StepSnapshot::timeout`].
    #[serde(rename = "timeout")]
    pub timeout_text: Option<String>,
    pub retries: RetriesSnapshot,
    /// The rollback action, if the step has one.
    pub rollback: Option<Value>,
    pub approval: Option<ApprovalSnapshot>,
    #[serde(deserialize_with = "tolerant_list")]
    pub gates: Vec<GateSnapshot>,
    pub milestone: Option<String>,
    /// As journaled (`"8m"`); see [`StepSnapshot::expected`].
    #[serde(rename = "expected")]
    pub expected_text: Option<String>,
    /// `rollback`, `continue`, ... (`on_failure`).
    pub on_failure: Option<String>,
}

impl StepSnapshot {
    /// How long it is planned to take (`expected`).
    pub fn expected(&self) -> Option<Duration> {
        self.expected_text
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_text
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
    }

    pub fn has_rollback(&self) -> bool {
        self.rollback.as_ref().is_some_and(|r| !r.is_null())
    }

    pub fn is_manual(&self) -> bool {
        self.action.kind == "manual"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct ActionSnapshot {
    /// `run`, `http` or `manual`.
    pub kind: String,
    /// A manual step's instructions (masked, as journaled).
    pub instructions: Option<String>,
}

impl Default for ActionSnapshot {
    fn default() -> Self {
        ActionSnapshot {
            kind: "run".into(),
            instructions: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RetriesSnapshot {
    pub attempts: u32,
}

/// A step's go/no-go as planned: who may vote and how many must.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ApprovalSnapshot {
    pub min: u32,
    pub approvers: Vec<String>,
    pub no_self_approval: bool,
    /// A reason is required.
    pub reason: bool,
    /// As journaled (`"10m"`); absent without escalation.
    #[serde(rename = "escalate_after")]
    pub escalate_after_text: Option<String>,
    /// Who an escalation calls in.
    pub escalate_to: Vec<String>,
}

impl ApprovalSnapshot {
    /// When an open go/no-go is escalated.
    pub fn escalate_after(&self) -> Option<Duration> {
        self.escalate_after_text
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
    }

    /// Approvals needed (at least one).
    pub fn needed(&self) -> u32 {
        self.min.max(1)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct GateSnapshot {
    pub id: String,
    pub when: Option<String>,
    pub shadow: bool,
    /// Measurements it takes (0 in journals that do not say).
    pub count: u32,
    #[serde(flatten)]
    pub check: CheckSnapshot,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TriggerSnapshot {
    pub id: String,
    pub action: Option<String>,
    /// How long `fire_if` must hold before it fires, as journaled (`"30s"`).
    #[serde(rename = "for")]
    pub hold_for_text: Option<String>,
    #[serde(flatten)]
    pub check: CheckSnapshot,
}

/// What a gate or trigger measures: source, query and condition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CheckSnapshot {
    pub source: String,
    pub condition_text: String,
    pub probe: Option<Value>,
}

impl TriggerSnapshot {
    /// How long `fire_if` must hold before it fires (zero: at once).
    pub fn hold_for(&self) -> Option<Duration> {
        self.hold_for_text
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
    }
}

impl CheckSnapshot {
    /// The query as shown: the query text, the URL, or the monitor id.
    pub fn query(&self) -> Option<String> {
        let probe = self.probe.as_ref()?;
        let q = probe
            .get("query")
            .or_else(|| probe.get("url"))
            .or_else(|| probe.get("monitor"))?;
        Some(q.as_str().map_or_else(|| q.to_string(), str::to_string))
    }
}

impl PlanSnapshot {
    /// The typed view of a journaled plan; whatever does not fit stays at
    /// its default.
    pub fn from_value(plan: &Value) -> PlanSnapshot {
        PlanSnapshot::deserialize(plan).unwrap_or_else(|_| PlanSnapshot {
            format_version: plan
                .get("format_version")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            runbook: plan
                .get("runbook")
                .and_then(|r| RunbookSnapshot::deserialize(r).ok())
                .unwrap_or_default(),
            ..PlanSnapshot::default()
        })
    }

    pub fn trigger(&self, id: &str) -> Option<&TriggerSnapshot> {
        self.runbook.triggers.iter().find(|t| t.id == id)
    }

    pub fn outcome(&self, name: &str) -> Option<&OutcomeSnapshot> {
        self.runbook.outcomes.iter().find(|o| o.name == name)
    }

    pub fn step(&self, id: &str) -> Option<&StepSnapshot> {
        self.runbook.steps.iter().find(|s| s.id == id)
    }

    pub fn step_ids(&self) -> impl Iterator<Item = &str> {
        self.runbook.steps.iter().map(|s| s.id.as_str())
    }

    /// The environment variables that hold the run's secrets.
    pub fn secret_vars(&self) -> impl Iterator<Item = &str> {
        self.runbook
            .secrets
            .values()
            .map(|s| s.env.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A list whose elements that do not fit are skipped, so one odd step does
/// not hide the others.
#[expect(
    clippy::unnecessary_wraps,
    reason = "serde's deserialize_with signature; this one never fails"
)]
fn tolerant_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let values = Option::<Vec<Value>>::deserialize(deserializer)
        .ok()
        .flatten()
        .unwrap_or_default();
    Ok(values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_views_need_and_tolerates_the_rest() {
        let plan = serde_json::json!({
            "format_version": 1,
            "production": true,
            "runbook": {
                "name": "pay",
                "owner": "team-payments",
                "teams": {"sre": ["alice", "bob"]},
                "steps": [
                    {"id": "a", "action": {"kind": "manual", "instructions": "x"},
                     "timeout": "2m", "retries": {"attempts": 2, "backoff": "1s"},
                     "rollback": null, "approval": {"min": 2, "approvers": ["team:sre"]},
                     "gates": [{"id": "g", "when": "after", "shadow": true, "source": "prom",
                                "condition_text": "< 1", "probe": {"probe": "query", "query": "up"}}],
                     "future_field": [1, 2]},
                    "not a step",
                    {"id": "b", "needs": ["a"], "rollback": {"command": "undo", "kind": "run"}}
                ],
                "triggers": [{"id": "t", "action": "rollback", "source": "prom",
                              "condition_text": "> 0.5", "probe": {"monitor": 42}}]
            }
        });
        let p = PlanSnapshot::from_value(&plan);
        assert_eq!(p.format_version, 1);
        assert!(p.production);
        assert_eq!(p.step_ids().collect::<Vec<_>>(), ["a", "b"]);
        let a = p.step("a").unwrap();
        assert!(a.is_manual());
        assert_eq!(a.timeout(), Some(Duration::from_mins(2)));
        assert_eq!(a.retries.attempts, 2);
        assert!(!a.has_rollback());
        assert_eq!(a.approval.as_ref().unwrap().needed(), 2);
        assert_eq!(a.gates[0].check.query().as_deref(), Some("up"));
        assert!(p.step("b").unwrap().has_rollback());
        assert_eq!(p.step("b").unwrap().action.kind, "run");
        assert_eq!(p.runbook.triggers[0].check.query().as_deref(), Some("42"));
        assert_eq!(p.runbook.teams["sre"], ["alice", "bob"]);
        assert_eq!(p.secret_vars().count(), 0);
        let with = PlanSnapshot::from_value(&serde_json::json!({ "runbook": { "secrets": {
            "tok": { "env": "TOKEN", "required": true },
        }}}));
        assert_eq!(with.secret_vars().collect::<Vec<_>>(), ["TOKEN"]);
    }

    #[test]
    fn an_unreadable_plan_is_an_empty_one() {
        assert_eq!(
            PlanSnapshot::from_value(&serde_json::json!("x")),
            PlanSnapshot::default()
        );
        let odd = PlanSnapshot::from_value(
            &serde_json::json!({"production": "yes", "runbook": {"name": "n"}}),
        );
        assert_eq!(odd.runbook.name, "n");
    }
}
