//! Signal sources (Prometheus, Datadog, HTTP, command) and the measurement
//! record every gate, trigger and readiness item produces.
//!
//! Async I/O lives in the per-source modules; turning a reading into a
//! verdict is synchronous (`condition` evaluation) so it can be unit-tested.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// Serialize floats so that NaN and infinities survive a JSON round trip.
pub mod float_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("+Inf")
        } else {
            s.serialize_str("-Inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(f64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match NumOrStr::deserialize(d)? {
            NumOrStr::Num(n) => Ok(n),
            NumOrStr::Str(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "+Inf" | "Inf" => Ok(f64::INFINITY),
                "-Inf" => Ok(f64::NEG_INFINITY),
                other => other.parse().map_err(serde::de::Error::custom),
            },
        }
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] f64);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}
