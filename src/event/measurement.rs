//! The measurement record every gate, trigger and readiness item produces,
//! journaled as is: part of the journal format, so it lives with the events
//! (`signals` takes the measurements and re-exports these types).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::float_serde;

/// The verdict of one measurement. `Pass` is only ever given to a real value
/// that satisfies the condition: a source that is down, slow, or returns no
/// data or NaN never passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// No data, NaN, stale, or neither side of the condition could be decided.
    Inconclusive,
    /// Unreachable, timed out, bad query, HTTP 4xx/5xx.
    Error,
}

/// One series of a result, with its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `NaN`/`±Inf` are serialized as strings (JSON has no such numbers).
    #[serde(with = "float_serde")]
    pub value: f64,
}

/// One query result and its verdict, journaled as is. Every string in it has
/// been masked: no secret can reach the journal through a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub source: String,
    /// `prometheus`, `datadog`, `http` or `command`.
    pub source_kind: String,
    /// The resolved query text (or probe description), masked.
    pub query: String,
    /// RFC 3339 UTC time the query was sent.
    pub at: String,
    pub latency_ms: f64,
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// A state instead of numbers (Datadog monitor: `OK`, `Warn`, `Alert`, `No Data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The value the condition was judged on, after reduction (if any).
    #[serde(default, with = "float_serde::option")]
    pub value: Option<f64>,
    /// The condition as written, and the baseline it used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(
        default,
        with = "float_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub baseline: Option<f64>,
    pub verdict: Verdict,
    /// Why: the error text, or what made it inconclusive. Masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
