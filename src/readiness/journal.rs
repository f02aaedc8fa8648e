//! `dry_run_passed`: the dry runs recorded in run journals
//! (`<runs_dir>/<run-id>/journal.jsonl`), each read through the journal's
//! one tolerant reader into its fold (`journal::RunState`). A line that does
//! not parse is skipped: a torn or newer journal never makes the check pass
//! by accident.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::SystemTime;

use super::time::parse_instant;
use crate::journal::{Listed, RunState};

/// One run, as far as readiness cares.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    pub runbook_name: String,
    pub runbook_path: String,
    pub env: Option<String>,
    pub dry_run: bool,
    /// `completed`, `rolled_back`, ...; `None` while running or after a crash.
    pub outcome: Option<String>,
    /// When the run finished.
    pub finished: Option<SystemTime>,
    /// Dry run: whether every gate and trigger query worked (`run_finished`'s
    /// `queries_ok`; `None` in journals that do not say).
    pub queries_ok: Option<bool>,
    /// The gates (`step.gate`), triggers and baselines whose query errored.
    pub failed_queries: BTreeSet<String>,
}

/// Where a `dry_run_passed` item looks: the project's runs directory
/// (`journal::runs_dir`, found like every command finds `.cutover/`) when
/// the item names none, else the one it names.
pub fn dry_runs_dir(runs_dir: &str) -> std::path::PathBuf {
    if runs_dir == super::validate::DEFAULT_RUNS_DIR {
        crate::journal::runs_dir()
    } else {
        std::path::PathBuf::from(runs_dir)
    }
}

/// Every run journal under `dir` (missing directory: none). A symbolic
/// link is never followed to a run directory or a journal.
pub fn read_runs(dir: &Path) -> Vec<RunSummary> {
    let Ok(listed) = crate::journal::list_runs(dir) else {
        return Vec::new();
    };
    let mut runs: Vec<RunSummary> = listed
        .iter()
        .filter_map(|l| match l {
            Listed::Journal(path) => crate::journal::fold_journal(path).ok(),
            Listed::Link(_) => None,
        })
        .filter_map(|folded| RunSummary::from_state(&folded.state))
        .collect();
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    runs
}

/// The run a journal's text records, if it records a start.
pub fn summarize(text: &str) -> Option<RunSummary> {
    let folded = crate::journal::fold_from_text(text).ok()?;
    RunSummary::from_state(&folded.state)
}

impl RunSummary {
    /// What readiness needs of a folded run; `None` if it never started.
    pub fn from_state(state: &RunState) -> Option<RunSummary> {
        let started = state.started.as_ref()?;
        let last = state.last_finished.as_ref();
        Some(RunSummary {
            run_id: state.run_id.clone(),
            runbook_name: started.runbook_name.clone(),
            runbook_path: started.runbook_path.clone(),
            env: started.env.clone(),
            dry_run: started.dry_run,
            outcome: last
                .and_then(|f| serde_json::to_value(f.outcome).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            finished: state
                .finished_at
                .as_ref()
                .and_then(|f| parse_instant(&f.raw).ok()),
            queries_ok: last.and_then(|f| f.queries_ok),
            failed_queries: state.query_errors.clone(),
        })
    }

    /// Whether this run is of `runbook` (its name, or its path as given).
    pub fn is_of(&self, runbook: &str) -> bool {
        self.runbook_name == runbook
            || self.runbook_path == runbook
            || Path::new(&self.runbook_path).ends_with(runbook)
    }

    /// A dry run that ran to completion.
    pub fn dry_run_completed(&self) -> bool {
        self.dry_run && self.outcome.as_deref() == Some("completed")
    }

    /// Whether every gate and trigger query of this (dry) run worked: a dry
    /// run exists so you learn the queries work against the environment.
    pub fn queries_worked(&self) -> bool {
        self.queries_ok != Some(false) && self.failed_queries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"format_version":1,"journal":"cutover-journal","run_id":"r","created":"2026-11-20T10:00:00Z"}"#;

    fn started(id: &str, name: &str, path: &str, env: &str, dry: bool) -> String {
        format!(
            r#"{{"seq":1,"ts":"2026-11-20T10:00:00.125Z","run_id":"{id}","actor":"a@h","type":"run_started","data":{{"plan_hash":"h","runbook_name":"{name}","runbook_path":"{path}","runbook_sha256":"s","env":{env},"production":false,"dry_run":{dry},"pid":1,"set":[],"plan":{{}}}}}}"#
        )
    }

    fn finished(seq: u64, ts: &str, outcome: &str, queries_ok: Option<bool>) -> String {
        let q = queries_ok
            .map(|q| format!(r#","queries_ok":{q}"#))
            .unwrap_or_default();
        format!(
            r#"{{"seq":{seq},"ts":"{ts}","run_id":"r","actor":"a@h","type":"run_finished","data":{{"outcome":"{outcome}","exit_code":0,"dry_run":true,"failed_steps":[]{q},"message":"ok"}}}}"#
        )
    }

    fn error_measurement(seq: u64) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2026-11-20T10:00:01Z","run_id":"r","actor":"a","type":"gate_measurement","data":{{"step":"switch","gate":"before-1","measurement":{{"at":"2026-11-20T10:00:01Z","source":"prom","query":"q","verdict":"error","duration_ms":1}}}}}}"#
        )
    }

    #[test]
    fn a_journal_gives_its_run_and_outcome() {
        let text = format!(
            "{HEADER}\n{}\n{}\n{}",
            started(
                "r1",
                "payments",
                "runbooks/payments.toml",
                r#""staging""#,
                true
            ),
            finished(2, "2026-11-20T10:05:00.500Z", "completed", None),
            r#"{"seq":3,"ts":"2026-11-20T10:05:01Z","run_id":"r1","actor":"a@h","ty"#
        );
        let run = summarize(&text).expect("a run");
        assert!(run.dry_run_completed());
        assert!(run.queries_worked());
        assert!(run.is_of("payments"));
        assert!(run.is_of("payments.toml"));
        assert!(!run.is_of("orders"));
        assert_eq!(run.env.as_deref(), Some("staging"));
        assert_eq!(
            run.finished
                .map(super::super::time::format_instant)
                .as_deref(),
            Some("2026-11-20T10:05:00Z")
        );
    }

    #[test]
    fn a_dry_run_whose_queries_errored_completed_but_did_not_work() {
        let text = format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n{}\n",
            started("r3", "p", "p.toml", "null", true),
            error_measurement(2),
            error_measurement(3),
            r#"{"seq":4,"ts":"2026-11-20T10:00:01Z","run_id":"r3","actor":"a","type":"trigger_source_error","data":{"trigger":"errors","detail":"refused"}}"#,
            finished(5, "2026-11-20T10:00:02Z", "completed", Some(false)),
        );
        let run = summarize(&text).expect("a run");
        assert!(run.dry_run_completed());
        assert!(!run.queries_worked());
        assert_eq!(run.failed_queries.len(), 2);
    }

    #[test]
    fn an_unfinished_run_has_no_outcome() {
        let text = format!("{HEADER}\n{}\n", started("r2", "p", "p.toml", "null", true));
        let run = summarize(&text).expect("a run");
        assert!(!run.dry_run_completed());
        assert!(run.queries_worked());
        assert_eq!(summarize("not json\n"), None);
        assert_eq!(summarize(&format!("{HEADER}\n")), None, "never started");
    }

    #[test]
    fn runs_behind_a_symbolic_link_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let journal =
            |id: &str| format!("{HEADER}\n{}\n", started(id, "p", "p.toml", "null", true));
        for (parent, id) in [(&runs, "real"), (&dir.path().join("elsewhere"), "planted")] {
            std::fs::create_dir_all(parent.join(id)).unwrap();
            std::fs::write(parent.join(id).join("journal.jsonl"), journal(id)).unwrap();
        }
        std::os::unix::fs::symlink(dir.path().join("elsewhere/planted"), runs.join("planted"))
            .unwrap();
        std::fs::create_dir(runs.join("linked-journal")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere/planted/journal.jsonl"),
            runs.join("linked-journal/journal.jsonl"),
        )
        .unwrap();
        let ids: Vec<String> = read_runs(&runs).into_iter().map(|r| r.run_id).collect();
        assert_eq!(ids, ["real"]);
    }
}
