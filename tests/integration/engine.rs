//! The engine through the binary: DAG order and parallelism, reverse
//! rollback, failed rollback, process-group kills, dry run, manual steps,
//! secrets, `run --plan`, and resume after a torn journal line.

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use nix::sys::signal::Signal;

use crate::support::cutover::{Cutover, Output};
pub(crate) use crate::support::journal::*;
pub(crate) use crate::support::run::*;

fn run(c: Cutover, extra: &[&str]) -> (Cutover, Output) {
    let c = c
        .args(["run", "runbook.toml", "--run-id", "r"])
        .args(extra.iter().copied());
    let out = c.run();
    (c, out)
}

#[test]
fn dag_order_and_parallelism() {
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "dag"
max_parallel = 2

[[step]]
id = "a"
run = "echo a"

[[step]]
id = "b"
needs = ["a"]
run = "sleep 0.5"

[[step]]
id = "c"
needs = ["a"]
run = "sleep 0.5"

[[step]]
id = "d"
needs = ["b", "c"]
run = "echo d"
"#,
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    assert!(seq_of(&j, "a", "done") < seq_of(&j, "b", "running"));
    assert!(seq_of(&j, "a", "done") < seq_of(&j, "c", "running"));
    // b and c overlap: both start before either finishes.
    let first_done = seq_of(&j, "b", "done").min(seq_of(&j, "c", "done"));
    assert!(seq_of(&j, "b", "running") < first_done && seq_of(&j, "c", "running") < first_done);
    assert!(seq_of(&j, "d", "running") > seq_of(&j, "b", "done").max(seq_of(&j, "c", "done")));
    assert_eq!(outcome(&j), "completed");
    let output = of_type(&j, "output");
    assert!(
        output
            .iter()
            .any(|r| r["data"]["step"] == "a" && r["data"]["line"] == "a")
    );
    assert!(
        out.stderr.contains("a | a"),
        "output is streamed: {}",
        out.stderr
    );
}

const ROLLBACK_RUNBOOK: &str = r#"
[runbook]
name = "rb"

[[step]]
id = "a"
run = "echo a"
rollback = "echo undo-a >> undo.log"

[[step]]
id = "b"
run = "echo b"
rollback = "ROLLBACK_B"

[[step]]
id = "c"
run = "echo boom; exit 7"
rollback = "echo undo-c >> undo.log"
"#;

#[test]
fn a_failed_step_rolls_back_completed_steps_in_reverse_order() {
    let (c, out) = run(
        Cutover::new().runbook(&ROLLBACK_RUNBOOK.replace("ROLLBACK_B", "echo undo-b >> undo.log")),
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-b\nundo-a\n"
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let started = of_type(&j, "rollback_started");
    assert_eq!(started[0]["data"]["steps"], serde_json::json!(["b", "a"]));
    assert_eq!(started[0]["data"]["reason"]["step"], "c");
    assert_eq!(steps_of(&j, "rollback_step_finished"), ["b", "a"]);
    assert_eq!(
        of_type(&j, "attempt_finished").last().unwrap()["data"]["exit_code"],
        7
    );
    assert_eq!(outcome(&j), "rolled_back");
}

#[test]
fn a_failed_rollback_is_loud_and_exits_5() {
    let (c, out) = run(
        Cutover::new()
            .runbook(&ROLLBACK_RUNBOOK.replace("ROLLBACK_B", "echo cannot undo b >&2; exit 1")),
        &[],
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("ROLLBACK OF `b` FAILED"),
        "{}",
        out.stderr
    );
    assert!(
        !c.path("undo.log").exists(),
        "rollback stops at the failed step"
    );
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "rollback_failed");
    let done = of_type(&j, "rollback_finished");
    assert_eq!(done[0]["data"]["failed"], serde_json::json!(["b"]));
    assert!(
        of_type(&j, "output")
            .iter()
            .any(|r| r["data"]["phase"] == "rollback" && r["data"]["line"] == "cannot undo b")
    );
}

#[test]
fn a_timeout_leaves_no_process_of_its_group_alive() {
    let started = Instant::now();
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "timeout"

[[step]]
id = "hang"
run = "sleep 60 & echo $! > grandchild.pid; trap '' TERM; echo READY; wait"
timeout = "1s"
grace = "500ms"
"#,
        ),
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid = read_pid(&c, "grandchild.pid");
    assert!(
        gone_within(pid, Duration::from_secs(3)),
        "grandchild {pid} of the timed-out step survived"
    );
    let j = journal(&c, "r");
    let attempt = of_type(&j, "attempt_finished");
    assert_eq!(attempt[0]["data"]["result"], "timed_out");
}

#[test]
fn dry_run_runs_only_read_only_steps_and_says_so() {
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "dry"

[sources.local]
kind = "command"

[[trigger]]
id = "errors"
source = "local"
query = "echo 0"
fire_if = "> 1"
interval = "10s"
action = "rollback"

[[step]]
id = "look"
run = "echo looked >> effects"
dry_run = "run"

[[step]]
id = "change"
run = "echo changed >> effects"

[[step]]
id = "pretend"
run = "echo pretended >> effects"
dry_run = "simulate"

[[step]]
id = "person"
manual = "call the bank"
"#,
        ),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "looked\n"
    );
    let j = journal(&c, "r");
    seq_of(&j, "look", "ran_read_only");
    seq_of(&j, "change", "would_run");
    seq_of(&j, "pretend", "simulated");
    seq_of(&j, "person", "would_run");
    assert!(out.stderr.contains("would run"), "{}", out.stderr);
    assert!(out.stderr.contains("ran (read-only)"), "{}", out.stderr);
    let finished = of_type(&j, "run_finished");
    assert_eq!(finished[0]["data"]["dry_run"], true);
    assert_eq!(finished[0]["data"]["queries_ok"], true);
    let probed = of_type(&j, "trigger_measurement");
    // Measured once up front: `fire_if` does not hold (that is no error).
    assert_eq!(probed[0]["data"]["measurement"]["value"], 0.0);
    assert_ne!(probed[0]["data"]["measurement"]["verdict"], "error");
}

#[test]
fn a_manual_step_pauses_and_is_done_from_another_terminal() {
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "manual"

[[step]]
id = "before"
run = "echo one >> effects"

[[step]]
id = "call-bank"
manual = "confirm with the bank that the file arrived"

[[step]]
id = "after"
run = "echo two >> effects"
"#,
        ),
        &[],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("cutover done r call-bank"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cutover resume r"), "{}", out.stderr);
    let done = [
        "done",
        "r",
        "call-bank",
        "--note",
        "bank says yes",
        "--as",
        "carol",
    ];
    cutover_exits(&c, &done, 0);
    cutover_exits(&c, &["resume", "r"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "one\ntwo\n"
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let manual = of_type(&j, "manual_done");
    assert_eq!(manual[0]["data"]["note"], "bank says yes");
    assert_eq!(manual[0]["as"], "carol");
    assert_eq!(outcome(&j), "completed");
}

#[test]
fn approval_pauses_without_yes_and_resume_tolerates_a_torn_last_line() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "approve"

[[step]]
id = "prep"
run = "echo prep >> effects"

[[step]]
id = "switch"
approval = { required = true }
run = "echo switch >> effects"
"#,
    );
    let (c, out) = run(c, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("cutover approve r switch"),
        "{}",
        out.stderr
    );
    // A crash mid-write leaves half a line.
    let path = c.path(".cutover/runs/r/journal.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(r#"{"seq":99,"ts":"2026-"#);
    std::fs::write(&path, text).unwrap();
    let stderr = cutover_exits(&c, &["resume", "r", "--yes"], 0);
    assert!(stderr.contains("journal truncated at line"), "{stderr}");
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    assert_eq!(of_type(&j, "journal_repaired").len(), 1);
    assert_eq!(of_type(&j, "approval_granted")[0]["data"]["auto"], true);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );
}

#[test]
fn a_second_process_cannot_drive_the_same_run() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "lock"

[[step]]
id = "slow"
run = "sleep 2"
"#,
    );
    let c = c.args(["run", "runbook.toml", "--run-id", "r"]);
    let mut first = c.command().stderr(Stdio::null()).spawn().unwrap();
    wait_for_text(&c, ".cutover/runs/r/journal.jsonl", "\"running\"");
    let stderr = cutover_exits(&c, &["resume", "r"], 1);
    assert!(stderr.contains("is being driven by"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(first.wait().unwrap().success());
}

#[test]
fn secrets_never_reach_the_journal_or_the_terminal() {
    let secret = "hunter2-s3cr3t-VALUE";
    let (c, out) = run(
        Cutover::new()
            .runbook(
                r#"
[runbook]
name = "secret"

[secrets]
tok = { env = "CUTOVER_TEST_TOKEN" }

[sources.local]
kind = "command"

[[step]]
id = "use"
run = "echo token={{ secrets.tok }}; echo $CUTOVER_TEST_TOKEN >&2; printf %s \"$CUTOVER_TEST_TOKEN\" | base64"
rollback = "echo {{ secrets.tok }}"

[[step.gate]]
when = "after"
source = "local"
query = "echo {{ secrets.tok }} >&2; echo 1"
pass_if = "== 1"
count = 1
interval = "100ms"
"#,
            )
            .env("CUTOVER_TEST_TOKEN", secret),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    for haystack in [&text, &out.stderr, &out.stdout] {
        assert_eq!(haystack.matches(secret).count(), 0, "{haystack}");
        assert_eq!(haystack.matches(&b64).count(), 0, "{haystack}");
    }
    assert!(
        text.contains("token=***"),
        "the step's output is journaled, masked"
    );
}

#[test]
fn run_plan_refuses_a_runbook_changed_after_plan() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "planned"

[[step]]
id = "a"
run = "echo reviewed"
"#,
    );
    let plan = [
        "plan",
        "runbook.toml",
        "--format",
        "json",
        "-o",
        "plan.json",
    ];
    cutover_exits(&c, &plan, 0);
    std::fs::write(
        c.path("runbook.toml"),
        "[runbook]\nname = \"planned\"\n\n[[step]]\nid = \"a\"\nrun = \"echo not reviewed\"\n",
    )
    .unwrap();
    let run = [
        "run",
        "runbook.toml",
        "--plan",
        "plan.json",
        "--run-id",
        "r",
    ];
    let stderr = cutover_exits(&c, &run, 1);
    assert!(stderr.contains("changed"), "{stderr}");
    assert!(!c.path(".cutover/runs/r").exists(), "nothing ran");
}

#[test]
fn double_sigint_and_sigterm_stop_the_run_and_leave_no_child_alive() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let c = Cutover::new().runbook(
            r#"
[runbook]
name = "interrupt"

[[step]]
id = "long"
run = "sleep 60 & echo $! > grandchild.pid; echo $$ > leader.pid; wait"
grace = "500ms"
"#,
        );
        let child = spawn_run(&c, &[]);
        wait_for_file(&c, "grandchild.pid");
        wait_for_file(&c, "leader.pid");
        // The engine knows the step's group before it is signalled.
        wait_for_process_started(&c, "long", "step");
        signal(&child, sig);
        if sig == Signal::SIGINT {
            // One Ctrl-C pauses after the step ends; a second one soon after
            // aborts it. Two signals sent before the first is handled would
            // be merged into one by the kernel.
            wait_for_type(&c, "interrupted");
            signal(&child, sig);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{sig}: {stderr}");
        for file in ["grandchild.pid", "leader.pid"] {
            let pid = read_pid(&c, file);
            assert!(
                gone_within(pid, Duration::from_secs(3)),
                "{sig}: {file} {pid} survived"
            );
        }
        let j = journal(&c, "r");
        assert_seq_contiguous(&j);
        assert_eq!(
            of_type(&j, "interrupted")[0]["data"]["signal"],
            sig.as_str()
        );
        seq_of(&j, "long", "stopped");
        assert_eq!(outcome(&j), "aborted");
        assert!(stderr.contains("cutover resume r"), "{stderr}");
    }
}

#[test]
fn http_steps_send_their_request_and_check_the_status() {
    use crate::support::http_server::{HttpServer, Reply};
    let server = HttpServer::start();
    server.route(
        "POST",
        "/flags/checkout",
        [Reply::json(200, r#"{"enabled":true}"#)],
    );
    server.route(
        "PUT",
        "/lb/pool",
        [Reply::new(503).body("pool is draining")],
    );
    server.route("DELETE", "/flags/checkout", [Reply::new(204)]);
    let (c, out) = run(
        Cutover::new().runbook(&format!(
            r#"
[runbook]
name = "http"

[[step]]
id = "flag-on"
http = {{ url = "{url}/flags/checkout", body = '{{"on":true}}', headers = {{ X-Change = "CHG-1" }} }}
rollback = {{ http = {{ url = "{url}/flags/checkout", method = "DELETE", expect_status = [204] }} }}

[[step]]
id = "lb"
http = {{ url = "{url}/lb/pool", method = "PUT", expect_status = [200] }}
"#,
            url = server.url()
        )),
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let requests = server.requests();
    let seen: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        seen,
        [
            "POST /flags/checkout",
            "PUT /lb/pool",
            "DELETE /flags/checkout"
        ]
    );
    assert_eq!(requests[0].header("x-change"), Some("CHG-1"));
    let j = journal(&c, "r");
    let failed = of_type(&j, "attempt_finished");
    assert_eq!(failed[1]["data"]["exit_code"], 503);
    assert!(
        of_type(&j, "output")
            .iter()
            .any(|r| r["data"]["step"] == "lb" && r["data"]["line"] == "pool is draining")
    );
    assert_eq!(outcome(&j), "rolled_back");
}

#[test]
fn on_failure_pause_stops_and_resume_rerun_goes_on() {
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "pause"
max_parallel = 2

[[step]]
id = "check"
needs = []
run = "test -f ready"
on_failure = "pause"

[[step]]
id = "other"
needs = []
run = "sleep 0.3; echo other >> effects"

[[step]]
id = "later"
needs = ["check", "other"]
run = "echo later >> effects"
"#,
        ),
        &[],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("cutover resume r --rerun check"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "other\n",
        "in-flight work finishes"
    );
    std::fs::write(c.path("ready"), "").unwrap();
    cutover_exits(&c, &["resume", "r", "--rerun", "check"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "other\nlater\n"
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    assert_eq!(of_type(&j, "decision")[0]["data"]["choice"], "rerun");
    assert_eq!(of_type(&j, "paused")[0]["data"]["reason"], "step_failed");
}

#[test]
fn a_baseline_trigger_watches_between_its_steps_and_rolls_back() {
    let (c, out) = run(
        Cutover::new().file("level", "10\n").runbook(
            r#"
[runbook]
name = "baseline"

[sources.local]
kind = "command"

[[trigger]]
id = "level-up"
source = "local"
query = "cat level"
fire_if = "> baseline + 50%"
for = "0s"
interval = "100ms"
action = "rollback"
# A probe slowed down by a loaded test machine must not pause the test run.
on_error = "ignore"
from = "raise"
until = "settle"

[[step]]
id = "prep"
run = "echo prep"
rollback = "echo undo-prep >> undo.log"

# `raise` only stages the new level: the breach appears once `raise` is done,
# so whether `raise` is rolled back does not depend on when a probe lands.
[[step]]
id = "raise"
run = "echo 20 > level.next"
rollback = "echo 10 > level; echo undo-raise >> undo.log"

[[step]]
id = "settle"
run = "mv level.next level; sleep 30"
grace = "1s"
"#,
        ),
        &[],
    );
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap_or_default();
    assert_eq!(out.code, 3, "{}\n{text}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-raise\nundo-prep\n"
    );
    let j = journal(&c, "r");
    let baseline = of_type(&j, "baseline");
    assert_eq!(baseline[0]["data"]["check"], "level-up");
    assert_eq!(baseline[0]["data"]["value"], 10.0);
    let armed = of_type(&j, "trigger_armed")[0]["seq"].as_u64().unwrap();
    assert!(
        armed > seq_of(&j, "prep", "done"),
        "armed only from `raise`"
    );
    assert!(armed < seq_of(&j, "raise", "running"));
    let fired = of_type(&j, "trigger_fired");
    assert_eq!(fired[0]["data"]["value"], 20.0);
    assert_eq!(fired[0]["data"]["condition"], "> baseline + 50%");
    seq_of(&j, "settle", "stopped");
}

#[test]
fn run_ids_and_journal_paths() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"ids\"\n\n[[step]]\nid = \"a\"\nmanual = \"wave\"\n");
    let out = bin(&c)
        .env("CUTOVER_NOW", "2026-01-02T03:04:05Z")
        .args(["run", "runbook.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    // `NAME-yyyymmddThhmmssmmmZ`: milliseconds, so runs a moment apart differ.
    let ids: Vec<String> = std::fs::read_dir(c.path(".cutover/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert!(
        id.starts_with("ids-20260102T030405")
            && id.ends_with('Z')
            && id.len() == "ids-20260102T030405000Z".len(),
        "{id}"
    );
    let journal_path = c.path(&format!(".cutover/runs/{id}/journal.jsonl"));
    let text = std::fs::read_to_string(&journal_path).unwrap();
    assert!(text.contains(r#""ts":"2026-01-02T03:04:05."#), "{text}");

    // An explicit journal path: commands name the run by that path.
    let run = ["run", "runbook.toml", "--journal", "elsewhere/j.jsonl"];
    let stderr = cutover_exits(&c, &run, 4);
    assert!(
        stderr.contains("cutover done elsewhere/j.jsonl a"),
        "{stderr}"
    );
    cutover_exits(&c, &["done", "elsewhere/j.jsonl", "a"], 0);
    cutover_exits(&c, &["resume", "elsewhere/j.jsonl"], 0);
    // Resuming an ended run says so and gives its exit code.
    let (code, _) = cutover(&c, &["resume", id.as_str()]);
    assert_eq!(code, 4, "still waiting for its manual step");
    let again = cutover_exits(&c, &["resume", "elsewhere/j.jsonl"], 0);
    assert!(again.contains("already ended: completed"), "{again}");
}

#[test]
fn the_older_name_cutover_fake_now_still_pins_the_clock() {
    // Scripts written against the older name keep working; with both set,
    // `CUTOVER_NOW` wins.
    for (vars, want) in [
        (
            &[("CUTOVER_FAKE_NOW", "2026-01-02T03:04:05Z")][..],
            "2026-01-02T03:04:",
        ),
        (
            &[
                ("CUTOVER_FAKE_NOW", "2026-01-02T03:04:05Z"),
                ("CUTOVER_NOW", "2027-05-06T07:08:09Z"),
            ][..],
            "2027-05-06T07:08:",
        ),
    ] {
        let c = Cutover::new()
            .runbook("[runbook]\nname = \"old\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
        let out = bin(&c)
            .envs(vars.iter().copied())
            .args(["run", "runbook.toml", "--run-id", "r"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{vars:?}");
        for record in journal(&c, "r") {
            let ts = record["ts"].as_str().unwrap();
            assert!(ts.starts_with(want), "{vars:?}: {ts}");
        }
    }
}

#[test]
fn a_dry_run_says_when_a_gate_query_does_not_work() {
    let (c, out) = run(
        Cutover::new().runbook(
            r#"
[runbook]
name = "dry-gates"

[sources.local]
kind = "command"

[[step]]
id = "switch"
run = "echo switched >> effects"

[[step.gate]]
when = "before"
source = "local"
query = "echo 'no such metric' >&2; exit 3"
pass_if = "< 1"
count = 1
interval = "50ms"
error_limit = 0
"#,
        ),
        &["--dry-run"],
    );
    assert_eq!(
        out.code, 0,
        "a dry run reports, it does not fail: {}",
        out.stderr
    );
    assert!(!c.path("effects").exists());
    assert!(out.stderr.contains("queries FAILED"), "{}", out.stderr);
    let j = journal(&c, "r");
    assert_eq!(
        of_type(&j, "gate_measurement")[0]["data"]["measurement"]["verdict"],
        "error"
    );
    assert_eq!(of_type(&j, "run_finished")[0]["data"]["queries_ok"], false);
    seq_of(&j, "switch", "would_run");
}

#[test]
fn yes_does_not_approve_in_production() {
    let runbook = r#"
[runbook]
name = "prod"

[env.production]
production = true

[env.staging]

[[step]]
id = "switch"
approval = { required = true }
run = "echo switched >> effects"
"#;
    let (c, out) = run(
        Cutover::new().runbook(runbook),
        &["--env", "production", "--yes"],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`--yes` does not approve anything in production"),
        "{}",
        out.stderr
    );
    assert!(!c.path("effects").exists());
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "approval_requested").len(), 1);
    assert!(of_type(&j, "approval_granted").is_empty());

    let (c, out) = run(
        Cutover::new().runbook(runbook),
        &["--env", "staging", "--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "switched\n"
    );
}

#[test]
fn the_same_runbook_started_twice_at_once_gets_two_runs() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"twice\"\n\n[[step]]\nid = \"a\"\nrun = \"sleep 0.2\"\n");
    // The same pinned clock: the two ids would be equal without a tie-break.
    let spawn = || {
        bin(&c)
            .env("CUTOVER_NOW", "2026-01-02T03:04:05Z")
            .args(["run", "runbook.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut ids: Vec<String> = std::fs::read_dir(c.path(".cutover/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in &ids {
        let j = journal(&c, id);
        assert_eq!(
            of_type(&j, "run_finished")[0]["data"]["outcome"],
            "completed",
            "{id}"
        );
    }
}

#[test]
fn a_second_driver_is_told_who_holds_the_run() {
    for round in 0..5 {
        let c = Cutover::new()
            .runbook("[runbook]\nname = \"race\"\n\n[[step]]\nid = \"a\"\nrun = \"sleep 1\"\n");
        let (first, second) = (spawn_run(&c, &[]), spawn_run(&c, &[]));
        let outs = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let refused: Vec<String> = outs
            .iter()
            .filter(|o| o.status.code() == Some(1))
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        assert_eq!(refused.len(), 1, "round {round}: one run, one refusal");
        let msg = &refused[0];
        assert!(
            msg.contains("is being driven by") && msg.contains('@') && msg.contains("(pid "),
            "round {round}: {msg}"
        );
        assert!(msg.contains(", since 20"), "round {round}: {msg}");
    }
}

#[test]
fn help_explains_runbook_run_id_and_follow() {
    let c = Cutover::new();
    let help = |args: &[&str]| {
        let out = bin(&c).args(args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let run = help(&["run", "--help"]);
    assert!(run.contains("<RUNBOOK>  The runbook to execute"), "{run}");
    assert!(
        run.contains("--run-id <ID>") && run.contains("CUTOVER_RUN_ID"),
        "{run}"
    );
    for cmd in ["plan", "sources", "gate"] {
        let text = help(&[cmd, "--help"]);
        // `plan --help` describes its formats, so clap puts help under each name.
        assert!(
            text.contains("<RUNBOOK>  The runbook")
                || text.contains("<RUNBOOK>\n          The runbook"),
            "{cmd}: {text}"
        );
    }
    let status = help(&["status", "--help"]);
    assert!(
        status.contains("--follow") && status.contains("Keep watching"),
        "{status}"
    );
    let resume = help(&["resume", "--help"]);
    assert!(
        resume.contains("--abort") && resume.contains("without rolling"),
        "{resume}"
    );
}
