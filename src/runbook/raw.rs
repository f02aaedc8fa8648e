//! The runbook file as written: serde structs mirroring the TOML, with spans
//! on every value a check can reject and `deny_unknown_fields` everywhere.
//! These types are also the source of `cutover schema`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::model::{
    DryRunMode, GateWhen, NoData, NotifyKind, OnError, OnFailure, OnReject, OnTimeout,
    TriggerAction,
};
use super::scalar::Scalar;
use super::spanned::Sp;

/// A cutover runbook (`runbooks/*.toml`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cutover runbook")]
pub struct RawRunbook {
    pub runbook: RawMeta,
    /// Variable defaults, used as `{{ vars.NAME }}`; `[env.NAME.vars]` overlays them, `--set` overrides both.
    #[serde(default)]
    pub vars: IndexMap<String, Sp<Scalar>>,
    /// Environment overlays, selected with `--env NAME`.
    #[serde(default)]
    pub env: IndexMap<String, RawRunbookEnv>,
    /// Secrets, read from environment variables at plan time, used as `{{ secrets.NAME }}`.
    #[serde(default)]
    pub secrets: IndexMap<String, RawSecret>,
    /// Signal sources that gates and triggers query, by name.
    #[serde(default)]
    pub sources: IndexMap<String, RawSource>,
    /// Webhooks told about the run.
    #[serde(default)]
    pub notify: IndexMap<String, RawNotify>,
    /// Who belongs to which team, for `approvers = ["team:NAME"]`: `sre = ["alice", "bob"]`.
    #[serde(default)]
    pub teams: IndexMap<String, Vec<Sp<String>>>,
    /// Rollback triggers, watched in the background for the whole run.
    #[serde(default)]
    pub trigger: Vec<RawTrigger>,
    /// The steps, in order (a step needs the one before it unless `needs` says otherwise).
    #[serde(default)]
    pub step: Vec<RawStep>,
    /// When the cutover is planned and when it may run: planned start, change
    /// window, freeze periods. `[env.NAME.schedule]` replaces it for that env.
    pub schedule: Option<RawSchedule>,
    /// After the last step: keep watching triggers this long before the run ends.
    pub hypercare: Option<RawHypercare>,
    /// Success metrics measured after the launch against a target (`cutover verify`).
    #[serde(default)]
    pub outcome: Vec<RawOutcome>,
    /// Where runs of this runbook are journaled, when not in a local file.
    pub journal: Option<RawJournal>,
}

/// `[journal]`: the shared journal runs of this runbook go to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJournal {
    /// The shared journal in PostgreSQL, `postgres://USER@HOST:PORT/DB`;
    /// its password belongs in a secret: `url = "{{ secrets.journal_url }}"`.
    /// `--journal-url` and `CUTOVER_JOURNAL_URL` win over it.
    pub url: Option<Sp<String>>,
}

/// `[schedule]`: the planned start, the change window and the freeze periods.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Planned start, RFC 3339 with its offset (`2026-12-12T22:00:00Z`): a
    /// real run started before it waits for it, as with `cutover run --at`.
    pub start: Option<Sp<String>>,
    /// The change window: a run starts inside it, and its planned end must
    /// not fall past `end` (else it is refused unless `--override-window`).
    pub window: Option<RawWindow>,
    /// Freeze periods: no run starts in one or is planned to run into one.
    /// Each entry is a freeze file's path (relative to the runbook; a file of
    /// `[[freeze]]` tables) or an inline `{ start, end, reason }`.
    #[serde(default)]
    pub freeze: Vec<Sp<RawFreeze>>,
}

/// `window = { start = "...", end = "..." }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// When the window opens (RFC 3339 with its offset).
    pub start: Sp<String>,
    /// When it closes (RFC 3339 with its offset).
    pub end: Sp<String>,
}

/// A freeze period: no change from `start` to `end`, and why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFreezePeriod {
    /// RFC 3339 with its offset.
    pub start: Sp<String>,
    /// RFC 3339 with its offset.
    pub end: Sp<String>,
    /// Why nothing may change then (shown when a run is refused).
    pub reason: Sp<String>,
}

/// A freeze entry: a freeze file's path, or a period written inline.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum RawFreeze {
    File(String),
    Period(Box<RawFreezePeriod>),
}

impl<'de> Deserialize<'de> for RawFreeze {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawFreeze;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a freeze file's path or a table with `start`, `end` and `reason`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawFreeze, E> {
                Ok(RawFreeze::File(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawFreeze, A::Error> {
                RawFreezePeriod::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|p| RawFreeze::Period(Box::new(p)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A freeze file (`freeze = ["../checks/freeze.toml"]`): the periods a
/// team or company publishes, shared by many runbooks.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cutover freeze file")]
pub struct RawFreezeFile {
    #[serde(default)]
    pub freeze: Vec<RawFreezePeriod>,
}

impl super::load::Sections for RawFreezeFile {
    const KEYS: &'static [&'static str] = &["freeze"];

    fn section(name: &str) -> Option<super::load::ValueCheck> {
        use super::load::check_as;
        (name == "freeze").then_some(check_as::<Vec<RawFreezePeriod>>)
    }

    fn element(name: &str) -> Option<super::load::ValueCheck> {
        use super::load::check_as;
        (name == "freeze").then_some(check_as::<RawFreezePeriod>)
    }
}

/// `[hypercare]`: after the last step the run keeps watching its triggers
/// for `duration`, and ends only then.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHypercare {
    /// How long, e.g. `2h` (`0s`: no hypercare).
    pub duration: Sp<String>,
    /// The triggers that stay armed (default: every trigger whose `until` is unset).
    pub triggers: Option<Vec<Sp<String>>>,
}

/// `[env.NAME.hypercare]`: the fields it sets override `[hypercare]`'s.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnvHypercare {
    /// How long in this env (`0s`: no hypercare here).
    pub duration: Option<Sp<String>>,
    /// The triggers that stay armed in this env.
    pub triggers: Option<Vec<Sp<String>>>,
}

/// `[runbook]`: what this cutover is.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: Sp<String>,
    pub owner: Option<String>,
    /// Change ticket, e.g. `CHG-1234`; shown in the report.
    pub change: Option<String>,
    pub description: Option<String>,
    /// How many independent steps may run at once (default 1).
    pub max_parallel: Option<Sp<i64>>,
    /// Readiness checklists that must pass before the first step.
    #[serde(default)]
    pub requires: Vec<Sp<String>>,
    /// The default env (run without `--env`) is production: `--yes` approves
    /// nothing. An `[env.NAME]` overlay inherits this unless it sets its own.
    #[serde(default)]
    pub production: bool,
    /// In a production env, accept names given with `--as` / `CUTOVER_ACTOR`
    /// as the person (for a shared operator account): votes are journaled
    /// as declared, not verified. Default false: production counts the
    /// login user and refuses a name given.
    pub declared_identities: Option<Sp<bool>>,
}

/// `[env.NAME]`: an environment overlay.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    #[serde(default)]
    pub vars: IndexMap<String, Sp<Scalar>>,
    /// A production environment refuses `--yes` auto-approval. Unset: as the
    /// runbook's `[runbook] production` (default false).
    pub production: Option<bool>,
}

/// A runbook's `[env.NAME]`: an environment overlay.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRunbookEnv {
    #[serde(default)]
    pub vars: IndexMap<String, Sp<Scalar>>,
    /// A production environment refuses `--yes` auto-approval. Unset: as the
    /// runbook's `[runbook] production` (default false).
    pub production: Option<bool>,
    /// This env's hypercare: the fields it sets override `[hypercare]`'s.
    pub hypercare: Option<RawEnvHypercare>,
    /// This env's schedule, in place of the runbook's `[schedule]` (an empty
    /// table: no schedule in this env).
    pub schedule: Option<RawSchedule>,
}

/// What runbooks and checklists share of an `[env.NAME]` table.
pub trait EnvTable {
    fn vars(&self) -> &IndexMap<String, Sp<Scalar>>;
    fn production(&self) -> Option<bool>;
}

impl EnvTable for RawEnv {
    fn vars(&self) -> &IndexMap<String, Sp<Scalar>> {
        &self.vars
    }
    fn production(&self) -> Option<bool> {
        self.production
    }
}

impl EnvTable for RawRunbookEnv {
    fn vars(&self) -> &IndexMap<String, Sp<Scalar>> {
        &self.vars
    }
    fn production(&self) -> Option<bool> {
        self.production
    }
}

/// `[secrets] NAME = { env = "VAR" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    /// The environment variable that holds the value.
    pub env: Sp<String>,
    /// A missing variable is an error at plan time (default true).
    pub required: Option<bool>,
}

/// `[sources.NAME]`: a signal source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// `prometheus`, `datadog`, `http` or `command`.
    #[schemars(extend("enum" = ["prometheus", "datadog", "http", "command"]))]
    pub kind: Sp<String>,
    /// Base URL (prometheus: required; datadog: overrides `site`; http: optional base for probes).
    pub url: Option<Sp<String>>,
    /// Datadog site, e.g. `datadoghq.com`, `datadoghq.eu`, `us5.datadoghq.com`.
    pub site: Option<Sp<String>>,
    /// Datadog API key (use `{{ secrets.NAME }}`).
    pub api_key: Option<Sp<String>>,
    /// Datadog application key (use `{{ secrets.NAME }}`).
    pub app_key: Option<Sp<String>>,
    /// Datadog metric query endpoint: `v1` (`GET /api/v1/query`, default) or
    /// `v2` (`POST /api/v2/query/timeseries`).
    pub api: Option<Sp<String>>,
    /// Datadog metric queries: how far back to look for the last point
    /// (default 5m); longer for metrics that arrive late (cloud integrations).
    pub lookback: Option<Sp<String>>,
    /// Basic auth user (prometheus, http).
    pub username: Option<Sp<String>>,
    /// Basic auth password (prometheus, http; use `{{ secrets.NAME }}`).
    pub password: Option<Sp<String>>,
    /// Bearer token (prometheus, http; use `{{ secrets.NAME }}`).
    pub bearer_token: Option<Sp<String>>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: IndexMap<String, Sp<String>>,
    /// Per-query timeout (default 10s).
    pub timeout: Option<Sp<String>>,
    /// Shell for command queries (default `/bin/sh`).
    pub shell: Option<Sp<String>>,
}

/// `[notify.NAME]`: a webhook, or a PagerDuty service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// `generic` (JSON POST, default), `slack` (incoming webhook, Block Kit)
    /// or `pagerduty` (Events API v2).
    pub kind: Option<NotifyKind>,
    /// Webhook URL (required for `generic` and `slack`); it is treated as a
    /// secret (use `{{ secrets.NAME }}`). For `pagerduty`, the Events API
    /// endpoint (default `https://events.pagerduty.com/v2/enqueue`).
    pub url: Option<Sp<String>>,
    /// `pagerduty`: the integration's routing key (use `{{ secrets.NAME }}`;
    /// treated as a secret).
    pub routing_key: Option<Sp<String>>,
    /// Event kinds to send (default: all but `note`): `run_started`,
    /// `run_finished`, `approval_pending`, `approval_granted`,
    /// `approval_rejected`, `approval_escalated`, `manual_pending`,
    /// `step_failed`, `milestone`, `paused`, `resumed`, `trigger_fired`,
    /// `rollback_started`, `rollback_finished`, `note`.
    #[serde(default)]
    pub events: Vec<Sp<String>>,
}

/// What a gate or trigger measures, borrowed from its raw table: the probe
/// fields gates and triggers share (and readiness items reuse).
#[derive(Clone, Copy)]
pub struct ProbeFields<'a> {
    pub source: &'a Sp<String>,
    pub query: Option<&'a Sp<String>>,
    pub monitor: Option<&'a Sp<i64>>,
    pub url: Option<&'a Sp<String>>,
    pub method: Option<&'a Sp<String>>,
    pub read: Option<&'a Sp<String>>,
    pub json: Option<&'a Sp<String>>,
    pub regex: Option<&'a Sp<String>>,
    pub interval: Option<&'a Sp<String>>,
    pub no_data: Option<NoData>,
}

/// Declares a gate-like raw struct: its own fields followed by the probe
/// fields, written once here because serde's `flatten` cannot be combined
/// with `deny_unknown_fields`.
macro_rules! with_probe {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident : $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// The source to ask (`[sources.NAME]`).
            pub source: Sp<String>,
            /// PromQL, a Datadog metric query, or (command source) a command line.
            pub query: Option<Sp<String>>,
            /// A Datadog monitor id: passes only while the monitor is `OK`.
            pub monitor: Option<Sp<i64>>,
            /// HTTP probe URL (absolute, or relative to the source's `url`).
            pub url: Option<Sp<String>>,
            /// HTTP probe method (default GET).
            pub method: Option<Sp<String>>,
            /// What the value is: `status` or `latency` (http), `exit_code` or `stdout` (command).
            #[schemars(extend("enum" = ["status", "latency", "stdout", "exit_code", null]))]
            pub read: Option<Sp<String>>,
            /// HTTP probe: a JSON pointer into the response body, e.g. `/data/ready`.
            pub json: Option<Sp<String>>,
            /// HTTP probe: a regex on the response body; its first group (or the match) is the value.
            pub regex: Option<Sp<String>>,
            /// Time between measurements (default 10s for gates, 5s for triggers).
            pub interval: Option<Sp<String>>,
            /// What a query with no data counts as: `fail`, `pass` or `inconclusive` (default).
            pub no_data: Option<NoData>,
        }

        impl $name {
            /// The probe fields, for the checks gates and triggers share.
            pub fn probe(&self) -> ProbeFields<'_> {
                ProbeFields {
                    source: &self.source,
                    query: self.query.as_ref(),
                    monitor: self.monitor.as_ref(),
                    url: self.url.as_ref(),
                    method: self.method.as_ref(),
                    read: self.read.as_ref(),
                    json: self.json.as_ref(),
                    regex: self.regex.as_ref(),
                    interval: self.interval.as_ref(),
                    no_data: self.no_data,
                }
            }
        }
    };
}

with_probe! {
/// `[[step.gate]]`: a condition checked before or after a step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Gate name, unique within the step (default `before-N` / `after-N`).
    pub name: Option<Sp<String>>,
    /// `before` or `after` (default) the step's action.
    pub when: Option<GateWhen>,
    /// The pass condition, e.g. `< 0.3`, `max <= 250`, `between 1 and 5`, `<= baseline + 10%`.
    pub pass_if: Option<Sp<String>>,
    /// Measurements to take (default 1).
    pub count: Option<Sp<i64>>,
    /// Failed measurements tolerated (default 0).
    pub failure_limit: Option<Sp<i64>>,
    /// Consecutive errors tolerated (default 3).
    pub error_limit: Option<Sp<i64>>,
    /// Inconclusive measurements tolerated (default 0).
    pub inconclusive_limit: Option<Sp<i64>>,
    /// Give up after this long.
    pub timeout: Option<Sp<String>>,
    /// Measure and journal, never enforce.
    #[serde(default)]
    pub shadow: bool,
}
}

with_probe! {
/// `[[trigger]]`: a rollback trigger.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrigger {
    pub id: Sp<String>,
    /// The firing condition, e.g. `> 0.02`.
    pub fire_if: Option<Sp<String>>,
    /// The condition must hold this long before firing (default: at once).
    #[serde(rename = "for")]
    pub hold_for: Option<Sp<String>>,
    /// `rollback` (default), `pause` or `notify`.
    pub action: Option<TriggerAction>,
    /// When the source errors: `pause` (default), `ignore` or `rollback`.
    pub on_error: Option<OnError>,
    /// Watch from the start of this step.
    pub from: Option<Sp<String>>,
    /// Stop watching once this step is done.
    pub until: Option<Sp<String>>,
}
}

with_probe! {
/// `[[outcome]]`: a success metric measured after the launch, against a target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutcome {
    /// Unique among the outcomes: letters, digits, `-` and `_`.
    pub name: Sp<String>,
    pub description: Option<String>,
    /// The target, in the condition language: `>= 0.995`, `<= baseline + 10%`
    /// (the baseline is measured before the first step).
    pub target: Option<Sp<String>>,
    /// When it is due: a duration after the last step (`24h`), or `end`, the
    /// end of hypercare (default).
    pub at: Option<Sp<String>>,
    /// Who answers for it.
    pub owner: Option<String>,
}
}

/// An HTTP request made by a step or a rollback.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub url: Sp<String>,
    /// Default `POST`.
    pub method: Option<Sp<String>>,
    #[serde(default)]
    pub headers: IndexMap<String, Sp<String>>,
    pub body: Option<Sp<String>>,
    /// Acceptable statuses (default any 2xx).
    #[serde(default)]
    pub expect_status: Vec<Sp<i64>>,
}

/// A step's rollback written as a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawActionTable {
    pub run: Option<Sp<String>>,
    pub http: Option<RawHttp>,
    pub manual: Option<Sp<String>>,
}

/// `retries = { attempts = 2, backoff = "5s" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Extra attempts after the first.
    pub attempts: Sp<i64>,
    /// Wait between attempts (default 1s; doubles each time).
    pub backoff: Option<Sp<String>>,
}

/// `approval = { required = true, ... }`: a go/no-go before the step runs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    #[serde(default = "default_true")]
    pub required: bool,
    /// Approvals needed (default 1).
    pub min: Option<Sp<i64>>,
    /// Who may approve: names or `team:NAME` (default anyone).
    #[serde(default)]
    pub approvers: Vec<Sp<String>>,
    /// The operator driving the run may not approve it.
    #[serde(default)]
    pub no_self_approval: bool,
    /// A reason is required.
    #[serde(default)]
    pub reason: bool,
    pub timeout: Option<Sp<String>>,
    /// `pause` (default) or `abort`.
    pub on_timeout: Option<OnTimeout>,
    /// `rollback` (default) or `abort`.
    pub on_reject: Option<OnReject>,
    /// Escalate a go/no-go still open this long after the run starts
    /// waiting for it (e.g. `10m`): a reminder to the approvers and an
    /// escalation to `escalate_to`, both journaled and notified.
    pub escalate_after: Option<Sp<String>>,
    /// Who the escalation calls in: names or `team:NAME`.
    #[serde(default)]
    pub escalate_to: Vec<Sp<String>>,
}

fn default_true() -> bool {
    true
}

/// `[[step]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: Sp<String>,
    pub description: Option<String>,
    /// Who owns the step: a person (`alice`) or a team (`team:dba`); shown
    /// in the plan, the live view, `status`, the report and notifications.
    pub owner: Option<Sp<String>>,
    /// Steps that must be done first (default: the step before).
    pub needs: Option<Sp<Vec<Sp<String>>>>,
    /// A shell command line.
    pub run: Option<Sp<String>>,
    /// An HTTP request.
    pub http: Option<RawHttp>,
    /// Instructions for a person, who marks the step done.
    pub manual: Option<Sp<String>>,
    /// Kill the step after this long.
    pub timeout: Option<Sp<String>>,
    /// How long the step is planned to take (e.g. `"8m"`): from its
    /// before-gates to its after-gates, a go/no-go wait included. The plan's
    /// offsets, the run's ETA and the report's slip are reckoned with it.
    pub expected: Option<Sp<String>>,
    /// Between SIGTERM and SIGKILL (default 10s).
    pub grace: Option<Sp<String>>,
    pub retries: Option<RawRetries>,
    /// Undo: a shell command line, or a table with `run`, `http` or `manual`.
    pub rollback: Option<Sp<RawRollback>>,
    /// Also run `rollback` when this step started its action but the action
    /// did not finish (failed, timed out, stopped, or in flight at a crash),
    /// before the rollbacks of done steps. Only for a rollback that is safe on
    /// a half-done step. Default false. (A step whose action finished but
    /// whose after-gates failed is rolled back anyway.)
    pub rollback_partial: Option<Sp<bool>>,
    /// `rollback` (default), `ask`, `pause` or `continue`.
    pub on_failure: Option<OnFailure>,
    /// Safe to run twice: a step in flight when a run crashed is re-run on resume.
    #[serde(default)]
    pub idempotent: bool,
    /// In a dry run: `skip` (default), `run` (read-only command) or `simulate`.
    pub dry_run: Option<DryRunMode>,
    pub approval: Option<RawApproval>,
    #[serde(default)]
    pub gate: Vec<RawGate>,
    /// Extra environment variables for the step's commands.
    #[serde(default)]
    pub env: IndexMap<String, Sp<String>>,
    /// Working directory, relative to the runbook's directory.
    pub workdir: Option<Sp<String>>,
    /// A milestone journaled when the step is done, e.g. `traffic-switched`
    /// on the step that moves traffic (as `cutover mark` would).
    pub milestone: Option<Sp<String>>,
}

/// A rollback: a command line, or a table.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum RawRollback {
    Command(String),
    Table(Box<RawActionTable>),
}

impl<'de> Deserialize<'de> for RawRollback {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawRollback;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a command line or a table with `run`, `http` or `manual`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawRollback, E> {
                Ok(RawRollback::Command(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawRollback, A::Error> {
                RawActionTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawRollback::Table(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

impl super::load::Sections for RawRunbook {
    const KEYS: &'static [&'static str] = &[
        "runbook",
        "vars",
        "env",
        "secrets",
        "sources",
        "notify",
        "teams",
        "trigger",
        "step",
        "schedule",
        "hypercare",
        "outcome",
        "journal",
    ];

    fn section(name: &str) -> Option<super::load::ValueCheck> {
        use super::load::check_as;
        Some(match name {
            "runbook" => check_as::<RawMeta>,
            "vars" => check_as::<IndexMap<String, Sp<Scalar>>>,
            "env" => check_as::<IndexMap<String, RawRunbookEnv>>,
            "secrets" => check_as::<IndexMap<String, RawSecret>>,
            "sources" => check_as::<IndexMap<String, RawSource>>,
            "notify" => check_as::<IndexMap<String, RawNotify>>,
            "teams" => check_as::<IndexMap<String, Vec<Sp<String>>>>,
            "trigger" => check_as::<Vec<RawTrigger>>,
            "step" => check_as::<Vec<RawStep>>,
            "schedule" => check_as::<RawSchedule>,
            "hypercare" => check_as::<RawHypercare>,
            "outcome" => check_as::<Vec<RawOutcome>>,
            "journal" => check_as::<RawJournal>,
            _ => return None,
        })
    }

    fn element(name: &str) -> Option<super::load::ValueCheck> {
        use super::load::check_as;
        Some(match name {
            "trigger" => check_as::<RawTrigger>,
            "step" => check_as::<RawStep>,
            "outcome" => check_as::<RawOutcome>,
            _ => return None,
        })
    }
}
