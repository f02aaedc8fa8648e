//! The schedule (issue 13): `run --at` waits and shows SCHEDULED, a cancel
//! or a crash while waiting, the change window and freezes refusing a run
//! and `--override-window`, `--skip`/`--from`, rehearsals planning later
//! runs, the ETA in `status --format json`, a dry run's real durations.

use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::http_server::{HttpServer, Reply};
use crate::support::journal::{journal, of_type, outcome, state_record};
use crate::support::run::{
    bin, cutover_at, kill9, signal, wait_exit, wait_for_file, wait_for_type,
};

const NOW: &str = "2026-12-12T22:00:00Z";

/// Three steps in a chain with planned durations, a window and a freeze.
const RUNBOOK: &str = r#"
[runbook]
name = "sched"

[schedule]
window = { start = "2026-12-12T21:50:00Z", end = "2026-12-12T23:00:00Z" }
freeze = [{ start = "2026-12-12T21:00:00Z", end = "2026-12-12T21:30:00Z", reason = "payroll batch" }]

[[step]]
id = "a"
expected = "10m"
dry_run = "run"
run = "echo a >> effects"

[[step]]
id = "b"
needs = ["a"]
expected = "20m"
dry_run = "run"
run = "echo b >> effects; touch b-started; while [ ! -e release ]; do sleep 0.05; done"

[[step]]
id = "c"
needs = ["b"]
dry_run = "run"
run = "echo c >> effects"
"#;

/// `cutover ARGS` in the background with the clock pinned at `now`.
fn spawn_at(c: &Cutover, now: &str, args: &[&str]) -> Child {
    bin(c)
        .env("CUTOVER_NOW", now)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cutover")
}

/// `cutover status r --format json` with the clock pinned at `now`.
fn status_json(c: &Cutover, now: &str) -> Value {
    let out = bin(c)
        .env("CUTOVER_NOW", now)
        .args(["status", "r", "--format", "json"])
        .output()
        .expect("status");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("status json")
}

fn status_text(c: &Cutover, now: &str) -> String {
    let out = bin(c)
        .env("CUTOVER_NOW", now)
        .args(["status", "r"])
        .output()
        .expect("status");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A runbook whose `b` does not wait for a `release` file.
fn quick_runbook() -> String {
    RUNBOOK.replace(
        "; touch b-started; while [ ! -e release ]; do sleep 0.05; done",
        "",
    )
}

fn ts_of(record: &Value) -> String {
    record["ts"].as_str().expect("ts").to_string()
}

#[test]
fn run_at_waits_for_its_start_and_status_shows_it_scheduled() {
    let c = Cutover::new().runbook(&quick_runbook());
    let run = spawn_at(
        &c,
        NOW,
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--yes",
            "--no-progress",
            "--at",
            "2026-12-12T22:00:02Z",
        ],
    );
    wait_for_type(&c, "run_scheduled");
    let status = status_json(&c, NOW);
    assert_eq!(status["state"], "scheduled", "{status}");
    assert_eq!(status["schedule"]["waiting"], true, "{status}");
    let text = status_text(&c, NOW);
    assert!(text.contains("SCHEDULED"), "{text}");
    assert!(text.contains("2026-12-12T22:00:02"), "{text}");
    assert!(!c.path("effects").exists(), "no step runs before its start");

    let (code, stderr) = wait_exit(run, Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
    let records = journal(&c, "r");
    let scheduled = of_type(&records, "run_scheduled");
    assert_eq!(scheduled[0]["data"]["at"], "2026-12-12T22:00:02Z");
    assert_eq!(scheduled[0]["data"]["by"], "--at");
    let reached = of_type(&records, "start_reached");
    assert_eq!(reached.len(), 1);
    // Waited from when the wait began (after the start-up), up to `--at`.
    let waited = reached[0]["data"]["waited_ms"].as_u64().unwrap();
    assert!(waited > 0 && waited <= 2_100, "{waited}");
    let first = ts_of(state_record(&records, "a", "running"));
    assert!(
        first.as_str() >= "2026-12-12T22:00:02",
        "the first step starts no earlier than `--at`: {first}"
    );
    assert_eq!(outcome(&records), "completed");
}

#[test]
fn a_cancelled_wait_runs_nothing_and_a_crashed_wait_resumes_waiting() {
    let args = [
        "run",
        "runbook.toml",
        "--run-id",
        "r",
        "--yes",
        "--no-progress",
        "--at",
        "2026-12-12T22:00:02Z",
    ];
    // Ctrl-C while waiting: the run ends, nothing ran.
    let c = Cutover::new().runbook(&quick_runbook());
    let run = spawn_at(&c, NOW, &args);
    wait_for_type(&c, "run_scheduled");
    signal(&run, Signal::SIGINT);
    let (code, stderr) = wait_exit(run, Duration::from_secs(20));
    assert_ne!(code, 0, "{stderr}");
    let records = journal(&c, "r");
    assert_eq!(outcome(&records), "aborted", "{stderr}");
    assert!(of_type(&records, "step_state").is_empty());
    assert!(!c.path("effects").exists());

    // `kill -9` while waiting: `resume` waits for the start again.
    let c = Cutover::new().runbook(&quick_runbook());
    let mut run = spawn_at(&c, NOW, &args);
    wait_for_type(&c, "run_scheduled");
    kill9(&mut run);
    let stderr = cutover_at(&c, "2026-12-12T22:00:01Z", &["resume", "r", "--yes"], 0);
    assert!(stderr.contains("waiting for it again"), "{stderr}");
    let records = journal(&c, "r");
    let first = ts_of(state_record(&records, "a", "running"));
    assert!(first.as_str() >= "2026-12-12T22:00:02", "{first}");
    assert_eq!(outcome(&records), "completed");
}

#[test]
fn a_freeze_or_an_overrun_refuses_a_run_and_an_override_is_journaled() {
    let c = Cutover::new().runbook(&quick_runbook());
    let run = [
        "run",
        "runbook.toml",
        "--run-id",
        "r",
        "--yes",
        "--no-progress",
    ];
    let stderr = cutover_at(&c, "2026-12-12T21:10:00Z", &run, 1);
    assert!(stderr.contains("freeze period"), "{stderr}");
    assert!(stderr.contains("payroll batch"), "{stderr}");
    assert!(stderr.contains("--override-window"), "{stderr}");
    assert!(
        !c.path(".cutover/runs/r").exists(),
        "a refused run leaves nothing"
    );

    // 30 m planned from 22:45 ends past the window's end (23:00).
    let stderr = cutover_at(&c, "2026-12-12T22:45:00Z", &run, 1);
    assert!(stderr.contains("past the change window's end"), "{stderr}");

    let mut with = run.to_vec();
    with.extend(["--override-window", "--reason", "INC-42: ledger must move"]);
    let stderr = cutover_at(&c, "2026-12-12T22:45:00Z", &with, 0);
    assert!(stderr.contains("starting although"), "{stderr}");
    let records = journal(&c, "r");
    let over = of_type(&records, "window_override");
    assert_eq!(over.len(), 1);
    assert_eq!(over[0]["data"]["reason"], "INC-42: ledger must move");
    assert!(
        over[0]["data"]["refused"][0]
            .as_str()
            .unwrap()
            .contains("past the change window's end")
    );
    assert_eq!(outcome(&records), "completed");
}

#[test]
fn skip_and_from_are_journaled_shown_and_refused_when_they_break_a_need() {
    let c = Cutover::new().runbook(&quick_runbook());
    let base = [
        "run",
        "runbook.toml",
        "--run-id",
        "r",
        "--yes",
        "--no-progress",
    ];
    let mut skip_a = base.to_vec();
    skip_a.extend(["--skip", "a", "--reason", "done by hand"]);
    let stderr = cutover_at(&c, NOW, &skip_a, 1);
    assert!(
        stderr.contains("skipping `a` leaves `b` without it"),
        "{stderr}"
    );
    assert!(!c.path(".cutover/runs/r").exists());

    let mut no_reason = base.to_vec();
    no_reason.extend(["--skip", "a"]);
    let stderr = cutover_at(&c, NOW, &no_reason, 1);
    assert!(stderr.contains("--reason"), "{stderr}");

    let mut from_c = base.to_vec();
    from_c.extend(["--from", "c", "--reason", "a and b ran yesterday"]);
    cutover_at(&c, NOW, &from_c, 0);
    let records = journal(&c, "r");
    let skipped = of_type(&records, "steps_skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["data"]["steps"], serde_json::json!(["a", "b"]));
    assert_eq!(skipped[0]["data"]["from"], "c");
    assert_eq!(skipped[0]["data"]["reason"], "a and b ran yesterday");
    assert!(skipped[0]["actor"].as_str().is_some());
    assert_eq!(std::fs::read_to_string(c.path("effects")).unwrap(), "c\n");
    let status = status_json(&c, NOW);
    let states: Vec<(&str, &str)> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("a", "skipped"), ("b", "skipped"), ("c", "done")],
        "{status}"
    );
    let text = status_text(&c, NOW);
    assert!(text.contains("skipped before the start"), "{text}");

    // `plan` forecasts the same skips, and refuses the same broken need.
    let plan = stdout_of(&c, &["plan", "runbook.toml", "--from", "c"]);
    assert!(plan.contains("a     skipped (`--skip`/`--from`)"), "{plan}");
    let json: Value = serde_json::from_str(&stdout_of(
        &c,
        &["plan", "runbook.toml", "--from", "c", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["forecast"]["skipped"], serde_json::json!(["a", "b"]));
    assert_eq!(json["forecast"]["critical_path"], serde_json::json!(["c"]));
    let stderr = cutover_at(&c, NOW, &["plan", "runbook.toml", "--skip", "a"], 1);
    assert!(
        stderr.contains("skipping `a` leaves `b` without it"),
        "{stderr}"
    );
}

#[test]
fn eta_is_in_status_json_while_a_step_runs() {
    let c = Cutover::new().runbook(RUNBOOK);
    let run = spawn_at(
        &c,
        NOW,
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--yes",
            "--no-progress",
        ],
    );
    wait_for_file(&c, "b-started");
    let status = status_json(&c, "2026-12-12T22:05:00Z");
    let schedule = &status["schedule"];
    assert_eq!(schedule["planned_total_ms"], 1_800_000, "{status}");
    assert_eq!(schedule["window_end"], "2026-12-12T23:00:00Z", "{status}");
    let eta = &schedule["eta"];
    assert!(eta["projected_end"].as_str().is_some(), "{status}");
    assert_eq!(eta["steps"][0]["step"], "b", "{status}");
    assert_eq!(eta["steps"][0]["planned_ms"], 1_200_000, "{status}");
    let b = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "b")
        .unwrap();
    assert_eq!(b["planned_ms"], 1_200_000);
    std::fs::write(c.path("release"), "").unwrap();
    let (code, stderr) = wait_exit(run, Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn rehearsals_plan_later_runs_where_a_step_has_no_expected() {
    let c = Cutover::new().runbook(&quick_runbook().replace(
        "run = \"echo c >> effects\"",
        "run = \"echo c >> effects; sleep 0.3\"",
    ));
    for id in ["r1", "r2"] {
        cutover_at(
            &c,
            NOW,
            &[
                "run",
                "runbook.toml",
                "--run-id",
                id,
                "--yes",
                "--no-progress",
                "--rehearsal",
            ],
            0,
        );
        let records = journal(&c, id);
        assert_eq!(
            of_type(&records, "run_started")[0]["data"]["rehearsal"],
            true
        );
    }
    let out = bin(&c)
        .args(["plan", "runbook.toml", "--format", "json"])
        .output()
        .expect("plan");
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let steps = plan["forecast"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["source"], "expected");
    assert_eq!(steps[0]["planned_ms"], 600_000);
    assert_eq!(steps[2]["source"], "rehearsal", "{plan}");
    assert_eq!(steps[2]["rehearsals"], 2);
    assert!(steps[2]["planned_ms"].as_u64().unwrap() >= 300, "{plan}");
    let text = String::from_utf8_lossy(
        &bin(&c)
            .args(["plan", "runbook.toml"])
            .output()
            .expect("plan")
            .stdout,
    )
    .into_owned();
    assert!(text.contains("median of 2 rehearsals"), "{text}");
    assert!(text.contains("+0:30:00"), "{text}");
}

#[test]
fn a_step_running_late_journals_the_projected_overrun_once() {
    // Planned: 2 s, well inside a window ending 22:00:04; `b` runs late.
    let hook = HttpServer::start();
    hook.route("POST", "/hook", [Reply::new(200)]);
    let c = Cutover::new().runbook(
        &RUNBOOK
            .replace("2026-12-12T23:00:00Z", "2026-12-12T22:00:04Z")
            .replace("expected = \"10m\"", "expected = \"1s\"")
            .replace("expected = \"20m\"", "expected = \"1s\"")
            .replace(
                "[schedule]",
                &format!(
                    "[notify.ops]\nurl = \"{}/hook\"\nevents = [\"overrun_projected\"]\n\n[schedule]",
                    hook.url()
                ),
            ),
    );
    let run = spawn_at(
        &c,
        NOW,
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--yes",
            "--no-progress",
        ],
    );
    wait_for_type(&c, "overrun_projected");
    let status = status_json(&c, "2026-12-12T22:00:05Z");
    assert!(
        status["schedule"]["overrun_projected_at"]
            .as_str()
            .is_some(),
        "{status}"
    );
    std::fs::write(c.path("release"), "").unwrap();
    let (code, stderr) = wait_exit(run, Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
    let records = journal(&c, "r");
    let over = of_type(&records, "overrun_projected");
    assert_eq!(over.len(), 1, "journaled once");
    assert_eq!(over[0]["data"]["window_end"], "2026-12-12T22:00:04Z");
    assert!(over[0]["data"]["over_ms"].as_u64().unwrap() > 0);
    assert!(
        over[0]["data"]["projected_end"].as_str().unwrap() > "2026-12-12T22:00:04",
        "{}",
        over[0]
    );
    // And the room was told: one notification, about the overrun.
    let sent = hook.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].body.contains("window"), "{}", sent[0].body);
}

#[test]
fn a_dry_run_records_what_it_spent_and_is_no_rehearsal() {
    let c = Cutover::new()
        .runbook(&quick_runbook().replace("run = \"echo a >> effects\"", "run = \"sleep 0.5\""));
    cutover_at(
        &c,
        NOW,
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--yes",
            "--no-progress",
            "--dry-run",
        ],
        0,
    );
    let status = status_json(&c, NOW);
    let a = &status["steps"][0];
    assert_eq!(a["state"], "ran_read_only", "{status}");
    assert!(a["duration_ms"].as_u64().unwrap() >= 500, "{status}");
    let out = bin(&c)
        .args(["plan", "runbook.toml", "--format", "json"])
        .output()
        .expect("plan");
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    assert_eq!(plan["forecast"]["steps"][2]["source"], "none", "{plan}");
    assert_eq!(plan["forecast"]["steps"][2]["rehearsals"], 0, "{plan}");
    let md = stdout_of(&c, &["report", "r"]);
    assert!(md.contains("- **Outcome:** completed (dry run)"), "{md}");
}

#[test]
fn a_run_without_a_schedule_still_opens_with_its_headline() {
    let c = Cutover::new().runbook(
        "[runbook]\nname = \"plain\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\ndry_run = \"run\"\n",
    );
    cutover_at(
        &c,
        NOW,
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--yes",
            "--no-progress",
        ],
        0,
    );
    let md = stdout_of(&c, &["report", "r"]);
    assert!(
        md.contains("## Headline\n\n- **Outcome:** completed\n- **Start:** 2026-12-12T22:00:00"),
        "{md}"
    );
    assert!(md.contains("- **Deviations:** none"), "{md}");
    assert!(!md.contains("## Schedule"), "{md}");
    let json: Value =
        serde_json::from_str(&stdout_of(&c, &["report", "r", "--format", "json"])).unwrap();
    assert!(json.get("schedule").is_none(), "{json}");
}

#[test]
fn in_production_an_override_waits_for_a_window_override_go_no_go() {
    let c = Cutover::new().runbook(&quick_runbook().replace(
        "name = \"sched\"",
        "name = \"sched\"\nproduction = true\ndeclared_identities = true",
    ));
    let run = [
        "run",
        "runbook.toml",
        "--run-id",
        "r",
        "--as",
        "alice",
        "--override-window",
        "--reason",
        "INC-42",
    ];
    // 21:10 is in the freeze: the run waits for its go/no-go, nothing ran.
    let stderr = cutover_at(&c, "2026-12-12T21:10:00Z", &run, 4);
    assert!(stderr.contains("window-override"), "{stderr}");
    assert!(!c.path("effects").exists());
    let records = journal(&c, "r");
    assert_eq!(of_type(&records, "window_override").len(), 1);
    assert_eq!(
        of_type(&records, "approval_requested")[0]["data"]["step"],
        "window-override"
    );
    // The driver may not approve it; someone else may.
    cutover_at(
        &c,
        "2026-12-12T21:11:00Z",
        &[
            "approve",
            "r",
            "window-override",
            "--reason",
            "ok",
            "--as",
            "alice",
        ],
        1,
    );
    cutover_at(
        &c,
        "2026-12-12T21:11:00Z",
        &[
            "approve",
            "r",
            "window-override",
            "--reason",
            "ok",
            "--as",
            "bob",
        ],
        0,
    );
    cutover_at(
        &c,
        "2026-12-12T21:12:00Z",
        &["resume", "r", "--as", "alice"],
        0,
    );
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "a\nb\nc\n"
    );
    // The report: the override in the headline, the pause on the Gantt.
    let md = stdout_of(&c, &["report", "r"]);
    assert!(
        md.contains("- **Override:** started outside its window by ") && md.contains("INC-42"),
        "{md}"
    );
    let json: Value =
        serde_json::from_str(&stdout_of(&c, &["report", "r", "--format", "json"])).unwrap();
    assert!(md.contains("- **Deviations:** "), "{md}");
    assert!(md.contains("window-override"), "{md}");
    let pauses = json["schedule"]["pauses"].as_array().unwrap();
    assert_eq!(pauses.len(), 1, "{json}");
    let html = stdout_of(&c, &["report", "r", "--format", "html"]);
    assert!(html.contains("<rect class=\"pause\""), "{html}");
}

/// `cutover ARGS` to its end, which must succeed; returns stdout.
fn stdout_of(c: &Cutover, args: &[&str]) -> String {
    let out = bin(c).args(args).output().expect("run cutover");
    assert!(out.status.success(), "cutover {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_rehearsals_then_a_live_run_report_the_plan_the_slip_and_the_comparison() {
    let c = Cutover::new().runbook(&quick_runbook().replace(
        "run = \"echo c >> effects\"",
        "run = \"echo c >> effects; sleep 0.2\"",
    ));
    let run = |id: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "runbook.toml",
            "--run-id",
            id,
            "--yes",
            "--no-progress",
        ];
        args.extend_from_slice(extra);
        cutover_at(&c, NOW, &args, 0);
    };
    run("rehearsal-1", &["--rehearsal"]);
    run("rehearsal-2", &["--rehearsal"]);
    run("live", &[]);

    let planned = of_type(&journal(&c, "live"), "schedule_planned")[0]["data"].clone();
    assert_eq!(planned["steps"][2]["source"], "rehearsal", "{planned}");
    assert_eq!(planned["steps"][2]["rehearsals"], 2, "{planned}");

    let json: Value = serde_json::from_str(&stdout_of(
        &c,
        &[
            "report",
            "live",
            "--format",
            "json",
            "--compare",
            "rehearsal-2",
        ],
    ))
    .expect("report json");
    let s = &json["schedule"];
    assert_eq!(s["rehearsal"], false, "{s}");
    assert_eq!(s["window_end"], "2026-12-12T23:00:00.000Z", "{s}");
    assert_eq!(s["within_window"], true, "{s}");
    assert_eq!(s["on_time"], true, "{s}");
    assert!(s["planned_total_ms"].as_u64().unwrap() >= 1_800_200, "{s}");
    assert!(s["actual_ms"].as_u64().unwrap() >= 200, "{s}");
    assert!(
        s["duration_slip_ms"].as_i64().unwrap() < 0,
        "ahead of plan: {s}"
    );
    let a = &s["steps"][0];
    assert_eq!(a["planned_ms"], 600_000, "{s}");
    assert_eq!(a["planned_source"], "expected", "{s}");
    assert!(a["slip_ms"].as_i64().unwrap() < 0, "{s}");
    let cstep = &s["steps"][2];
    assert_eq!(cstep["planned_source"], "rehearsal", "{s}");
    assert_eq!(cstep["rehearsals"], 2, "{s}");
    assert!(cstep["rehearsal_median_ms"].as_u64().unwrap() >= 200, "{s}");
    let cmp = &json["compare"];
    assert_eq!(cmp["other_run_id"], "rehearsal-2", "{cmp}");
    assert_eq!(cmp["other_rehearsal"], true, "{cmp}");
    assert_eq!(cmp["steps"].as_array().unwrap().len(), 3, "{cmp}");
    assert!(
        cmp["summary"].as_str().unwrap().starts_with("`live` took "),
        "{cmp}"
    );
    assert!(
        cmp["summary"]
            .as_str()
            .unwrap()
            .contains("in rehearsal `rehearsal-2`")
    );

    let md = stdout_of(&c, &["report", "live", "--compare", "rehearsal-2"]);
    let headline = md.find("## Headline").expect("a headline");
    assert!(
        headline < md.find("## Summary").unwrap(),
        "headline first: {md}"
    );
    assert!(md.contains("- **Outcome:** completed"), "{md}");
    assert!(md.contains("within its window"), "{md}");
    assert!(md.contains("| c |"), "{md}");
    assert!(md.contains("rehearsal median"), "{md}");
    assert!(md.contains("## Compared with `rehearsal-2`"), "{md}");
    let html = stdout_of(
        &c,
        &[
            "report",
            "live",
            "--format",
            "html",
            "--compare",
            "rehearsal-2",
        ],
    );
    assert!(html.contains("<h2 id=\"headline\">Headline</h2>"), "{html}");
    assert!(html.contains("<h2 id=\"compare\">"), "{html}");
    // The Gantt draws the planned bars on the run's axis, not the timeouts.
    assert!(
        html.contains("<title>planned 10m 00s (expected)</title>"),
        "{html}"
    );
    assert!(html.contains("planned 20m 00s (expected)"), "{html}");
    let berlin = stdout_of(&c, &["report", "live", "--tz", "Europe/Berlin"]);
    assert!(
        berlin.contains("(ends 2026-12-13T00:00:00+01:00 CET)"),
        "{berlin}"
    );
    let (code, err) = crate::support::run::cutover(&c, &["report", "live", "--tz", "Mars/Base"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown time zone `Mars/Base`"), "{err}");

    let summary: Value = serde_json::from_str(&stdout_of(
        &c,
        &["report", "--summary", ".cutover/runs", "--format", "json"],
    ))
    .expect("summary json");
    assert_eq!(summary["on_time_rate"], 1.0, "{summary}");
    assert!(summary["forecast_accuracy"].as_f64().is_some(), "{summary}");
    let md = stdout_of(&c, &["report", "--summary", ".cutover/runs"]);
    assert!(md.contains("On-time rate"), "{md}");
    assert!(md.contains("Forecast accuracy"), "{md}");
}
