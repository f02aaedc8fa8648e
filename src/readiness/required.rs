//! A runbook's `requires = ["checks/launch.toml"]`: the checklists that must
//! be ready before `cutover run` starts the first step. Paths are relative
//! to the runbook file's directory; each checklist is evaluated in the run's
//! `--env`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::result::{CheckReport, ChecklistReport, REPORT_FORMAT_VERSION, Readiness};
use super::time::format_instant;
use crate::plan::Plan;

/// The readiness of every checklist a runbook requires.
#[derive(Debug, Clone)]
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

    /// What the run journals (per checklist: path, readiness, summary).
    pub fn summary_json(&self, checklist: &ChecklistReport) -> serde_json::Value {
        serde_json::json!({
            "path": checklist.path,
            "readiness": checklist.readiness,
            "summary": checklist.summary,
            "failing": checklist.items.iter()
                .filter(|i| matches!(i.status, super::result::Status::Fail | super::result::Status::Error))
                .map(|i| serde_json::json!({"id": i.id, "status": i.status, "severity": i.severity, "detail": i.detail}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Where a `requires` entry points: relative to the runbook's directory.
pub fn required_path(runbook_path: &Path, entry: &str) -> PathBuf {
    let entry = Path::new(entry);
    if entry.is_absolute() {
        return entry.to_path_buf();
    }
    runbook_path
        .parent()
        .map_or_else(|| entry.to_path_buf(), |dir| dir.join(entry))
}

/// Evaluate every checklist `plan`'s runbook requires. Call from async code.
pub async fn check_required_async(plan: &Plan) -> RequiredResult {
    let now = SystemTime::now();
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

/// Evaluate every checklist `plan`'s runbook requires, outside async code
/// (it starts its own runtime). An empty `requires` is ready at once.
pub fn check_required(plan: &Plan) -> Result<RequiredResult, crate::error::Error> {
    let runtime = crate::cmd::runtime()?;
    Ok(runtime.block_on(check_required_async(plan)))
}
