//! After the launch, against the shared journal: `cutover verify` measures a
//! run's outcomes and `cutover action` adds and closes its action items from
//! any host, each as the database user; the database lets approvers and
//! operators append them (schema version 2, which `db init` adds to a
//! version 1 database) and refuses a viewer's, a reused action id and a
//! second close even through `psql`.

use std::process::Command;

use serde_json::Value;

use crate::shared_journal::{PEOPLE, as_person, assert_no_password, at_once, records};
use crate::support::cutover::{BIN, Cutover};
use crate::support::postgres::shared;

/// A completed local run with one outcome that is met and one that is
/// missed (both measured by a command), imported into the shared journal.
fn completed_run(db: &crate::support::postgres::Database) -> Cutover {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "after"

[sources.local]
kind = "command"

[[step]]
id = "a"
run = "echo a"

[[outcome]]
name = "availability"
source = "local"
query = "echo 0.999"
target = ">= 0.995"
at = "end"

[[outcome]]
name = "latency"
source = "local"
query = "echo 900"
target = "< 500"
at = "end"
owner = "team-web"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, _, err) = as_person(
        &c,
        db,
        "op",
        &["journal", "import", ".cutover/runs/r/journal.jsonl"],
    );
    assert_eq!(code, 0, "{err}");
    c
}

fn of_type<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|r| r["type"] == kind).collect()
}

fn exported(c: &Cutover, db: &crate::support::postgres::Database) -> Vec<Value> {
    records(&as_person(c, db, "vic", &["journal", "export", "r"]).1)
}

#[test]
fn verify_measures_a_runs_outcomes_in_the_shared_journal_as_the_database_user() {
    let db = shared().database(PEOPLE);
    let c = completed_run(&db);

    // A viewer may follow a run, not judge it.
    let (code, _, err) = as_person(&c, &db, "vic", &["verify", "r"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("may not write"), "{err}");
    let (code, _, err) = as_person(&c, &db, "alice", &["verify", "r", "--as", "carol"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--as carol`"), "{err}");
    assert!(of_type(&exported(&c, &db), "outcome_measured").is_empty());

    let (code, _, err) = as_person(&c, &db, "alice", &["verify", "r"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("outcome `availability`: 0.999 (target >= 0.995) -> met")
            && err.contains("outcome `latency`: 900 (target < 500) -> MISSED"),
        "{err}"
    );
    let all = exported(&c, &db);
    let measured = of_type(&all, "outcome_measured");
    assert_eq!(measured.len(), 2, "{all:?}");
    assert_eq!(measured[0]["actor"], db.user("alice"));
    assert!(measured[0].get("as").is_none());

    // From cron on another host: the verdicts in the database stand.
    let (code, _, err) = as_person(&c, &db, "op", &["verify", "r"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`--again` measures it again"), "{err}");
    assert_eq!(of_type(&exported(&c, &db), "outcome_measured").len(), 2);

    let (code, md, err) = as_person(&c, &db, "vic", &["report", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.contains("| Success metrics | 1 of 2 met (1 missed) |"),
        "{md}"
    );
}

#[test]
fn action_items_are_added_and_closed_in_the_shared_journal_once_each() {
    let db = shared().database(PEOPLE);
    let c = completed_run(&db);

    let (code, _, err) = as_person(&c, &db, "vic", &["action", "r", "fix it", "--owner", "me"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("may not write"), "{err}");

    let secret = format!("rotate {} today", db.password("alice"));
    let (code, _, err) = as_person(
        &c,
        &db,
        "alice",
        &["action", "r", &secret, "--owner", "sec"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("action #1 added by"), "{err}");

    // Two people at once: two items, two ids.
    at_once(
        &db,
        &["alice", "bob"],
        &["action", "r", "raced", "--owner", "web"],
    );
    let all = exported(&c, &db);
    let mut ids: Vec<u64> = of_type(&all, "action_added")
        .iter()
        .map(|r| r["data"]["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3], "{all:?}");

    let (code, _, err) = as_person(
        &c,
        &db,
        "op",
        &["action", "r", "--close", "1", "--note", "done"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("action #1 closed by"), "{err}");
    let (code, _, err) = as_person(&c, &db, "bob", &["action", "r", "--close", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("closed already"), "{err}");
    let (code, _, err) = as_person(&c, &db, "bob", &["action", "r", "--close", "9"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no action item #9"), "{err}");

    // Anyone lists them; the pasted password is masked.
    let (code, listed, err) = as_person(&c, &db, "vic", &["action", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(listed.contains("#1   closed  rotate *** today"), "{listed}");
    assert!(listed.contains("#3   open"), "{listed}");
    let text = as_person(&c, &db, "vic", &["journal", "export", "r"]).1;
    assert_no_password(&db, &[&text, &listed]);

    // The database itself refuses a reused id and a second close.
    let last = records(&text).len() as u64;
    let alice = db.user("alice");
    let insert = |seq: u64, kind: &str, data: &str| {
        let line = format!(
            r#"{{"seq":{seq},"ts":"2026-12-06T00:00:00.000Z","run_id":"r","actor":"{alice}","type":"{kind}","data":{data}}}"#
        );
        db.psql(
            "alice",
            &format!(
                "INSERT INTO cutover.records (run_id, seq, type, actor, line) VALUES ('r', {seq}, '{kind}', '{alice}', '{line}')"
            ),
        )
    };
    let err = insert(
        last + 1,
        "action_added",
        r#"{"id":2,"text":"again","owner":"x"}"#,
    )
    .unwrap_err();
    assert!(err.contains("records_one_action_per_id"), "{err}");
    let err = insert(last + 1, "action_closed", r#"{"id":1}"#).unwrap_err();
    assert!(err.contains("records_one_close_per_action"), "{err}");
    insert(last + 1, "action_closed", r#"{"id":2}"#).expect("closing another item");
}

/// Migration 1 as the cutover that had only it applied it.
const SCHEMA_V1: &str = include_str!("../../src/pg/schema.sql");

#[test]
fn db_init_upgrades_a_version_1_database_and_keeps_its_runs() {
    let db = shared().database_made_by(PEOPLE, |db| {
        db.psql_admin(&format!(
            "CREATE SCHEMA IF NOT EXISTS cutover;
             CREATE TABLE IF NOT EXISTS cutover.migrations (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now(),
                 applied_by name NOT NULL DEFAULT session_user
             );
             BEGIN;
             {SCHEMA_V1}
             INSERT INTO cutover.migrations (version) VALUES (1);
             COMMIT;"
        ))
        .expect("migration 1");
    });
    let c = completed_run(&db);
    let before = as_person(&c, &db, "vic", &["journal", "export", "r"]).1;
    assert_eq!(
        before.as_bytes(),
        std::fs::read(c.path(".cutover/runs/r/journal.jsonl")).unwrap()
    );

    let (code, _, err) = as_person(&c, &db, "alice", &["action", "r", "fix", "--owner", "me"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("schema version 1")
            && err.contains("needs version 2")
            && err.contains("`cutover db init"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["db", "init", &db.admin_url()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("at schema version 2 (applied 2)"), "{err}");
    let out = Command::new(BIN)
        .args(["db", "init", &db.admin_url()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to do"));

    let after = as_person(&c, &db, "vic", &["journal", "export", "r"]).1;
    assert_eq!(after, before, "the upgrade changed no record");
    let (code, _, err) = as_person(&c, &db, "alice", &["action", "r", "fix", "--owner", "me"]);
    assert_eq!(code, 0, "{err}");
}

/// The summary's JSON without where the runs were read from.
fn without_places(mut summary: Value) -> Value {
    let s = summary.as_object_mut().unwrap();
    s.remove("runs_dir");
    s.remove("readiness_history");
    for run in s["runs"].as_array_mut().unwrap() {
        run.as_object_mut().unwrap().remove("journal");
    }
    summary
}

#[test]
fn report_summary_sums_up_every_run_in_the_shared_journal_as_from_the_files() {
    let db = shared().database(PEOPLE);
    let c = completed_run(&db);
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r2", "--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, _, err) = as_person(
        &c,
        &db,
        "op",
        &["journal", "import", ".cutover/runs/r2/journal.jsonl"],
    );
    assert_eq!(code, 0, "{err}");

    let (code, shared_json, err) =
        as_person(&c, &db, "vic", &["report", "--summary", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let local = c.exec(&["report", "--summary", ".cutover/runs", "--format", "json"]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let shared_summary: Value = serde_json::from_str(&shared_json).unwrap();
    assert_eq!(shared_summary["real_runs"], 1);
    assert_eq!(shared_summary["dry_runs"], 1);
    assert_eq!(
        without_places(shared_summary),
        without_places(serde_json::from_str(&local.stdout).unwrap())
    );
    let (code, md, err) = as_person(&c, &db, "vic", &["report", "--summary"]);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("Change failure rate"), "{md}");
    // A run's report compared with another run of the database.
    let (code, md, err) = as_person(&c, &db, "vic", &["report", "r", "--compare", "r2"]);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("## Compared with `r2`"), "{md}");

    // A directory is for local runs; without one, local runs need it.
    let (code, _, err) = as_person(&c, &db, "vic", &["report", "--summary", ".cutover/runs"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`--summary` takes no directory"), "{err}");
    let out = c.exec(&["report", "--summary"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("`--summary` needs the runs directory"),
        "{}",
        out.stderr
    );
}
