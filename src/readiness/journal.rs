//! `dry_run_passed`: the dry runs recorded in run journals
//! (`<runs_dir>/<run-id>/journal.jsonl`), read through the journal's wire
//! shape (`{"type": ..., "data": ..., "ts": ...}` per line after a header).
//! Only the fields this check needs are read, and a line that does not parse
//! is skipped: a torn or newer journal never makes the check pass by accident.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;

use super::time::parse_instant;

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

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    ts: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Every run journal under `dir` (missing directory: none).
pub fn read_runs(dir: &Path) -> Vec<RunSummary> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // A symbolic link is never followed to a run directory or a journal
    // (`DirEntry::file_type` does not follow one: a link is not a directory).
    let mut runs: Vec<RunSummary> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let mut text = String::new();
            crate::files::open_read(&e.path().join("journal.jsonl"))
                .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut text))
                .ok()
                .map(|_| text)
        })
        .filter_map(|text| summarize(&text))
        .collect();
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    runs
}

/// The run a journal's text records, if it records a start.
pub fn summarize(text: &str) -> Option<RunSummary> {
    let mut run: Option<RunSummary> = None;
    for line in text.lines() {
        let Ok(line) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let text_field = |key: &str| {
            line.data
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        match line.kind.as_str() {
            "run_started" => {
                run = Some(RunSummary {
                    run_id: line.run_id.clone(),
                    runbook_name: text_field("runbook_name").unwrap_or_default(),
                    runbook_path: text_field("runbook_path").unwrap_or_default(),
                    env: text_field("env"),
                    dry_run: line
                        .data
                        .get("dry_run")
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false),
                    outcome: None,
                    finished: None,
                    queries_ok: None,
                    failed_queries: BTreeSet::new(),
                });
            }
            "gate_measurement" | "trigger_measurement" | "baseline" | "trigger_source_error" => {
                let errored = line.kind == "trigger_source_error"
                    || line.data.pointer("/measurement/verdict")
                        == Some(&serde_json::Value::from("error"));
                let which = match line.kind.as_str() {
                    "gate_measurement" => text_field("step")
                        .zip(text_field("gate"))
                        .map(|(step, gate)| format!("{step}.{gate}")),
                    "baseline" => text_field("check"),
                    _ => text_field("trigger"),
                };
                if let (true, Some(run), Some(which)) = (errored, &mut run, which) {
                    run.failed_queries.insert(which);
                }
            }
            "run_finished" => {
                if let Some(run) = &mut run {
                    run.outcome = text_field("outcome");
                    run.queries_ok = line
                        .data
                        .get("queries_ok")
                        .and_then(serde_json::Value::as_bool);
                    run.finished = parse_instant(&line.ts).ok();
                }
            }
            _ => {}
        }
    }
    run
}

impl RunSummary {
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

    #[test]
    fn a_journal_gives_its_run_and_outcome() {
        let text = r#"{"format_version":1,"journal":"cutover-journal","run_id":"r1","created":"2026-11-20T10:00:00Z"}
{"seq":1,"ts":"2026-11-20T10:00:00.125Z","run_id":"r1","actor":"a@h","type":"run_started","data":{"runbook_name":"payments","runbook_path":"runbooks/payments.toml","env":"staging","dry_run":true}}
{"seq":2,"ts":"2026-11-20T10:05:00.500Z","run_id":"r1","actor":"a@h","type":"run_finished","data":{"outcome":"completed","exit_code":0,"dry_run":true,"message":"ok"}}
{"seq":3,"ts":"2026-11-20T10:05:01Z","run_id":"r1","actor":"a@h","ty"#;
        let run = summarize(text).expect("a run");
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
        let text = r#"{"seq":1,"ts":"2026-11-20T10:00:00Z","run_id":"r3","actor":"a","type":"run_started","data":{"runbook_name":"p","runbook_path":"p.toml","dry_run":true}}
{"seq":2,"ts":"2026-11-20T10:00:01Z","run_id":"r3","actor":"a","type":"gate_measurement","data":{"step":"switch","gate":"before-1","measurement":{"verdict":"error"}}}
{"seq":3,"ts":"2026-11-20T10:00:01Z","run_id":"r3","actor":"a","type":"gate_measurement","data":{"step":"switch","gate":"before-1","measurement":{"verdict":"error"}}}
{"seq":4,"ts":"2026-11-20T10:00:01Z","run_id":"r3","actor":"a","type":"trigger_source_error","data":{"trigger":"errors","detail":"refused"}}
{"seq":5,"ts":"2026-11-20T10:00:02Z","run_id":"r3","actor":"a","type":"run_finished","data":{"outcome":"completed","exit_code":0,"dry_run":true,"queries_ok":false,"message":"m"}}"#;
        let run = summarize(text).expect("a run");
        assert!(run.dry_run_completed());
        assert!(!run.queries_worked());
        assert_eq!(run.failed_queries.len(), 2);
    }

    #[test]
    fn an_unfinished_run_has_no_outcome() {
        let text = r#"{"seq":1,"ts":"2026-11-20T10:00:00Z","run_id":"r2","actor":"a","type":"run_started","data":{"runbook_name":"p","runbook_path":"p.toml","dry_run":true}}"#;
        let run = summarize(text).expect("a run");
        assert!(!run.dry_run_completed());
        assert!(run.queries_worked());
        assert_eq!(summarize("not json\n"), None);
    }

    #[test]
    fn runs_behind_a_symbolic_link_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let journal = |id: &str| {
            format!(
                r#"{{"seq":1,"ts":"2026-11-20T10:00:00Z","run_id":"{id}","actor":"a","type":"run_started","data":{{"runbook_name":"p","runbook_path":"p.toml","dry_run":true}}}}"#
            )
        };
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
