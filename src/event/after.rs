//! What happens after the last step, as journaled: hypercare (the watch that
//! goes on after it), an outcome measured against its target (`cutover
//! verify`), and follow-up action items (`cutover action`).

use serde::{Deserialize, Serialize};

use super::{Measurement, float_serde};

/// The last step is done: the run keeps watching its triggers for
/// `duration_ms` more before it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypercareStarted {
    pub duration_ms: u64,
    /// When it ends unless something ends it first (RFC 3339).
    pub until: String,
    /// The triggers that stay armed, in runbook order.
    pub triggers: Vec<String>,
}

/// Why hypercare ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HypercareEnd {
    /// Its duration passed.
    Elapsed,
    /// A person ended it (`cutover resume RUN --end-hypercare --reason TEXT`).
    EndedEarly,
    /// A rollback started (a trigger fired, or an operator rolled back).
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypercareEnded {
    pub reason: HypercareEnd,
    /// `ended_early`: the person's words (`--reason`, masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The process driving the run handed the hypercare watch to a background
/// process (`--detach-hypercare`), which takes the run over like `cutover
/// resume` and writes what it shows to `log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypercareDetached {
    pub log: String,
    /// The background process's pid (absent in journals before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What a measured outcome says about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    Met,
    Missed,
    /// The source could not be read, or gave no value to judge.
    Unmeasured,
}

impl OutcomeResult {
    pub fn label(self) -> &'static str {
        match self {
            OutcomeResult::Met => "met",
            OutcomeResult::Missed => "MISSED",
            OutcomeResult::Unmeasured => "could not measure",
        }
    }
}

/// `cutover verify` measured an outcome (`[[outcome]]`) against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeMeasured {
    /// The outcome's `name`.
    pub outcome: String,
    pub result: OutcomeResult,
    /// The target as written (`>= 0.995`).
    pub target: String,
    #[serde(default, with = "float_serde::option")]
    pub value: Option<f64>,
    /// When it was due (RFC 3339); absent when it had no due time yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Measured before it was due (`verify --now`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub early: bool,
    /// The measurement as is: resolved query (masked), value, baseline, verdict.
    pub measurement: Measurement,
}

/// A follow-up action item added to a run (`cutover action RUN TEXT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionAdded {
    /// 1, 2, ... within the run.
    pub id: u32,
    /// Masked.
    pub text: String,
    pub owner: String,
    /// When it is due (`YYYY-MM-DD`, or RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// The suggested follow-up it adopts (`S17`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// An action item closed (`cutover action RUN --close ID`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionClosed {
    pub id: u32,
    /// Masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
