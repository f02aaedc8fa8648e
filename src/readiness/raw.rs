//! The checklist file as written (`checks/*.toml`): serde structs mirroring
//! the TOML, spans on every value a check can reject, `deny_unknown_fields`
//! everywhere. `[vars]`, `[env.*]`, `[secrets]` and `[sources.*]` are the
//! runbook's own types, so a source is declared the same way in both files.
//! These types are also the source of `cutover schema checklist`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::runbook::load::{Sections, ValueCheck, check_as};
use crate::runbook::model::NoData;
use crate::runbook::raw::{RawEnv, RawSecret, RawSource};
use crate::runbook::scalar::Scalar;
use crate::runbook::spanned::Sp;

/// A readiness checklist (`checks/*.toml`), evaluated by `cutover check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cutover readiness checklist")]
pub struct RawChecklist {
    pub checklist: RawChecklistMeta,
    /// Variable defaults, used as `{{ vars.NAME }}`; `[env.NAME.vars]` overlays them (`--env`).
    #[serde(default)]
    pub vars: IndexMap<String, Sp<Scalar>>,
    /// Environment overlays, selected with `cutover check --env NAME`.
    #[serde(default)]
    pub env: IndexMap<String, RawEnv>,
    /// Secrets, read from environment variables, used as `{{ secrets.NAME }}`.
    #[serde(default)]
    pub secrets: IndexMap<String, RawSecret>,
    /// Signal sources that items query, by name (exactly as in a runbook).
    #[serde(default)]
    pub sources: IndexMap<String, RawSource>,
    /// The items; each is automated (`source`, `run`, `http`, `dry_run_passed`) or attested.
    #[serde(default)]
    pub item: Vec<RawItem>,
    /// Waivers: a failing item that is knowingly accepted until `expires`.
    #[serde(default)]
    pub waiver: Vec<RawWaiver>,
}

/// `[checklist]`: what launch this checklist gates.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChecklistMeta {
    pub name: Sp<String>,
    pub owner: Option<Sp<String>>,
    /// The planned launch: `YYYY-MM-DD` or an RFC 3339 UTC time.
    pub launch: Option<Sp<String>>,
    pub description: Option<String>,
}

/// `[[item]]`: one thing that must be true before launch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    /// Unique id: letters, digits, `-` and `_`.
    pub id: Sp<String>,
    pub title: Sp<String>,
    /// Who answers for this item (a person or a team).
    pub owner: Option<Sp<String>>,
    /// `blocker` (default: a failure means not ready) or `warning`.
    #[schemars(extend("enum" = ["blocker", "warning", null]))]
    pub severity: Option<Sp<String>>,
    /// Free-form grouping, e.g. `operations`, `observability`.
    pub category: Option<String>,

    /// Signal check: the source to ask (`[sources.NAME]`).
    pub source: Option<Sp<String>>,
    /// PromQL, a Datadog metric query, or (command source) a command line.
    pub query: Option<Sp<String>>,
    /// A Datadog monitor id: passes only while the monitor is `OK`.
    pub monitor: Option<Sp<i64>>,
    /// HTTP source probe URL (absolute, or relative to the source's `url`).
    pub url: Option<Sp<String>>,
    /// HTTP source probe method (default GET).
    pub method: Option<Sp<String>>,
    /// What the value is: `status` or `latency` (http), `exit_code` or `stdout` (command).
    #[schemars(extend("enum" = ["status", "latency", "stdout", "exit_code", null]))]
    pub read: Option<Sp<String>>,
    /// HTTP source probe: a JSON pointer into the response body.
    pub json: Option<Sp<String>>,
    /// HTTP source probe: a regex on the response body.
    pub regex: Option<Sp<String>>,
    /// What a query with no data counts as: `fail`, `pass` or `inconclusive` (default; fails the item).
    pub no_data: Option<NoData>,
    /// The pass condition, e.g. `< 0.001`, `max <= 250`, `between 1 and 5`.
    pub pass_if: Option<Sp<String>>,

    /// Command check: a shell command line; exit status 0 passes.
    pub run: Option<Sp<String>>,
    /// HTTP check: a request whose status must be as expected.
    pub http: Option<RawHttpCheck>,
    /// Journal check: a dry run of this runbook succeeded in this environment recently.
    pub dry_run_passed: Option<RawDryRunPassed>,
    /// A person's attestation (written by `cutover attest`). An item with no
    /// check at all is an attestation item that fails until attested.
    pub attested: Option<RawAttested>,

    /// Give up on the check after this long (default 30s for `run`, else the source's timeout).
    pub timeout: Option<Sp<String>>,
}

/// `http = { url = "...", expect_status = 200 }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttpCheck {
    pub url: Sp<String>,
    /// Default `GET`.
    pub method: Option<Sp<String>>,
    /// The status that passes (default: any 2xx).
    pub expect_status: Option<Sp<i64>>,
}

/// `dry_run_passed = { runbook = "payments-db-cutover", env = "staging", within = "7d" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDryRunPassed {
    /// The runbook's `name`, or its file path as given to `cutover run`.
    pub runbook: Sp<String>,
    /// The `--env` of the dry run (default: any).
    pub env: Option<Sp<String>>,
    /// How recent the dry run must be, e.g. `7d`.
    pub within: Sp<String>,
    /// Where run journals are (default `.cutover/runs`, relative to the current directory).
    pub runs_dir: Option<Sp<String>>,
}

/// `attested = { by = "...", at = "...", evidence = "https://...", expires = "..." }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAttested {
    pub by: Sp<String>,
    /// When: `YYYY-MM-DD` or an RFC 3339 UTC time.
    pub at: Sp<String>,
    /// A link to the evidence (a ticket, a report, a dashboard).
    pub evidence: Sp<String>,
    /// After this the attestation no longer counts (`YYYY-MM-DD` or RFC 3339).
    pub expires: Option<Sp<String>>,
}

/// `[[waiver]]`: accept a failing item until `expires`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWaiver {
    /// The item's `id`.
    pub item: Sp<String>,
    pub reason: Sp<String>,
    pub approver: Sp<String>,
    /// `YYYY-MM-DD` or RFC 3339; an expired waiver no longer counts.
    pub expires: Sp<String>,
    /// When the waiver was granted.
    pub at: Option<Sp<String>>,
}

impl Sections for RawChecklist {
    const KEYS: &'static [&'static str] = &[
        "checklist",
        "vars",
        "env",
        "secrets",
        "sources",
        "item",
        "waiver",
    ];

    fn section(name: &str) -> Option<ValueCheck> {
        Some(match name {
            "checklist" => check_as::<RawChecklistMeta>,
            "vars" => check_as::<IndexMap<String, Sp<Scalar>>>,
            "env" => check_as::<IndexMap<String, RawEnv>>,
            "secrets" => check_as::<IndexMap<String, RawSecret>>,
            "sources" => check_as::<IndexMap<String, RawSource>>,
            "item" => check_as::<Vec<RawItem>>,
            "waiver" => check_as::<Vec<RawWaiver>>,
            _ => return None,
        })
    }

    fn element(name: &str) -> Option<ValueCheck> {
        Some(match name {
            "item" => check_as::<RawItem>,
            "waiver" => check_as::<RawWaiver>,
            _ => return None,
        })
    }
}
