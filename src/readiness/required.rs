//! A runbook's `requires = ["checks/launch.toml"]`: the checklists that must
//! be ready before `cutover run` starts the first step. Paths are relative
//! to the runbook file's directory; each checklist is evaluated in the run's
//! `--env`.

use std::path::{Component, Path, PathBuf};

use super::result::{CheckReport, ChecklistReport, REPORT_FORMAT_VERSION, Readiness};
use super::time::format_instant;
use crate::plan::Plan;

/// The readiness of every checklist a runbook requires.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredResult {
    /// One per `requires` entry, in order. A checklist that does not load is
    /// reported with readiness `error` and its problem.
    pub report: CheckReport,
}

impl RequiredResult {
    /// Whether the run may start without `--override-readiness`.
    pub fn ready(&self) -> bool {
        self.report.readiness == Readiness::Ready
    }

    /// The failing items, one line each, for the refusal message.
    pub fn blocking(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.report.checklists {
            if let Some(p) = &c.problem {
                out.push(format!("{}: {p}", c.path));
            }
            for i in &c.items {
                if i.counts(false)
                    && matches!(
                        i.status,
                        super::result::Status::Fail | super::result::Status::Error
                    )
                {
                    out.push(format!(
                        "{} `{}` {}: {}",
                        c.name,
                        i.id,
                        i.status.name(),
                        i.detail
                    ));
                }
            }
        }
        out
    }

    /// What the run journals per checklist: its readiness, counts, the ids
    /// of waived items (`waived`, which the report lists as deviations) and
    /// the failing items.
    pub fn summary_json(checklist: &ChecklistReport) -> serde_json::Value {
        serde_json::json!({
            "name": checklist.name,
            "path": checklist.path,
            "readiness": checklist.readiness,
            "summary": checklist.summary,
            "problem": checklist.problem,
            "waived": checklist.items.iter()
                .filter(|i| i.status == super::result::Status::Waived)
                .map(|i| i.id.clone())
                .collect::<Vec<_>>(),
            "failing": checklist.items.iter()
                .filter(|i| matches!(i.status, super::result::Status::Fail | super::result::Status::Error))
                .map(|i| serde_json::json!({"id": i.id, "status": i.status, "severity": i.severity, "detail": i.detail}))
                .collect::<Vec<_>>(),
        })
    }
}

/// What `cutover run` does with a readiness result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every required checklist is ready (or there are none).
    Proceed,
    /// Not ready, but `--override-readiness --reason` was given: start, and
    /// journal the override (a deviation in the report).
    Override { reason: String },
    /// Not ready, and a dry run: start anyway (a dry run is how the
    /// `dry_run_passed` item of the same checklist becomes true), warn.
    DryRun,
    /// Not ready: do not start.
    Refuse,
}

/// Decide whether a run may start. A refusal is never silent: the caller
/// shows [`notice`].
pub fn decide(
    result: &RequiredResult,
    override_readiness: bool,
    reason: Option<&str>,
    dry_run: bool,
) -> Decision {
    if result.ready() {
        return Decision::Proceed;
    }
    match reason.map(str::trim) {
        Some(reason) if override_readiness && !reason.is_empty() => Decision::Override {
            reason: reason.to_string(),
        },
        _ if dry_run => Decision::DryRun,
        _ => Decision::Refuse,
    }
}

/// The journal events of a readiness result: one `readiness` event per
/// required checklist, `overridden` (with the reason) when the run starts
/// although the checklist is not ready.
pub fn events(result: &RequiredResult, decision: &Decision) -> Vec<crate::event::Event> {
    result
        .report
        .checklists
        .iter()
        .map(|c| {
            let ready = c.readiness == Readiness::Ready;
            let reason = match decision {
                Decision::Override { reason } if !ready => Some(reason.clone()),
                Decision::DryRun if !ready => Some("dry run: readiness is not enforced".into()),
                _ => None,
            };
            crate::event::Event::Readiness {
                checklist: c.path.clone(),
                ready,
                overridden: !ready && matches!(decision, Decision::Override { .. }),
                reason,
                summary: RequiredResult::summary_json(c),
            }
        })
        .collect()
}

/// What `cutover run` tells the operator about a readiness result it decided
/// on, one line each. When the run proceeds, the journaled readiness events
/// are shown with the rest of the run: nothing here. Otherwise every
/// checklist's readiness, then the refusal or the warning, with the failing
/// items.
pub fn notice(result: &RequiredResult, decision: &Decision) -> Vec<String> {
    if *decision == Decision::Proceed {
        return Vec::new();
    }
    let mut lines: Vec<String> = result
        .report
        .checklists
        .iter()
        .map(|c| format!("readiness `{}`: {}", c.path, c.readiness.name()))
        .collect();
    lines.push(match decision {
        Decision::Proceed => unreachable!("returned above"),
        Decision::Refuse => {
            "error: a required readiness checklist is not ready; nothing was started".into()
        }
        Decision::Override { reason } => {
            format!("warning: starting although readiness fails (overridden: {reason}):")
        }
        Decision::DryRun => "warning: readiness fails; a dry run starts anyway:".into(),
    });
    lines.extend(result.blocking().iter().map(|line| format!("  {line}")));
    if *decision == Decision::Refuse {
        lines.push("  fix the items (`cutover check` shows them all), or start anyway with --override-readiness --reason \"...\" (journaled as a deviation)".into());
    }
    lines
}

/// Where a `requires` entry points: relative to the runbook's directory.
pub fn required_path(runbook_path: &Path, entry: &str) -> PathBuf {
    let entry = Path::new(entry);
    if entry.is_absolute() {
        return entry.to_path_buf();
    }
    let joined = runbook_path
        .parent()
        .map_or_else(|| entry.to_path_buf(), |dir| dir.join(entry));
    // `runbooks/../checks/launch.toml` reads better as `checks/launch.toml`
    // in messages and the journal; only `name/..` pairs are folded, so the
    // path still names the same file unless `name` is a symlink.
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// Evaluate every checklist `plan`'s runbook requires. An empty `requires`
/// is ready at once. (Async: the caller owns the runtime.)
pub async fn check_required_async(plan: &Plan) -> RequiredResult {
    // The clock `CUTOVER_NOW` pins, like `cutover check`'s.
    let now = crate::journal::Clock::from_env().now();
    let mut checklists = Vec::new();
    for entry in &plan.runbook.requires {
        let path = required_path(Path::new(&plan.runbook_path), entry);
        let loaded = super::load_file(&path);
        let report = match &loaded.checklist {
            Some(checklist) => {
                super::evaluate::evaluate(checklist, &path, plan.env.as_deref(), false, now, &|n| {
                    std::env::var(n).ok()
                })
                .await
            }
            None => super::invalid_report(&path, &loaded),
        };
        checklists.push(report);
    }
    let readiness = checklists
        .iter()
        .fold(Readiness::Ready, |r, c| r.worst(c.readiness));
    RequiredResult {
        report: CheckReport {
            format_version: REPORT_FORMAT_VERSION,
            at: format_instant(now),
            env: plan.env.clone(),
            fail_on_warn: false,
            readiness,
            checklists,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(readiness: Readiness) -> RequiredResult {
        RequiredResult {
            report: CheckReport {
                format_version: REPORT_FORMAT_VERSION,
                at: String::new(),
                env: None,
                fail_on_warn: false,
                readiness,
                checklists: Vec::new(),
            },
        }
    }

    #[test]
    fn only_an_override_with_a_reason_starts_a_run_that_is_not_ready() {
        let ready = result(Readiness::Ready);
        assert_eq!(decide(&ready, false, None, false), Decision::Proceed);
        for not in [result(Readiness::NotReady), result(Readiness::Error)] {
            assert_eq!(decide(&not, false, None, false), Decision::Refuse);
            assert_eq!(decide(&not, true, Some("  "), false), Decision::Refuse);
            assert_eq!(
                decide(&not, true, Some("CAB call"), false),
                Decision::Override {
                    reason: "CAB call".into()
                }
            );
            assert_eq!(decide(&not, false, None, true), Decision::DryRun);
        }
    }

    #[test]
    fn the_notice_is_silent_when_the_run_proceeds_and_says_why_otherwise() {
        let mut not = result(Readiness::NotReady);
        not.report.checklists.push(ChecklistReport {
            name: "c".into(),
            path: "checks/c.toml".into(),
            owner: None,
            launch: None,
            readiness: Readiness::NotReady,
            summary: super::super::result::Summary::default(),
            items: Vec::new(),
            problem: Some("the checklist is invalid".into()),
            diagnostics: Vec::new(),
        });
        assert!(notice(&not, &Decision::Proceed).is_empty());
        assert_eq!(
            notice(&not, &Decision::Refuse),
            [
                "readiness `checks/c.toml`: not ready",
                "error: a required readiness checklist is not ready; nothing was started",
                "  checks/c.toml: the checklist is invalid",
                "  fix the items (`cutover check` shows them all), or start anyway with --override-readiness --reason \"...\" (journaled as a deviation)",
            ]
        );
        let reason = "CAB".to_string();
        assert_eq!(
            notice(&not, &Decision::Override { reason })[1..],
            [
                "warning: starting although readiness fails (overridden: CAB):",
                "  checks/c.toml: the checklist is invalid",
            ]
        );
        assert_eq!(
            notice(&not, &Decision::DryRun)[1],
            "warning: readiness fails; a dry run starts anyway:"
        );
    }

    #[test]
    fn requires_paths_are_relative_to_the_runbook() {
        assert_eq!(
            required_path(Path::new("runbooks/x.toml"), "../checks/launch.toml"),
            PathBuf::from("checks/launch.toml")
        );
        assert_eq!(
            required_path(Path::new("/srv/rb/x.toml"), "../../c.toml"),
            PathBuf::from("/c.toml")
        );
        assert_eq!(
            required_path(Path::new("x.toml"), "../c.toml"),
            PathBuf::from("../c.toml")
        );
        assert_eq!(
            required_path(Path::new("x.toml"), "/etc/c.toml"),
            PathBuf::from("/etc/c.toml")
        );
    }
}
