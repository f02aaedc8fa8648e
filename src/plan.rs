//! The resolved plan: templates filled in for one environment, steps ordered
//! into waves, and a hash that a later `run --plan` compares against.

use indexmap::IndexMap;
use serde::Serialize;

use crate::runbook::model::Runbook;
use crate::secrets::Masker;

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The runbook did not load or validate; diagnostics were printed.
    #[error("`{path}` is invalid ({errors} error(s))")]
    Invalid { path: String, errors: usize },
    #[error("secret `{name}` needs environment variable `{var}`, which is not set")]
    MissingSecret { name: String, var: String },
    #[error("unknown environment `{name}`{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownEnv { name: String, help: Option<String> },
    #[error("`--set {0}` is not of the form KEY=VALUE")]
    BadSet(String),
    #[error("`--set {key}=...` names no variable of the runbook{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownSet { key: String, help: Option<String> },
    #[error("in {place}: {message}")]
    Template { place: String, message: String },
    #[error(
        "the runbook changed since the plan `{plan}` was made (plan hash {expected}, now {actual}); review it again with `cutover plan`"
    )]
    Changed {
        plan: String,
        expected: String,
        actual: String,
    },
    #[error("failed to read plan `{path}`: {message}")]
    BadPlanFile { path: String, message: String },
}

/// A runbook resolved for one environment, ready to execute.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub format_version: u32,
    /// SHA-256 over the masked, resolved plan (this struct without `hash`).
    pub hash: String,
    pub runbook_path: String,
    /// SHA-256 of the runbook file's bytes.
    pub runbook_sha256: String,
    pub env: Option<String>,
    pub production: bool,
    /// Every variable after overlays and `--set`.
    pub vars: IndexMap<String, String>,
    /// Steps grouped into waves: every step of a wave only needs steps of earlier waves.
    pub waves: Vec<Vec<String>>,
    /// The runbook with every template resolved. Secrets in commands appear as
    /// `${CUTOVER_SECRET_<NAME>}` references (the value is passed in the environment);
    /// elsewhere they are real values, masked whenever shown.
    pub runbook: Runbook,
    /// Masks every secret value (plain, URL-encoded, base64).
    #[serde(skip)]
    pub masker: Masker,
    /// `(CUTOVER_SECRET_<NAME>, value)` for the environment of step commands.
    #[serde(skip)]
    pub secret_env: Vec<(String, String)>,
}
