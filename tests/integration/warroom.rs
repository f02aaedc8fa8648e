//! The war room through the binary: approvals from another process (and the
//! refusals), rejects, approval timeouts, Ctrl-C pausing, notes and marks
//! from concurrent processes, `status --follow`, `runs`, notifications.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{
    assert_seq_contiguous, journal, journal_tolerant, of_type, outcome, state_record,
};
use crate::support::run::{
    Watched, bin, cutover_at, cutover_exits, kill9, pid_in, signal, spawn_run, spawn_run_quiet,
    wait_exit, wait_for, wait_for_file, wait_for_process_started, wait_for_type,
};

const GONOGO: &str = r#"
[runbook]
name = "gonogo"

[teams]
sre = ["bob", "carol"]

[[step]]
id = "prep"
run = "echo prep >> effects"
rollback = "echo undo-prep >> effects"

[[step]]
id = "switch"
approval = { required = true, approvers = ["alice", "team:sre"], no_self_approval = true, reason = true, timeout = "60s", on_reject = "ON_REJECT" }
run = "echo switch >> effects"
"#;

#[test]
fn another_process_approves_after_refusals_and_the_run_goes_on() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    // bob drives the run; bob is in team sre, so only no_self_approval stops him.
    let run = Watched::new(spawn_run(&c, &["--wait", "--as", "bob"]));
    wait_for_type(&c, "approval_requested");

    let err = cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--as", "mallory", "--reason", "lgtm",
        ],
        1,
    );
    assert!(
        err.contains(
            "`mallory` may not vote on step `switch`: allowed: alice, or team sre: bob, carol"
        ),
        "{err}"
    );
    let err = cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--as", "team:sre", "--reason", "lgtm",
        ],
        1,
    );
    assert!(
        err.contains("allowed: alice, or team sre: bob, carol"),
        "{err}"
    );
    assert!(err.contains("vote as one of its members"), "{err}");
    let err = cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--reject", "--as", "mallory", "--reason", "no",
        ],
        1,
    );
    assert!(
        err.contains("`mallory` may not vote on step `switch`"),
        "{err}"
    );
    let err = cutover_exits(
        &c,
        &["approve", "r", "swich", "--as", "alice", "--reason", "lgtm"],
        1,
    );
    assert!(
        err.contains("run `r` has no step `swich`") && err.contains("did you mean `switch`?"),
        "{err}"
    );
    let err = cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "bob", "--reason", "mine"],
        1,
    );
    assert!(err.contains("no_self_approval"), "{err}");
    let err = cutover_exits(&c, &["approve", "r", "switch", "--as", "alice"], 1);
    assert!(err.contains("needs a reason"), "{err}");
    assert!(err.contains("keeps waiting"), "{err}");

    // Still waiting: nothing approved, the step did not run, even after the
    // run read the journal past every refusal (it shows a note written
    // after them).
    cutover_exits(&c, &["note", "r", "after the refusals", "--as", "ic"], 0);
    run.wait_for_stderr("after the refusals");
    let j = journal_tolerant(&c, "r");
    assert!(of_type(&j, "approval_granted").is_empty());
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\n"
    );

    let err = cutover_exits(
        &c,
        &[
            "approve",
            "r",
            "switch",
            "--as",
            "carol",
            "--reason",
            "dashboards green",
        ],
        0,
    );
    assert!(err.contains("1 of 1 approvals"), "{err}");
    let (code, stderr) = run.wait_exit(Duration::from_secs(10));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );
    let j = journal(&c, "r");
    let granted = of_type(&j, "approval_granted");
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0]["as"], "carol");
    assert!(granted[0]["actor"].as_str().unwrap().contains('@'));
    assert_eq!(granted[0]["data"]["reason"], "dashboards green");
    assert!(granted[0]["ts"].as_str().unwrap().ends_with('Z'));
    assert!(stderr.contains("approved by"), "{stderr}");
}

#[test]
fn a_reject_rolls_back_or_aborts_as_configured() {
    for (on_reject, code, effects) in [("rollback", 3, "prep\nundo-prep\n"), ("abort", 4, "prep\n")]
    {
        let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", on_reject));
        let child = spawn_run(&c, &["--wait", "--as", "bob"]);
        wait_for_type(&c, "approval_requested");
        cutover_exits(
            &c,
            &[
                "approve",
                "r",
                "switch",
                "--reject",
                "--as",
                "alice",
                "--reason",
                "error rate",
            ],
            0,
        );
        let (got, stderr) = wait_exit(child, Duration::from_secs(10));
        assert_eq!(got, code, "{on_reject}: {stderr}");
        assert_eq!(std::fs::read_to_string(c.path("effects")).unwrap(), effects);
        let j = journal(&c, "r");
        assert_eq!(
            of_type(&j, "approval_rejected")[0]["data"]["reason"],
            "error rate"
        );
        assert_eq!(of_type(&j, "approval_rejected")[0]["as"], "alice");
    }
}

#[test]
fn an_approval_timeout_pauses_and_resume_counts_votes_given_meanwhile() {
    let c = Cutover::new().runbook(
        &GONOGO
            .replace("ON_REJECT", "rollback")
            .replace("timeout = \"60s\"", "timeout = \"700ms\""),
    );
    let child = spawn_run(&c, &["--wait", "--as", "bob"]);
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("cutover approve r switch"), "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(
        of_type(&j, "approval_timed_out")[0]["data"]["on_timeout"],
        "pause"
    );
    // Approved while paused; resume picks it up.
    let err = cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "alice", "--reason", "ok"],
        0,
    );
    assert!(err.contains("cutover resume r"), "{err}");
    cutover_exits(&c, &["resume", "r", "--as", "bob"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );
}

#[test]
fn without_a_terminal_or_wait_an_approval_pauses_at_once() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    let child = spawn_run(&c, &[]);
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("cutover approve r switch --reason"),
        "{stderr}"
    );
    assert!(stderr.contains("cutover resume r"), "{stderr}");
}

#[test]
fn one_ctrl_c_mid_step_lets_it_finish_then_pauses() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "pause"

[[step]]
id = "slow"
run = "touch started; sleep 1; echo slow >> effects"

[[step]]
id = "next"
run = "echo next >> effects"
"#,
    );
    let child = spawn_run(&c, &[]);
    wait_for_file(&c, "started");
    signal(&child, Signal::SIGINT);
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("cutover resume r"), "{stderr}");
    // The running step finished; the next one did not start.
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "slow\n"
    );
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "interrupted")[0]["data"]["signal"], "SIGINT");
    let paused = of_type(&j, "paused");
    assert_eq!(paused.last().unwrap()["data"]["reason"], "interrupted");
    assert_eq!(outcome(&j), "paused");
    // `cutover resume` always continues.
    cutover_exits(&c, &["resume", "r"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "slow\nnext\n"
    );
}

#[test]
fn notes_and_marks_from_four_processes_while_a_run_writes_10000_lines() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "busy"

[[step]]
id = "chatty"
run = "touch started; for i in $(seq 1 10000); do echo line-$i; if [ $((i % 250)) = 0 ]; then sleep 0.05; fi; done"
"#,
    );
    // Its 10,000 lines go to stderr: a pipe nobody reads would fill up.
    let child = spawn_run_quiet(&c, &[]);
    wait_for_file(&c, "started");
    std::thread::scope(|scope| {
        for w in 0..4 {
            let c = &c;
            scope.spawn(move || {
                for n in 0..10 {
                    let text = format!("writer {w} note {n}");
                    cutover_exits(c, &["note", "r", &text, "--as", &format!("w{w}")], 0);
                }
                let name = if w == 0 { "go-decision" } else { "db_checked" };
                cutover_exits(c, &["mark", "r", name], 0);
            });
        }
    });
    let (code, stderr) = wait_exit(child, Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
    // `journal` panics on any line that does not parse.
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let outputs = of_type(&j, "output");
    assert_eq!(outputs.len(), 10_000);
    let notes = of_type(&j, "note");
    assert_eq!(notes.len(), 40);
    for w in 0..4 {
        for n in 0..10 {
            let text = format!("writer {w} note {n}");
            let found: Vec<_> = notes.iter().filter(|r| r["data"]["text"] == text).collect();
            assert_eq!(found.len(), 1, "{text}");
            assert_eq!(found[0]["as"], format!("w{w}"));
        }
    }
    assert_eq!(of_type(&j, "milestone").len(), 4);
    // The notes really landed among the output lines, not after them.
    let first_out = outputs[0]["seq"].as_u64().unwrap();
    let last_out = outputs[outputs.len() - 1]["seq"].as_u64().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| (first_out..last_out).contains(&n["seq"].as_u64().unwrap())),
        "no note between the output lines"
    );
}

#[test]
fn mark_refuses_odd_names_and_times() {
    let c =
        Cutover::new().runbook("[runbook]\nname = \"m\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 0);
    let err = cutover_exits(&c, &["mark", "r", "not a name"], 1);
    assert!(err.contains("must be a simple name"), "{err}");
    cutover_exits(&c, &["mark", "r", "impact-start", "--at", "yesterday"], 1);
    cutover_exits(
        &c,
        &["mark", "r", "impact-start", "--at", "2026-01-31T22:15:00Z"],
        0,
    );
    let j = journal(&c, "r");
    assert_eq!(
        of_type(&j, "milestone")[0]["data"]["at"],
        "2026-01-31T22:15:00.000Z"
    );
}

#[test]
fn mark_refuses_a_near_miss_of_a_well_known_milestone_unless_free() {
    let c =
        Cutover::new().runbook("[runbook]\nname = \"m\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 0);
    let err = cutover_exits(&c, &["mark", "r", "impact-strat"], 1);
    assert!(
        err.contains(
            "did you mean `impact-start`? (pass --free to record `impact-strat` as a free milestone)"
        ),
        "{err}"
    );
    assert!(of_type(&journal(&c, "r"), "milestone").is_empty());
    // A name far from every well-known one is a free milestone as before.
    cutover_exits(&c, &["mark", "r", "db_checked"], 0);
    let err = cutover_exits(&c, &["mark", "r", "impact-strat", "--free"], 0);
    assert!(err.contains("a free milestone"), "{err}");
    let j = journal(&c, "r");
    let names: Vec<_> = of_type(&j, "milestone")
        .iter()
        .map(|m| m["data"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["db_checked", "impact-strat"]);
}

#[test]
fn status_follow_shows_a_step_change_within_a_second() {
    use std::io::BufRead as _;
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "follow"

[[step]]
id = "first"
run = "sleep 1"

[[step]]
id = "second"
run = "sleep 1"
"#,
    );
    let child = spawn_run(&c, &[]);
    wait_for_type(&c, "run_started");
    let mut follow = bin(&c)
        .args(["status", "r", "--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let mut seen_running_at = None;
    let mut views = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let view: Value = serde_json::from_str(&line).unwrap();
        views += 1;
        let second = view["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "second")
            .unwrap()
            .clone();
        if seen_running_at.is_none() && second["state"] == "running" {
            seen_running_at = Some(std::time::SystemTime::now());
        }
    }
    assert!(
        follow.wait().unwrap().success(),
        "--follow ends with the run"
    );
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 0, "{stderr}");
    assert!(views >= 2, "{views}");
    let seen = seen_running_at.expect("saw `second` running");
    let j = journal(&c, "r");
    let event = state_record(&j, "second", "running");
    let at = humantime::parse_rfc3339_weak(event["ts"].as_str().unwrap()).unwrap();
    let lag = seen.duration_since(at).unwrap_or_default();
    assert!(
        lag < Duration::from_secs(1),
        "shown {lag:?} after the event"
    );
}

#[test]
fn status_and_runs_read_the_journal() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "r", "--as", "bob"],
        4,
    );
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "alice", "--reason", "go"],
        0,
    );
    cutover_exits(&c, &["note", "r", "waiting on the DBA", "--as", "ic"], 0);
    // CUTOVER_ACTOR works like --as, next to the login user@host.
    let out = bin(&c)
        .args(["mark", "r", "go-decision"])
        .env("CUTOVER_ACTOR", "incident-commander")
        .output()
        .unwrap();
    assert!(out.status.success());
    let j = journal(&c, "r");
    let mark = of_type(&j, "milestone")[0];
    assert_eq!(mark["as"], "incident-commander");
    assert!(mark["actor"].as_str().unwrap().contains('@'));
    let out = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("PAUSED"), "{text}");
    assert!(text.contains("1 of 1 approved"), "{text}");
    assert!(
        text.contains("approved by") && text.contains("(as alice) at"),
        "{text}"
    );
    assert!(text.contains("(as ic): waiting on the DBA"), "{text}");
    assert!(text.contains("cutover approve r switch"), "{text}");
    assert!(
        text.contains("go-decision (") && text.contains("(as incident-commander)"),
        "{text}"
    );
    let out = bin(&c).args(["runs", "--format", "json"]).output().unwrap();
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs["runs"][0]["run_id"], "r");
    assert_eq!(runs["runs"][0]["outcome"], "paused");
    let out = bin(&c).args(["runs"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gonogo") && text.contains("paused"), "{text}");
}

/// Milliseconds between two RFC 3339 journal timestamps.
fn ms_between(from: &Value, to: &Value) -> u128 {
    let parse = |v: &Value| humantime::parse_rfc3339_weak(v.as_str().unwrap()).unwrap();
    parse(to).duration_since(parse(from)).unwrap().as_millis()
}

#[test]
fn webhooks_that_are_down_or_slow_never_delay_steps_and_failures_are_journaled() {
    use crate::support::http_server::{HttpServer, Reply};
    let good = HttpServer::start();
    good.route("POST", "/hooks/T000/B000/secretpart", [Reply::new(200)]);
    let slow = HttpServer::start();
    slow.route(
        "POST",
        "/hook",
        [Reply::new(200).delay(Duration::from_secs(5))],
    );
    // A port nobody listens on.
    let down_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "notified"

[notify.chat]
kind = "slack"
url = "{good}/hooks/T000/B000/secretpart"

[notify.slow]
url = "{slow}/hook"

[notify.down]
url = "http://127.0.0.1:{down_port}/hook"
events = ["run_started", "approval_pending"]

[[step]]
id = "a"
run = "true"

[[step]]
id = "b"
approval = {{ required = true }}
run = "true"

[[step]]
id = "c"
run = "true"
"#,
        good = good.url(),
        slow = slow.url(),
    ));
    let child = spawn_run(&c, &["--wait"]);
    wait_for_type(&c, "approval_requested");
    cutover_exits(&c, &["approve", "r", "b", "--as", "alice"], 0);
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    let j = journal(&c, "r");
    // Steps ran back to back although the slow webhook takes 5 s per request.
    let started = &of_type(&j, "run_started")[0]["ts"];
    let a_done = state_record(&j, "a", "done");
    assert!(
        ms_between(started, &a_done["ts"]) < 1000,
        "step a was delayed"
    );
    let granted = &of_type(&j, "approval_granted")[0]["ts"];
    let c_done = state_record(&j, "c", "done");
    assert!(
        ms_between(granted, &c_done["ts"]) < 1500,
        "steps b, c were delayed"
    );
    // Failures are journaled, per webhook, never with its URL.
    let failed = of_type(&j, "notify_failed");
    let down: Vec<_> = failed
        .iter()
        .filter(|r| r["data"]["notify"] == "down")
        .collect();
    assert_eq!(down.len(), 2, "{failed:?}");
    assert!(
        down.iter()
            .any(|r| r["data"]["about"] == "approval_pending")
    );
    assert!(
        failed.iter().any(|r| r["data"]["notify"] == "slow"),
        "{failed:?}"
    );
    assert!(
        !failed.iter().any(|r| r["data"]["notify"] == "chat"),
        "{failed:?}"
    );
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap();
    assert!(
        !text.contains("secretpart"),
        "webhook URLs are masked in the journal"
    );
    assert!(!stderr.contains("secretpart"), "{stderr}");
    // Slack got its payload shape, with the exact approve command.
    let seen = good.requests();
    let bodies: Vec<Value> = seen
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    // Slack: the line as `text` (for clients without blocks), and Block Kit
    // sections: the headline, then run (step, owner), then the command.
    assert!(
        bodies.iter().all(|b| b.as_object().unwrap().len() == 2
            && b["text"].is_string()
            && b["blocks"][0]["type"] == "section"
            && b["blocks"][1]["fields"][0]["text"] == "*Run*\n`r`"),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b["blocks"][2]["text"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("*To act*\n```cutover approve r b --reason"))),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b["text"]
            .as_str()
            .unwrap()
            .contains("cutover approve r b --reason")),
        "{bodies:?}"
    );
    for kind in ["run `r` completed", "started"] {
        assert!(
            bodies
                .iter()
                .any(|b| b["text"].as_str().unwrap().contains(kind)),
            "{kind}: {bodies:?}"
        );
    }
}

/// `cutover ARGS` on a pseudo-terminal (util-linux `script`): what it prints,
/// and a way to type into it.
///
/// `script -c` runs the command through `$SHELL -c`. dash (Debian's `/bin/sh`,
/// and `$SHELL` on a bare CI machine) stays as cutover's parent in the same
/// foreground process group, so a typed Ctrl-C kills the shell and `script`
/// reports 130 even though cutover handled it. `exec` makes cutover the
/// terminal's only foreground process, whatever the shell.
pub(crate) struct Tty {
    child: Child,
    stdin: std::process::ChildStdin,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Tty {
    pub(crate) fn start(c: &Cutover, args: &str) -> Tty {
        use std::io::Read as _;
        // util-linux `script`, of Debian's bsdutils.
        let mut child =
            std::process::Command::new(crate::support::tools::require("script", "bsdutils"))
                .current_dir(c.dir())
                .args([
                    "-qfec",
                    &format!("exec {} {args}", crate::support::cutover::BIN),
                    "/dev/null",
                ])
                .env("NO_COLOR", "1")
                .env_remove("CUTOVER_ACTOR")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn script (util-linux)");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = output.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Tty {
            child,
            stdin,
            output,
            reader,
        }
    }

    pub(crate) fn wait_for_text(&self, text: &str) {
        self.wait_for_count(text, 1);
    }

    /// How many times `text` is on the terminal so far.
    pub(crate) fn count(&self, text: &str) -> usize {
        self.output.lock().unwrap().matches(text).count()
    }

    /// Wait (15 s at most) until `text` is on the terminal `times` times.
    pub(crate) fn wait_for_count(&self, text: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.count(text) < times {
            assert!(
                Instant::now() < deadline,
                "no `{text}` ({times} times) on the terminal:\n{}",
                self.output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn type_line(&mut self, bytes: &str) {
        use std::io::Write as _;
        self.stdin.write_all(bytes.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    pub(crate) fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Read to the terminal's end: all the output is in.
                drop(self.stdin);
                let _ = self.reader.join();
                return (
                    status.code().unwrap_or(-1),
                    self.output.lock().unwrap().clone(),
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running:\n{}", self.output.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn ctrl_c_at_a_terminal_offers_continue_rollback_abort() {
    for (answer, code, effects, expected) in [
        ("continue", 0, "slow\nnext\n", "completed"),
        ("rollback", 3, "slow\nundo-slow\n", "rolled_back"),
        ("abort", 4, "slow\n", "aborted"),
    ] {
        let c = Cutover::new().runbook(
            r#"
[runbook]
name = "menu"

[[step]]
id = "slow"
run = "touch started; sleep 1; echo slow >> effects"
rollback = "echo undo-slow >> effects"

[[step]]
id = "next"
run = "echo next >> effects"
rollback = "echo undo-next >> effects"
"#,
        );
        let mut tty = Tty::start(&c, "run runbook.toml --run-id r --no-progress --as op");
        wait_for_file(&c, "started");
        // Ctrl-C typed at the terminal: the line discipline sends SIGINT.
        tty.type_line("\x03");
        tty.wait_for_text("type continue, rollback or abort");
        wait_for(&c, "slow done", |r| {
            r["type"] == "step_state" && r["data"]["step"] == "slow" && r["data"]["state"] == "done"
        });
        tty.type_line(&format!("{answer}\n"));
        let (got, screen) = tty.finish();
        assert_eq!(got, code, "{answer}:\n{screen}");
        assert_eq!(
            std::fs::read_to_string(c.path("effects")).unwrap(),
            effects,
            "{answer}"
        );
        let j = journal(&c, "r");
        let decision = of_type(&j, "decision");
        assert_eq!(decision[0]["data"]["context"], "interrupt", "{answer}");
        assert_eq!(decision[0]["data"]["choice"], answer);
        assert_eq!(decision[0]["as"], "op", "who chose is journaled");
        assert_eq!(outcome(&j), expected, "{answer}");
    }
}

#[test]
fn the_operator_cannot_self_approve_at_the_prompt_and_the_run_keeps_waiting() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    let mut tty = Tty::start(&c, "run runbook.toml --run-id r --no-progress --as bob");
    tty.wait_for_text("needs approval by someone other than the operator");
    tty.type_line("yes looks fine\n");
    tty.wait_for_text("someone else must approve it; still waiting for approval");
    // One more line, answered with the prompt again: the engine went round
    // its loop (and flushed its journal) after refusing the vote.
    let prompt = "needs approval by someone other than the operator";
    let shown = tty.count(prompt);
    tty.type_line("what\n");
    tty.wait_for_count(prompt, shown + 1);
    assert!(of_type(&journal_tolerant(&c, "r"), "approval_granted").is_empty());
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "alice", "--reason", "go"],
        0,
    );
    let (code, screen) = tty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("approved by"), "{screen}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );
}

#[test]
fn a_vote_before_the_step_asks_is_refused() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback").replace(
        "run = \"echo prep >> effects\"",
        "run = \"touch started; sleep 1; echo prep >> effects\"",
    ));
    let child = spawn_run(&c, &["--wait", "--as", "bob"]);
    wait_for_file(&c, "started");
    let err = cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--as", "alice", "--reason", "early",
        ],
        1,
    );
    assert!(err.contains("not waiting for approval yet"), "{err}");
    let err = cutover_exits(
        &c,
        &["approve", "r", "nosuch", "--as", "alice", "--reason", "x"],
        1,
    );
    assert!(err.contains("has no step `nosuch`"), "{err}");
    wait_for_type(&c, "approval_requested");
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "alice", "--reason", "now"],
        0,
    );
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn sigterm_while_waiting_for_approval_aborts_and_resume_goes_on() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    let child = spawn_run(&c, &["--wait", "--as", "bob"]);
    wait_for_type(&c, "approval_requested");
    signal(&child, Signal::SIGTERM);
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    assert_eq!(code, 4, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "interrupted")[0]["data"]["signal"], "SIGTERM");
    assert_eq!(outcome(&j), "aborted");
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--as", "alice", "--reason", "go"],
        0,
    );
    cutover_exits(&c, &["resume", "r"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );
}

#[test]
fn an_unknown_team_is_a_warning() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "teams"

[teams]
sre = ["alice"]

[[step]]
id = "a"
approval = { required = true, approvers = ["team:sre", "team:dba"] }
run = "true"
rollback = "true"
"#,
    );
    let err = cutover_exits(&c, &["validate", "runbook.toml"], 0);
    assert!(
        err.contains("approver `team:dba` names unknown team `dba`"),
        "{err}"
    );
    assert!(!err.contains("team `sre`"), "{err}");
}

#[test]
fn status_of_a_killed_run_says_stopped_and_follow_keeps_watching_unless_exit_on_stop() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "killed"

[[step]]
id = "long"
run = "echo $$ > leader.pid; sleep 30"
"#,
    );
    let mut child = spawn_run(&c, &[]);
    wait_for(&c, "the step running", |r| {
        r["type"] == "attempt_started" && r["data"]["step"] == "long"
    });
    // While it is driven, it is running.
    let out = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["state"], "running", "{view}");
    assert_eq!(view["driven"], true, "{view}");
    kill9(&mut child);

    let out = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("STOPPED (no process drives it; continue with `cutover resume r`)"),
        "{text}"
    );
    let out = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["state"], "stopped", "{view}");
    assert_eq!(view["driven"], false, "{view}");

    for format in ["text", "json"] {
        let follow = bin(&c)
            .args([
                "status",
                "r",
                "--follow",
                "--exit-on-stop",
                "--format",
                format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, stderr) = wait_exit(follow, Duration::from_secs(5));
        assert_eq!(code, 0, "{format}: {stderr}");
    }
    // Without `--exit-on-stop` it keeps watching for a resume.
    let mut follow = bin(&c)
        .args(["status", "r", "--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        follow.try_wait().unwrap().is_none(),
        "it left a stopped run"
    );
    let _ = follow.kill();
    let out = follow.wait_with_output().unwrap();
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["state"], "stopped");
    assert_eq!(first["waiting_for"][0]["commands"][0], "cutover resume r");
    // The killed run's step lives on in its own group: stop it.
    if let Some(leader) = pid_in(&c.path("leader.pid")) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(leader),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn a_step_that_fails_after_ctrl_c_pauses_instead_of_rolling_back() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "fail-after-interrupt"

[[step]]
id = "prep"
run = "true"
rollback = "echo undo-prep >> effects"

[[step]]
id = "flaky"
run = "touch started; sleep 2; exit 1"
rollback = "echo undo-flaky >> effects"
"#,
    );
    let child = spawn_run(&c, &[]);
    wait_for_file(&c, "started");
    // Interrupted while the engine knows `flaky` runs (it fails later).
    wait_for_process_started(&c, "flaky", "step");
    signal(&child, Signal::SIGINT);
    let (code, stderr) = wait_exit(child, Duration::from_secs(15));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("cutover resume r --rerun flaky"),
        "{stderr}"
    );
    assert!(!c.path("effects").exists(), "nothing rolled back: {stderr}");
    let j = journal(&c, "r");
    assert!(of_type(&j, "rollback_started").is_empty(), "{stderr}");
    assert_eq!(of_type(&j, "interrupted")[0]["data"]["signal"], "SIGINT");
    let paused = of_type(&j, "paused");
    assert!(
        paused
            .iter()
            .any(|p| p["data"]["reason"] == "step_failed" && p["data"]["step"] == "flaky"),
        "{paused:?}"
    );
    assert!(
        paused.iter().any(|p| p["data"]["reason"] == "interrupted"),
        "{paused:?}"
    );
    assert_eq!(outcome(&j), "paused");
}

#[test]
fn pause_hints_name_the_run_and_resume_abort_ends_it_without_rollback() {
    // A failed step with on_failure = "pause": the last line repeats the
    // decision, with the run id, not a plain resume that would pause again.
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "hints"

[[step]]
id = "prep"
run = "echo prep >> effects"
rollback = "echo undo-prep >> effects"

[[step]]
id = "broken"
run = "exit 1"
on_failure = "pause"
rollback = "echo undo-broken >> effects"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        last.contains("cutover resume r --rerun broken | --skip broken | --rollback | --abort"),
        "last line: {last}\n{stderr}"
    );
    assert!(stderr.contains("cutover resume r --abort"), "{stderr}");

    let stderr = cutover_exits(&c, &["resume", "r", "--abort", "--as", "dana"], 4);
    assert!(stderr.contains("aborted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\n",
        "nothing rolled back, nothing ran"
    );
    let j = journal(&c, "r");
    assert!(of_type(&j, "rollback_started").is_empty());
    let decision = of_type(&j, "decision");
    let abort = decision.last().unwrap();
    assert_eq!(abort["data"]["choice"], "abort");
    assert_eq!(abort["data"]["context"], "resume");
    assert_eq!(abort["as"], "dana");
    assert!(abort["actor"].as_str().unwrap().contains('@'));
    let finished = of_type(&j, "run_finished");
    let last = finished.last().unwrap();
    assert_eq!(last["data"]["outcome"], "aborted");
    assert_eq!(last["data"]["exit_code"], 4);
    let out = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ABORTED"), "{text}");
}

#[test]
fn the_approval_hint_names_the_run_in_every_command() {
    let c = Cutover::new().runbook(&GONOGO.replace("ON_REJECT", "rollback"));
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    // `switch` names its approvers: `--yes` would not approve it, so the
    // hint does not offer it.
    assert!(!stderr.contains("--yes"), "{stderr}");
    assert!(stderr.contains("cutover approve r switch"), "{stderr}");
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        last.contains("cutover approve r switch --reason") && last.contains("cutover resume r"),
        "last line: {last}"
    );
}

/// The `runs` text table's line for `run_id`.
fn runs_line(text: &str, run_id: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(run_id))
        .unwrap_or_else(|| panic!("no `{run_id}` in\n{text}"))
        .to_string()
}

#[test]
fn runs_show_the_mode_and_durations_end_with_the_run() {
    let book = "[runbook]\nname = \"payments-database-migration\"\n[[step]]\nid = \"a\"\nrun = \"sleep 0.3\"\n";
    let c = Cutover::new().runbook(book);
    // Default run ids: a runbook name over 16 chars gives one over 36.
    cutover_exits(&c, &["run", "runbook.toml", "--dry-run"], 0);
    let run = ["run", "runbook.toml", "--run-id", "r"];
    cutover_at(&c, "2026-03-01T10:00:00Z", &run, 0);
    let runs = |c: &Cutover| -> Value {
        let out = bin(c).args(["runs", "--format", "json"]).output().unwrap();
        assert!(out.status.success());
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["runs"].clone()
    };
    let before = runs(&c);
    let rows = before.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let dry = rows.iter().find(|r| r["run_id"] != "r").unwrap();
    let real = rows.iter().find(|r| r["run_id"] == "r").unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(real["dry_run"], false);
    let long_id = dry["run_id"].as_str().unwrap().to_string();
    assert!(long_id.len() > 36, "{long_id}");

    // Notes and marks an hour after the end (pinned clocks) do not make the
    // run longer, in `runs`, `status` and the report alike.
    let note = ["note", "r", "all quiet", "--as", "ic"];
    cutover_at(&c, "2026-03-01T11:00:00Z", &note, 0);
    let mark = ["mark", "r", "all-clear", "--as", "ic"];
    cutover_at(&c, "2026-03-01T11:00:01Z", &mark, 0);
    let after = runs(&c);
    let real_after = after
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == "r")
        .unwrap();
    let j = journal(&c, "r");
    let want = ms_between(
        &of_type(&j, "run_started")[0]["ts"],
        &of_type(&j, "run_finished")[0]["ts"],
    );
    assert_eq!(real_after["duration_ms"], real["duration_ms"]);
    assert_eq!(
        u128::from(real_after["duration_ms"].as_u64().unwrap()),
        want
    );
    let out = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["duration_ms"], real["duration_ms"]);
    let out = bin(&c)
        .args(["report", "r", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["duration_ms"], real["duration_ms"]);

    // Text: a MODE column, and every column lined up whatever the id's length.
    let out = bin(&c).args(["runs"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let header = text.lines().next().unwrap().to_string();
    let (dry_line, real_line) = (runs_line(&text, &long_id), runs_line(&text, "r "));
    for (col, dry_cell, real_cell) in [
        ("MODE", "dry run", "real"),
        ("OUTCOME", "completed", "completed"),
    ] {
        let at = header.find(col).unwrap();
        assert_eq!(dry_line.find(dry_cell), Some(at), "{text}");
        assert_eq!(real_line.find(real_cell), Some(at), "{text}");
    }
    assert_eq!(dry_line.len(), real_line.len(), "{text}");
    assert_eq!(header.len(), real_line.len(), "{text}");
}

#[test]
fn status_of_a_paused_manual_step_says_how_long_it_has_been_paused() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"m\"\n[[step]]\nid = \"call\"\nmanual = \"call the bank\"\n");
    // No terminal: the manual step pauses the run at once; `status` looks an
    // hour later (pinned clocks).
    let run = ["run", "runbook.toml", "--run-id", "r"];
    cutover_at(&c, "2026-03-01T10:00:00Z", &run, 4);
    let later = "2026-03-01T11:00:00Z";
    let out = bin(&c)
        .env("CUTOVER_NOW", later)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ran = v["duration_ms"].as_u64().unwrap();
    let paused = v["paused_for_ms"].as_u64().unwrap();
    assert!(paused >= 3_000_000, "{v}");
    assert!(ran < 60_000, "{v}");
    let j = journal(&c, "r");
    let want = ms_between(
        &of_type(&j, "run_started")[0]["ts"],
        &of_type(&j, "run_finished")[0]["ts"],
    );
    assert_eq!(u128::from(ran), want);
    let out = bin(&c)
        .env("CUTOVER_NOW", later)
        .args(["status", "r"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(
        first.contains("PAUSED for 59m") && first.contains("after it started)"),
        "{text}"
    );
    assert!(!first.contains("PAUSED after"), "{text}");
}
