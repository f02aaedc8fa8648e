//! The typed, validated checklist. Automated items that take a measurement
//! (`source`, `run`, `http`) keep their `Check` in `signals`, a runbook with
//! no steps whose triggers are those checks (id = item id): the plan resolver
//! then fills their templates and secrets exactly as it does for a runbook,
//! and `SourceSet` measures them with the same masking.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::runbook::model::Runbook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A failure means the launch is not ready.
    Blocker,
    /// Reported; fails the check only with `--fail-on-warn`.
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Checklist {
    pub name: String,
    pub owner: Option<String>,
    pub launch: Option<String>,
    pub description: Option<String>,
    pub items: Vec<Item>,
    pub waivers: Vec<Waiver>,
    /// Sources, secrets, variables and the measured items' checks (as triggers).
    pub signals: Runbook,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub severity: Severity,
    pub category: Option<String>,
    pub kind: ItemKind,
    /// 1-based line of the item's `id` in its file, for annotations.
    pub line: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum ItemKind {
    /// A signal query, a command, or an HTTP probe: one measurement, whose
    /// check is the trigger of `Checklist::signals` with the item's id.
    Measured {
        what: Measured,
    },
    /// A dry run of `runbook` completed in `env` within `within` (read from run journals).
    DryRunPassed {
        runbook: String,
        env: Option<String>,
        within: Duration,
        runs_dir: String,
    },
    Attested(Attestation),
    /// An attestation item nobody has attested yet: fails.
    AwaitingAttestation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measured {
    Signal,
    Run,
    Http,
}

impl ItemKind {
    /// The kind as shown in outputs.
    pub fn name(&self) -> &'static str {
        match self {
            ItemKind::Measured {
                what: Measured::Signal,
            } => "signal",
            ItemKind::Measured {
                what: Measured::Run,
            } => "run",
            ItemKind::Measured {
                what: Measured::Http,
            } => "http",
            ItemKind::DryRunPassed { .. } => "dry_run_passed",
            ItemKind::Attested(_) | ItemKind::AwaitingAttestation => "attested",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attestation {
    pub by: String,
    pub at: SystemTime,
    pub evidence: String,
    pub expires: Option<SystemTime>,
}

#[derive(Debug, Clone)]
pub struct Waiver {
    pub item: String,
    pub reason: String,
    pub approver: String,
    pub expires: SystemTime,
}
