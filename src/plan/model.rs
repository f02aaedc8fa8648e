//! The plan and what it is made from: a runbook resolved for one
//! environment (`Plan`), the overrides it was built with, what building a
//! file gives (`Build`), its errors, and its hash (what a later `run --plan`
//! compares against).

use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::fill::Piece;
use crate::diag::{Diagnostic, SourceFile};
use crate::runbook::model::{Runbook, Schedule};
use crate::secrets::Masker;

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The runbook did not load or validate; the diagnostics say why.
    #[error("`{path}` is invalid ({errors} error(s))")]
    Invalid { path: String, errors: usize },
    #[error("secret `{name}` needs environment variable `{var}`, which is not set")]
    MissingSecret { name: String, var: String },
    #[error(
        "secret `{name}` (environment variable `{var}`) is only {len} character(s): too short to mask in output without mangling it, so it would be shown; real keys and tokens are longer"
    )]
    SecretTooShort {
        name: String,
        var: String,
        len: usize,
    },
    #[error("unknown environment `{name}`{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownEnv { name: String, help: Option<String> },
    #[error("`--set {0}` is not of the form KEY=VALUE")]
    BadSet(String),
    #[error("`--set {key}=...` names no variable of the runbook{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownSet { key: String, help: Option<String> },
    #[error("in {place}: {message}")]
    Template { place: String, message: String },
    #[error(
        "the runbook changed since the plan `{plan}` was made (plan hash {expected}, now {actual}); review it again with `cutover plan`{}",
        .changes.iter().fold(String::new(), |mut s, c| { s.push_str("\n  - "); s.push_str(c); s })
    )]
    Changed {
        plan: String,
        expected: String,
        actual: String,
        /// What differs, one line each (`plan::diff`).
        changes: Vec<String>,
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
    /// This env's schedule: `[env.NAME.schedule]` if it has one, else the
    /// runbook's `[schedule]`. Left out when empty (plan hashes stay).
    #[serde(default, skip_serializing_if = "Schedule::is_empty")]
    pub schedule: Schedule,
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
    /// Every variable as text and the secrets it uses, so that in a shell
    /// command a secret inside a variable comes from the environment too.
    #[serde(skip)]
    pub(crate) var_pieces: IndexMap<String, Vec<Piece>>,
}

/// Where a plan's variables come from besides the runbook: the `[env.NAME]`
/// overlay to apply, and `KEY=VALUE` overrides (`--set`), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub env: Option<String>,
    pub set: Vec<String>,
}

/// A runbook file built into a plan: the file and what loading it found
/// (errors and warnings, for the caller to show), and the plan, or why
/// there is none.
#[derive(Debug)]
pub struct Build {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    pub plan: Result<Plan, PlanError>,
}

impl Plan {
    /// The plan as JSON with every secret masked: what `plan --format json`
    /// prints. Strings are masked in the tree, before they are serialized.
    pub fn to_masked_json(&self) -> serde_json::Value {
        self.masker.masked_json(self)
    }

    pub(super) fn compute_hash(&self) -> String {
        let mut value = self.to_masked_json();
        value["hash"] = serde_json::Value::String(String::new());
        let text = serde_json::to_string(&value).expect("serializes");
        format!("sha256:{}", hex(&Sha256::digest(text.as_bytes())))
    }

    /// Refuse to go on if the runbook changed since `plan_file` was reviewed.
    pub fn check_against(&self, plan_file: &Path) -> Result<(), PlanError> {
        let bad = |message: String| PlanError::BadPlanFile {
            path: plan_file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(plan_file).map_err(|e| bad(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a plan JSON file: {e}")))?;
        let expected = value
            .get("hash")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                bad("it has no `hash` (write it with `cutover plan --format json -o FILE`)".into())
            })?;
        if expected == self.hash {
            Ok(())
        } else {
            Err(PlanError::Changed {
                plan: plan_file.display().to_string(),
                expected: expected.to_string(),
                actual: self.hash.clone(),
                changes: super::diff::changes(&value, &self.to_masked_json()),
            })
        }
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
