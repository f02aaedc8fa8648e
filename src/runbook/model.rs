//! The typed, validated runbook. Values here have been checked by
//! `runbook::validate`; strings may still hold `{{ ... }}` templates until
//! `plan` resolves them (the resolved plan uses these same types).

use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbook {
    pub name: String,
    pub owner: Option<String>,
    /// Change ticket, shown in the report.
    pub change: Option<String>,
    pub description: Option<String>,
    /// Steps that may run at the same time (default 1: strictly one at a time).
    pub max_parallel: usize,
    /// Readiness checklists that must pass before the first step (paths relative to the runbook).
    pub requires: Vec<String>,
    /// The default env (no `--env`) is production (`[runbook] production`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub production: bool,
    /// In a production env, a name given with `--as` / `CUTOVER_ACTOR`
    /// counts as the person who votes or drives (a shared operator account),
    /// journaled as declared, not verified. Without it, production counts
    /// the login user and refuses a name given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub declared_identities: bool,
    pub vars: IndexMap<String, String>,
    pub envs: IndexMap<String, EnvOverlay>,
    pub secrets: IndexMap<String, SecretSpec>,
    pub sources: IndexMap<String, Source>,
    pub notify: IndexMap<String, Notify>,
    /// Team members by team name, for `team:NAME` approvers.
    pub teams: IndexMap<String, Vec<String>>,
    pub triggers: Vec<Trigger>,
    pub steps: Vec<Step>,
    /// `[schedule]`: the default env's planned start, window and freezes.
    /// Left out of the plan JSON when empty, so plan hashes of runbooks
    /// without one stay what they were.
    #[serde(default, skip_serializing_if = "Schedule::is_empty")]
    pub schedule: Schedule,
    /// After the last step, keep watching triggers before the run ends. In a
    /// plan: the env's, its overlay applied. Left out of the plan JSON when
    /// absent (and `outcomes` when empty), so plan hashes of runbooks that
    /// do not use them stay what they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypercare: Option<Hypercare>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<OutcomeSpec>,
    /// `[journal] url`: the shared journal runs go to. Never in the plan
    /// (it holds a password, and where a run is kept is not what it runs).
    #[serde(skip)]
    pub journal_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct EnvOverlay {
    pub vars: IndexMap<String, String>,
    /// A production env refuses `--yes` auto-approval.
    pub production: bool,
    /// `[env.NAME.schedule]`: replaces the runbook's `[schedule]` in this env.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// `[env.NAME.hypercare]`: what it changes of `[hypercare]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypercare: Option<HypercareOverlay>,
}

/// When a cutover is planned and when it may run. Times are RFC 3339 in
/// UTC (`2026-12-12T22:00:00Z`), whatever offset the runbook wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Schedule {
    /// The planned start: a real run started before it waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The change window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Freeze periods, inline ones and those of freeze files, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<FreezePeriod>,
}

impl Schedule {
    pub fn is_empty(&self) -> bool {
        self.start.is_none() && self.window.is_none() && self.freeze.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreezePeriod {
    pub start: String,
    pub end: String,
    pub reason: String,
    /// The freeze file it comes from (as the runbook names it), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// `[hypercare]`: after the last step the run keeps watching triggers for
/// `duration`, then ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypercare {
    #[serde(with = "crate::runbook::duration_serde")]
    pub duration: Duration,
    /// The triggers that stay armed; `None`: every trigger whose `until` is unset.
    pub triggers: Option<Vec<String>>,
}

impl Hypercare {
    /// Whether `t` stays armed in hypercare.
    pub fn watches(&self, t: &Trigger) -> bool {
        match &self.triggers {
            Some(ids) => ids.contains(&t.id),
            None => t.until.is_none(),
        }
    }

    /// `[hypercare]` with an env's overlay applied: each field the overlay
    /// sets wins; `None` when neither gives a duration.
    pub fn overlaid(
        base: Option<&Hypercare>,
        overlay: Option<&HypercareOverlay>,
    ) -> Option<Hypercare> {
        let Some(o) = overlay else {
            return base.cloned();
        };
        Some(Hypercare {
            duration: o.duration.or(base.map(|b| b.duration))?,
            triggers: o
                .triggers
                .clone()
                .or_else(|| base.and_then(|b| b.triggers.clone())),
        })
    }
}

/// `[env.NAME.hypercare]`: the fields it sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HypercareOverlay {
    #[serde(with = "crate::runbook::duration_serde::option")]
    pub duration: Option<Duration>,
    pub triggers: Option<Vec<String>>,
}

/// When an outcome is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeAt {
    /// At the end of hypercare (without hypercare: when the last step is done).
    End,
    /// This long after the last step is done.
    After(Duration),
}

impl Serialize for OutcomeAt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OutcomeAt::End => s.serialize_str("end"),
            OutcomeAt::After(d) => s.collect_str(&humantime::format_duration(*d)),
        }
    }
}

/// `[[outcome]]`: a success metric measured after the launch (`cutover
/// verify`) against its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeSpec {
    pub name: String,
    pub description: Option<String>,
    /// What is measured; its condition (`condition_text`) is the target.
    #[serde(flatten)]
    pub check: Check,
    pub at: OutcomeAt,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretSpec {
    /// Environment variable holding the value.
    pub env: String,
    /// `false` lets a missing variable resolve to an empty string instead of an error.
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub name: String,
    /// Per-query timeout.
    #[serde(with = "crate::runbook::duration_serde")]
    pub timeout: Duration,
    pub headers: IndexMap<String, String>,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    Prometheus {
        url: String,
        auth: Option<Auth>,
    },
    Datadog {
        /// API base URL: `https://api.<site>` unless `url` overrides it.
        url: String,
        api_key: String,
        app_key: Option<String>,
        /// Which metric query endpoint `query` probes use (`api = "v1" | "v2"`, default v1).
        api: DatadogApi,
        /// Metric queries ask for `[now - lookback, now]` and read the last point.
        #[serde(with = "crate::runbook::duration_serde")]
        lookback: Duration,
    },
    Http {
        /// Base URL that relative probe URLs are joined to.
        url: Option<String>,
        auth: Option<Auth>,
    },
    Command {
        /// Shell used to run query command lines (default `/bin/sh`).
        shell: String,
    },
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Prometheus { .. } => "prometheus",
            SourceKind::Datadog { .. } => "datadog",
            SourceKind::Http { .. } => "http",
            SourceKind::Command { .. } => "command",
        }
    }
}

/// Datadog metric query endpoint: `v1` is `GET /api/v1/query` (from/to,
/// `pointlist`), `v2` is `POST /api/v2/query/timeseries` (formulas, `values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatadogApi {
    #[default]
    V1,
    V2,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    Basic { username: String, password: String },
    Bearer { token: String },
}

/// The go/no-go a production run started outside its change window
/// (`cutover run --override-window`) waits for before its first step:
/// `cutover approve RUN window-override`. No step may be named so.
pub const WINDOW_GATE: &str = "window-override";

/// What a `[notify.NAME]` webhook can be told about (its `events` filter).
pub const NOTIFY_EVENTS: &[&str] = &[
    "run_started",
    "run_finished",
    "approval_pending",
    "trigger_fired",
    "rollback_started",
    "rollback_finished",
    "approval_granted",
    "approval_rejected",
    "approval_escalated",
    "manual_pending",
    "step_failed",
    "milestone",
    "paused",
    "resumed",
    "note",
    "overrun_projected",
];

/// Kinds sent only to a channel whose `events` names them (every note of a
/// busy night would drown the rest).
pub const NOTIFY_OPT_IN: &[&str] = &["note"];

/// What a `pagerduty` channel is sent: it pages on these and resolves the
/// page when the run completes or its rollback finishes.
pub const PAGERDUTY_EVENTS: &[&str] = &["trigger_fired", "rollback_finished", "run_finished"];

/// The PagerDuty Events API v2 endpoint (`url` overrides it).
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notify {
    pub name: String,
    /// `generic` (JSON POST), `slack` (incoming webhook) or `pagerduty`.
    pub kind: NotifyKind,
    pub url: String,
    /// `pagerduty`: the integration's routing key (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Event kinds to send; empty means all but the opt-in ones ([`NOTIFY_OPT_IN`]).
    pub events: Vec<String>,
}

impl Notify {
    /// Whether this channel is to be told about `about` (a [`NOTIFY_EVENTS`] kind).
    pub fn wants(&self, about: &str) -> bool {
        if self.kind == NotifyKind::Pagerduty && !PAGERDUTY_EVENTS.contains(&about) {
            return false;
        }
        if self.events.is_empty() {
            !NOTIFY_OPT_IN.contains(&about)
        } else {
            self.events.iter().any(|e| e == about)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    Generic,
    Slack,
    Pagerduty,
}

/// What a gate or trigger measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
pub enum Probe {
    /// A query in the source's language: PromQL, a Datadog metric query, or a command line.
    Query { query: String },
    /// A Datadog monitor's overall state; passes only on `OK`.
    Monitor { id: u64 },
    /// An HTTP request; `url` is absolute or relative to the source's `url`.
    Http {
        url: String,
        method: String,
        read: HttpRead,
    },
}

impl Probe {
    /// The text shown to people (and journaled) for this probe.
    pub fn describe(&self) -> String {
        match self {
            Probe::Query { query } => query.clone(),
            Probe::Monitor { id } => format!("monitor {id}"),
            Probe::Http { url, method, read } => format!("{method} {url} ({})", read.describe()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpRead {
    /// The response status code.
    Status,
    /// Seconds from request to full response.
    Latency,
    /// A number at this JSON pointer in the body.
    JsonPointer(String),
    /// The first capture group (or whole match) of this regex in the body, as a
    /// number; no match is no data.
    Regex(String),
}

impl HttpRead {
    pub fn describe(&self) -> String {
        match self {
            HttpRead::Status => "status".into(),
            HttpRead::Latency => "latency".into(),
            HttpRead::JsonPointer(p) => format!("json {p}"),
            HttpRead::Regex(r) => format!("regex {r}"),
        }
    }
}

/// For a `command` source: what the value of a query is.
/// (Carried on the gate because one command source serves many probes.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandRead {
    /// The last number printed on stdout (`NaN` is inconclusive; non-zero exit is an error).
    #[default]
    Stdout,
    /// The exit status as the value (never an error).
    ExitCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    Fail,
    Pass,
    Inconclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateWhen {
    Before,
    After,
}

/// A signal measured and judged by a condition: the common part of gates and triggers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub source: String,
    pub probe: Probe,
    pub command_read: CommandRead,
    /// The condition as written, for display.
    pub condition_text: String,
    #[serde(skip)]
    pub condition: Condition,
    #[serde(with = "crate::runbook::duration_serde")]
    pub interval: Duration,
    pub no_data: NoData,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// `name` if given, else `before-N` / `after-N` (1-based within the step).
    pub id: String,
    pub when: GateWhen,
    #[serde(flatten)]
    pub check: Check,
    /// Measurements to take.
    pub count: u32,
    pub failure_limit: u32,
    /// Consecutive errors tolerated.
    pub error_limit: u32,
    pub inconclusive_limit: u32,
    #[serde(with = "crate::runbook::duration_serde::option")]
    pub timeout: Option<Duration>,
    /// Measure and journal, never enforce.
    pub shadow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    Rollback,
    Pause,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    Pause,
    Ignore,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    pub id: String,
    #[serde(flatten)]
    pub check: Check,
    /// `fire_if` must hold this long before the trigger fires (zero: at once).
    #[serde(rename = "for", with = "crate::runbook::duration_serde")]
    pub hold_for: Duration,
    pub action: TriggerAction,
    pub on_error: OnError,
    /// Watch from the start of this step (default: the run's start).
    pub from: Option<String>,
    /// Stop watching when this step is done (default: the run's end).
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Rollback,
    Ask,
    Pause,
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DryRunMode {
    /// Do not run; report "would run".
    Skip,
    /// The command is read-only: run it in a dry run too.
    Run,
    /// Do not run; pretend it succeeded so later steps and gates are exercised.
    Simulate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retries {
    /// Extra attempts after the first.
    pub attempts: u32,
    #[serde(with = "crate::runbook::duration_serde")]
    pub backoff: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    Pause,
    Abort,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub min: u32,
    /// People (`alice`) or groups (`team:sre`) allowed to approve; empty means anyone.
    pub approvers: Vec<String>,
    pub no_self_approval: bool,
    /// A reason must be given.
    pub reason: bool,
    #[serde(with = "crate::runbook::duration_serde::option")]
    pub timeout: Option<Duration>,
    pub on_timeout: OnTimeout,
    /// What a rejection does.
    pub on_reject: OnReject,
    /// A go/no-go still open this long after the run started waiting for
    /// it is escalated (a reminder and an escalation, journaled).
    #[serde(
        default,
        with = "crate::runbook::duration_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub escalate_after: Option<Duration>,
    /// Who the escalation calls in (names or `team:NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_to: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnReject {
    Rollback,
    Abort,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpAction {
    pub method: String,
    pub url: String,
    pub headers: IndexMap<String, String>,
    pub body: Option<String>,
    /// Acceptable statuses (default: any 2xx).
    pub expect_status: Vec<u16>,
}

/// What a step (or its rollback) does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A shell command line, run with `sh -c` in its own process group.
    Run {
        command: String,
    },
    Http(HttpAction),
    /// Instructions for a person, who marks the step done.
    Manual {
        instructions: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    pub description: Option<String>,
    /// Who owns it: a person or `team:NAME`. Left out of the plan JSON when
    /// unset, so plan hashes of runbooks that do not use it stay what they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Resolved dependencies: explicit `needs`, or the step before.
    pub needs: Vec<String>,
    pub action: Action,
    #[serde(with = "crate::runbook::duration_serde::option")]
    pub timeout: Option<Duration>,
    /// How long it is planned to take (`expected`). Left out of the plan
    /// JSON when not given, so plan hashes stay what they were.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::runbook::duration_serde::option"
    )]
    pub expected: Option<Duration>,
    /// Grace between SIGTERM and SIGKILL.
    #[serde(with = "crate::runbook::duration_serde")]
    pub grace: Duration,
    pub retries: Retries,
    pub rollback: Option<Action>,
    /// Also roll back this step when its action started but it is not done
    /// (failed, stopped, or in flight at a crash): its rollback runs first.
    /// Left out of the plan JSON when false, so plan hashes of runbooks that
    /// do not use it stay what they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback_partial: bool,
    pub on_failure: OnFailure,
    pub idempotent: bool,
    pub dry_run: DryRunMode,
    pub approval: Option<Approval>,
    pub gates: Vec<Gate>,
    /// Extra environment for commands.
    pub env: IndexMap<String, String>,
    /// Working directory for commands (relative to the runbook's directory).
    pub workdir: Option<String>,
    /// Journaled as a milestone when the step is done (not in a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
}

impl Step {
    pub fn gates(&self, when: GateWhen) -> impl Iterator<Item = &Gate> {
        self.gates.iter().filter(move |g| g.when == when)
    }
}

impl Action {
    /// Whether running this can change things: not a manual step (a person
    /// acts and undoes), not a command marked read-only (`dry_run = "run"`),
    /// not an HTTP GET, HEAD or OPTIONS.
    pub fn mutates(&self, dry_run: DryRunMode) -> bool {
        match self {
            Action::Manual { .. } => false,
            Action::Http(h) if ["GET", "HEAD", "OPTIONS"].contains(&h.method.as_str()) => false,
            Action::Run { .. } | Action::Http(_) => dry_run != DryRunMode::Run,
        }
    }
}
