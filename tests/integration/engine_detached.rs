//! A command that leaves a detached process behind (`setsid`, `ssh -f`, a
//! daemonising tool): that process left the step's group, so it is not
//! killed, but it still holds the step's output pipes. The step's outcome
//! must follow its own group: the run goes on 500 ms after the group ends,
//! journals `output_abandoned` naming the holder, and timeouts, SIGTERM and
//! Ctrl-C work at every moment. Command sources likewise.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type, outcome, state_record};
use crate::support::run::{
    gone_within, pgid_of, pid_in, signal, spawn_run, wait_exit, wait_for_file, wait_for_type,
};

/// How long a run may take when nothing waits for the detached process: a
/// regression waits for it (20 s or more) and fails this bound.
const PROMPT: Duration = Duration::from_secs(8);

/// Kills the detached process a test started (its pid is in
/// `detached.pid`), with its session's group, when the test ends, passed or
/// not; only while that pid still leads its own group (as `setsid` made it).
struct KillDetached(PathBuf);

impl KillDetached {
    fn new(c: &Cutover) -> Self {
        KillDetached(c.path("detached.pid"))
    }
}

impl Drop for KillDetached {
    fn drop(&mut self) {
        let Some(pid) = pid_in(&self.0) else { return };
        if pgid_of(pid) == Some(pid) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Shell lines starting a detached `sleep SECS` whose pid goes to
/// `detached.pid` (in a non-interactive shell the background job is no
/// group leader, so `setsid` does not fork: `$!` is the sleep itself), then
/// waiting until it has left the shell's group (field 5 of its stat), so the
/// group's end cannot kill it first.
fn detach(secs: u32) -> String {
    format!(
        "setsid sleep {secs} & echo $! > detached.pid\n\
         while [ \"$(cut -d' ' -f5 /proc/$!/stat)\" = $$ ]; do sleep 0.01; done\n"
    )
}

/// The one `output_abandoned` record of `step` (in `phase`); checks that it
/// names the detached sleep (pid and command line).
fn abandoned<'a>(c: &Cutover, j: &'a [Value], step: &str, phase: &str, secs: u32) -> &'a Value {
    let found: Vec<&Value> = of_type(j, "output_abandoned")
        .into_iter()
        .filter(|r| r["data"]["step"] == step && r["data"]["phase"] == phase)
        .collect();
    assert_eq!(found.len(), 1, "{j:#?}");
    let pid = pid_in(&c.path("detached.pid")).expect("detached.pid");
    let holders = found[0]["data"]["holders"].as_array().expect("holders");
    assert!(
        holders
            .iter()
            .any(|h| h["pid"] == pid && h["command"] == format!("sleep {secs}")),
        "holders should name `sleep {secs}` ({pid}): {holders:?}"
    );
    found[0]
}

/// The detached process is left running: cutover does not kill what left
/// the group on purpose.
fn assert_still_running(c: &Cutover) {
    let pid = pid_in(&c.path("detached.pid")).expect("detached.pid");
    assert!(
        !gone_within(pid, Duration::from_millis(100)),
        "the detached process {pid} was killed"
    );
}

#[test]
fn a_detached_process_does_not_hold_a_finished_step() {
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detached"

[[step]]
id = "start"
run = '''
{}sleep 0.5; echo started'''
timeout = "2s"

[[step]]
id = "next"
run = "echo next >> effects"
"#,
        detach(25)
    ));
    let _reap = KillDetached::new(&c);
    let began = Instant::now();
    let (code, stderr) = wait_exit(spawn_run(&c, &[]), PROMPT);
    assert_eq!(code, 0, "{stderr}");
    assert!(began.elapsed() < PROMPT);
    let j = journal(&c, "r");
    state_record(&j, "start", "done");
    state_record(&j, "next", "done");
    let outputs: Vec<&Value> = of_type(&j, "output");
    assert!(
        outputs.iter().any(|o| o["data"]["line"] == "started"),
        "{outputs:?}"
    );
    let warning = abandoned(&c, &j, "start", "step", 25);
    // Journaled before the attempt's end, after its output.
    let finished = of_type(&j, "attempt_finished")[0];
    assert!(warning["seq"].as_u64() < finished["seq"].as_u64());
    assert_eq!(finished["data"]["result"], "succeeded");
    // The terminal names the step and the holder.
    let pid = pid_in(&c.path("detached.pid")).unwrap();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("`start`") && l.contains(&format!("{pid} `sleep 25`"))),
        "{stderr}"
    );
    assert_still_running(&c);
    // `cutover status` shows it with the step.
    let out = c.command().args(["status", "r"]).output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains(&format!("{pid} `sleep 25`")),
        "status should show the warning: {status}"
    );
    // The report lists it among the deviations.
    let out = c
        .command()
        .args(["report", "r", "--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.lines()
            .any(|l| l.contains("output-abandoned") && l.contains(&format!("{pid} `sleep 25`"))),
        "{md}"
    );
}

#[test]
fn a_timeout_stops_the_step_while_a_detached_process_holds_its_output() {
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detached-timeout"

[[step]]
id = "hang"
run = '''
{}sleep 100'''
timeout = "2s"
on_failure = "continue"

[[step]]
id = "next"
run = "echo next >> effects"
"#,
        detach(26)
    ));
    let _reap = KillDetached::new(&c);
    let began = Instant::now();
    let (code, stderr) = wait_exit(spawn_run(&c, &[]), PROMPT);
    assert!(began.elapsed() < PROMPT);
    assert_eq!(code, 0, "{stderr}");
    let j = journal(&c, "r");
    let finished = of_type(&j, "attempt_finished");
    assert_eq!(finished[0]["data"]["result"], "timed_out", "{finished:?}");
    state_record(&j, "hang", "failed");
    state_record(&j, "next", "done");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "next\n"
    );
    abandoned(&c, &j, "hang", "step", 26);
    assert_still_running(&c);
}

#[test]
fn the_named_holder_is_masked() {
    const SECRET: &str = "hunter2-detached";
    let c = Cutover::new()
        .runbook(
            r#"
[runbook]
name = "detached-secret"

[secrets]
pw = { env = "DETACHED_PW" }

[[step]]
id = "start"
run = '''
setsid sh -c 'sleep 22; :' "{{ secrets.pw }}" & echo $! > detached.pid
while [ "$(cut -d' ' -f5 /proc/$!/stat)" = $$ ]; do sleep 0.01; done
'''
"#,
        )
        .env("DETACHED_PW", SECRET);
    let _reap = KillDetached::new(&c);
    let (code, stderr) = wait_exit(
        c.command()
            .args(["run", "runbook.toml", "--run-id", "r"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        PROMPT,
    );
    assert_eq!(code, 0, "{stderr}");
    let pid = pid_in(&c.path("detached.pid")).unwrap();
    let j = journal(&c, "r");
    let holders = &of_type(&j, "output_abandoned")[0]["data"]["holders"];
    // The shell, and the `sleep` it started (which inherited the pipes).
    assert_eq!(holders[0]["pid"], pid, "{holders}");
    assert_eq!(holders[0]["command"], "sh -c sleep 22; : ***", "{holders}");
    assert_eq!(holders[1]["command"], "sleep 22", "{holders}");
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}

/// A step whose group leader is still running, a detached process holding
/// its output: the run is stopped by `stop` (signals sent to cutover).
fn stopped_mid_step(
    stop: impl FnOnce(&Cutover, &std::process::Child),
) -> (Cutover, KillDetached, i32, String) {
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detached-stop"

[[step]]
id = "hang"
run = '''
{}touch started; sleep 100'''
rollback = "echo undo >> effects"
"#,
        detach(27)
    ));
    let reap = KillDetached::new(&c);
    let child = spawn_run(&c, &[]);
    wait_for_file(&c, "started");
    let began = Instant::now();
    stop(&c, &child);
    let (code, stderr) = wait_exit(child, PROMPT);
    assert!(began.elapsed() < PROMPT, "{stderr}");
    (c, reap, code, stderr)
}

#[test]
fn sigterm_aborts_at_once_while_a_detached_process_holds_the_output() {
    let (c, _reap, code, stderr) = stopped_mid_step(|_, child| signal(child, Signal::SIGTERM));
    assert_eq!(code, 4, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "aborted");
    assert_eq!(
        of_type(&j, "attempt_finished")[0]["data"]["result"],
        "killed"
    );
    abandoned(&c, &j, "hang", "step", 27);
    assert_still_running(&c);
}

#[test]
fn a_double_ctrl_c_aborts_while_a_detached_process_holds_the_output() {
    let (c, _reap, code, stderr) = stopped_mid_step(|c, child| {
        signal(child, Signal::SIGINT);
        // Handled, not merged with the second one by the kernel.
        wait_for_type(c, "interrupted");
        signal(child, Signal::SIGINT);
    });
    assert_eq!(code, 4, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "aborted");
    abandoned(&c, &j, "hang", "step", 27);
}

#[test]
fn one_ctrl_c_pauses_once_the_group_ends_not_the_detached_process() {
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detached-pause"

[[step]]
id = "slow"
run = '''
{}touch started; sleep 1; echo slow >> effects'''

[[step]]
id = "next"
run = "echo next >> effects"
"#,
        detach(28)
    ));
    let _reap = KillDetached::new(&c);
    let child = spawn_run(&c, &[]);
    wait_for_file(&c, "started");
    let began = Instant::now();
    signal(&child, Signal::SIGINT);
    let (code, stderr) = wait_exit(child, PROMPT);
    assert!(began.elapsed() < PROMPT);
    assert_eq!(code, 4, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "paused");
    state_record(&j, "slow", "done");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "slow\n"
    );
    abandoned(&c, &j, "slow", "step", 28);
}

#[test]
fn a_rollback_command_with_a_detached_process_finishes_promptly() {
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detached-rollback"

[[step]]
id = "prep"
run = "true"
rollback = '''
{}echo undone'''

[[step]]
id = "boom"
run = "exit 1"
"#,
        detach(29)
    ));
    let _reap = KillDetached::new(&c);
    let began = Instant::now();
    let (code, stderr) = wait_exit(spawn_run(&c, &[]), PROMPT);
    assert!(began.elapsed() < PROMPT);
    assert_eq!(code, 3, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "rolled_back");
    let rb = of_type(&j, "rollback_step_finished");
    assert_eq!(rb[0]["data"]["ok"], true, "{rb:?}");
    abandoned(&c, &j, "prep", "rollback", 29);
}

/// A probe that prints its value after detaching a `sleep 20` (waiting
/// until it has left the group, so that the group's end cannot kill it).
const DETACHED_PROBE: &str = "setsid sleep 20 & echo $! > detached.pid; \
     while [ \"$(cut -d\" \" -f5 /proc/$!/stat)\" = $$ ]; do sleep 0.01; done; echo 1";

const COMMAND_SOURCE: &str = r#"
[runbook]
name = "detached-probe"

[sources.local]
kind = "command"

[[step]]
id = "deploy"
run = "true"
rollback = "true"

[[step.gate]]
name = "up"
source = "local"
query = 'PROBE'
pass_if = "== 1"
"#;

#[test]
fn a_command_source_reads_its_value_despite_a_detached_process() {
    let c = Cutover::new().runbook(&COMMAND_SOURCE.replace("PROBE", DETACHED_PROBE));
    let _reap = KillDetached::new(&c);
    let began = Instant::now();
    let out = c
        .command()
        .args([
            "query",
            "local",
            DETACHED_PROBE,
            "--runbook",
            "runbook.toml",
            "--condition",
            "== 1",
        ])
        .output()
        .unwrap();
    assert!(began.elapsed() < PROMPT);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("pass"), "{stdout}");
    assert!(!stdout.contains("no data"), "{stdout}");
    assert_still_running(&c);
}

#[test]
fn a_command_gate_passes_despite_a_detached_process() {
    let c = Cutover::new().runbook(&COMMAND_SOURCE.replace("PROBE", DETACHED_PROBE));
    let _reap = KillDetached::new(&c);
    let began = Instant::now();
    let out = c
        .command()
        .args(["gate", "runbook.toml", "deploy.up"])
        .output()
        .unwrap();
    assert!(began.elapsed() < PROMPT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("gate deploy.up: pass"), "{stdout}");
    assert_still_running(&c);
}
