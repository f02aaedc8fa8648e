//! What `cutover check` found: per item, per checklist, overall. This is the
//! documented JSON shape (docs/checklists.md) that every output format is
//! rendered from, and what `cutover run` journals for a required checklist.

use serde::{Deserialize, Serialize};

use super::model::Severity;
use crate::signals::Measurement;

/// Version of the JSON shape; bumped only when a field is renamed or removed.
pub const REPORT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// Checked, and not true (a failed or inconclusive measurement, an
    /// expired attestation, no recent dry run, ...).
    Fail,
    /// Could not be checked (source down, bad query, timeout).
    Error,
    /// Failing or in error, but covered by a waiver that has not expired.
    Waived,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Waived => "waived",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    Ready,
    NotReady,
    /// A blocker could not be evaluated, or a checklist could not be loaded.
    Error,
}

impl Readiness {
    pub fn name(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::NotReady => "not ready",
            Readiness::Error => "could not evaluate",
        }
    }

    /// The worse of two verdicts: error > not ready > ready.
    #[must_use]
    pub fn worst(self, other: Readiness) -> Readiness {
        use Readiness::{Error, NotReady, Ready};
        match (self, other) {
            (Error, _) | (_, Error) => Error,
            (NotReady, _) | (_, NotReady) => NotReady,
            (Ready, Ready) => Ready,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiverNote {
    pub approver: String,
    pub reason: String,
    /// RFC 3339 UTC.
    pub expires: String,
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub owner: Option<String>,
    pub severity: Severity,
    #[serde(default)]
    pub category: Option<String>,
    /// `signal`, `run`, `http`, `dry_run_passed` or `attested`.
    pub kind: String,
    pub status: Status,
    /// What was found: a measured value, `exit 1`, a dry run's date, who attested.
    #[serde(default)]
    pub value: Option<String>,
    /// What passes: the condition, `exit == 0`, `within 7d`.
    #[serde(default)]
    pub target: Option<String>,
    /// One line saying why, masked.
    pub detail: String,
    #[serde(default)]
    pub waiver: Option<WaiverNote>,
    /// The raw measurement of a signal, run or http item (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Measurement>,
    /// 1-based line of the item's `id` in its checklist (not part of the
    /// JSON shape; used by the GitHub annotations).
    #[serde(skip)]
    pub line: Option<usize>,
}

impl ItemResult {
    /// Whether this item stops the launch (given `--fail-on-warn`).
    pub fn counts(&self, fail_on_warn: bool) -> bool {
        self.severity == Severity::Blocker || fail_on_warn
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub waived: usize,
    /// Blockers failing or in error (not waived).
    pub blockers_failing: usize,
    /// Warnings failing or in error (not waived).
    pub warnings_failing: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistReport {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub launch: Option<String>,
    pub readiness: Readiness,
    pub summary: Summary,
    pub items: Vec<ItemResult>,
    /// Why the checklist as a whole could not be evaluated (invalid file, missing secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// An invalid checklist's errors and warnings, each with its place
    /// (what `--format github` annotates and `--format junit` lists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<crate::ci::Located>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub format_version: u32,
    /// RFC 3339 UTC time of the check.
    pub at: String,
    #[serde(default)]
    pub env: Option<String>,
    pub fail_on_warn: bool,
    pub readiness: Readiness,
    pub checklists: Vec<ChecklistReport>,
}

/// Count the items and decide: `Error` when an item that counts (a blocker;
/// any item with `--fail-on-warn`) could not be evaluated, else `NotReady`
/// when one fails, else `Ready`. "Could not evaluate" wins over "not ready"
/// so that CI tells a broken signal from a known gap; neither is ever ready.
pub fn summarize(items: &[ItemResult], fail_on_warn: bool) -> (Readiness, Summary) {
    let mut s = Summary {
        total: items.len(),
        ..Summary::default()
    };
    let mut readiness = Readiness::Ready;
    for item in items {
        match item.status {
            Status::Pass => s.passed += 1,
            Status::Waived => s.waived += 1,
            Status::Fail | Status::Error => {
                if item.status == Status::Fail {
                    s.failed += 1;
                } else {
                    s.errors += 1;
                }
                match item.severity {
                    Severity::Blocker => s.blockers_failing += 1,
                    Severity::Warning => s.warnings_failing += 1,
                }
                if item.counts(fail_on_warn) {
                    readiness = readiness.worst(if item.status == Status::Error {
                        Readiness::Error
                    } else {
                        Readiness::NotReady
                    });
                }
            }
        }
    }
    (readiness, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(severity: Severity, status: Status) -> ItemResult {
        ItemResult {
            id: "x".into(),
            title: "x".into(),
            owner: None,
            severity,
            category: None,
            kind: "run".into(),
            status,
            value: None,
            target: None,
            detail: String::new(),
            waiver: None,
            measurement: None,
            line: None,
        }
    }

    #[test]
    fn readiness_follows_blockers() {
        use Severity::{Blocker, Warning};
        let ready = [item(Blocker, Status::Pass), item(Blocker, Status::Waived)];
        assert_eq!(summarize(&ready, false).0, Readiness::Ready);
        let warn = [item(Blocker, Status::Pass), item(Warning, Status::Fail)];
        assert_eq!(summarize(&warn, false).0, Readiness::Ready);
        assert_eq!(summarize(&warn, true).0, Readiness::NotReady);
        let warn_err = [item(Warning, Status::Error)];
        assert_eq!(summarize(&warn_err, false).0, Readiness::Ready);
        assert_eq!(summarize(&warn_err, true).0, Readiness::Error);
        let fail = [item(Blocker, Status::Fail), item(Warning, Status::Pass)];
        assert_eq!(summarize(&fail, false).0, Readiness::NotReady);
        let both = [item(Blocker, Status::Fail), item(Blocker, Status::Error)];
        let (r, s) = summarize(&both, false);
        assert_eq!(r, Readiness::Error, "an unevaluated blocker wins");
        assert_eq!((s.failed, s.errors, s.blockers_failing), (1, 1, 2));
    }
}
