//! `--detach-hypercare` with a real Prometheus: once every step is done the
//! run's process hands the hypercare watch to a background process and
//! exits 0; that process keeps journaling (a breach rolls back in reverse
//! order, no breach completes the run after the hypercare), is followed with
//! `status`, resumed after a `kill -9`, and ended early with
//! `--end-hypercare`. The secret it needs reaches it through its
//! environment, never its arguments or its log.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, journal_tolerant, of_type, outcome, seq};
use crate::support::prometheus::{Prometheus, rollback_trigger, shared};
use crate::support::run::{bin, cutover, gone_within, lives_on, wait_exit, wait_for, wait_until};

/// The secret the rollbacks use, from `HC_TOKEN`.
const SECRET: &str = "hc-secret-7f3a91";

/// Two steps whose rollbacks log (one with the secret), a rollback trigger
/// on `query`, and a hypercare of `hypercare`.
fn runbook(prom: &Prometheus, query: &str, hypercare: &str) -> Cutover {
    Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "detach"

[secrets]
token = {{ env = "HC_TOKEN" }}

[hypercare]
duration = "{hypercare}"
{trigger}
[[step]]
id = "a"
run = "echo a"
rollback = "echo undo-a >> undo.log"

[[step]]
id = "b"
run = "echo b"
rollback = "echo undo-b-{{{{ secrets.token }}}} >> undo.log"
"#,
        trigger = rollback_trigger(&prom.url(), "errors", query, "0s", "300ms")
    ))
}

/// The binary in the test's directory, with the secret in its environment.
fn with_secret(c: &Cutover) -> Command {
    let mut cmd = bin(c);
    cmd.env("HC_TOKEN", SECRET);
    cmd
}

/// Milliseconds from record `a` to record `b` (their `ts`).
fn ms_between(a: &Value, b: &Value) -> i64 {
    let t = |r: &Value| {
        cutover::journal::Ts::parse(r["ts"].as_str().unwrap())
            .unwrap()
            .ms
    };
    t(b) - t(a)
}

/// The background process of a detached run: `kill -9`ed when the test
/// ends, passed or not, if it still runs (checked to be that process, never
/// a stranger that reused its pid).
struct Background {
    pid: i32,
    log: String,
}

impl Drop for Background {
    fn drop(&mut self) {
        let ours = std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--background-watch"));
        if ours {
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }
}

/// `cutover run --detach-hypercare` to its exit, which must be prompt and
/// 0; the background process it handed the run to, once that process has
/// taken the run over and armed its triggers.
fn run_detached(c: &Cutover) -> (Background, String) {
    let child = with_secret(c)
        .args(["run", "runbook.toml", "--run-id", "r", "--detach-hypercare"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    let j = journal(c, "r");
    let detached = of_type(&j, "hypercare_detached");
    assert_eq!(detached.len(), 1, "{stderr}");
    let pid = detached[0]["data"]["pid"].as_u64().expect("the pid") as i32;
    let background = Background {
        pid,
        log: detached[0]["data"]["log"].as_str().unwrap().to_string(),
    };
    assert!(
        stderr.contains(&format!(
            "hypercare continues in the background (pid {pid}, log {})",
            background.log
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("follow it with `cutover status r --follow`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("end it with `cutover resume r --end-hypercare --reason"),
        "{stderr}"
    );
    // Taken over before the foreground exited: its `run_resumed` is there.
    let resumed = of_type(&j, "run_resumed");
    assert_eq!(resumed.len(), 1, "{stderr}");
    assert_eq!(resumed[0]["data"]["pid"], pid);
    assert!(seq(detached[0]) < seq(resumed[0]));
    assert!(
        of_type(&j, "run_finished").is_empty(),
        "the foreground exited before the hypercare was over"
    );
    let armed_after = |r: &Value| r["type"] == "trigger_armed" && seq(r) > seq(resumed[0]);
    wait_for(c, "the background process to arm the trigger", armed_after);
    // Its secret came through the environment, not its arguments.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("resume --background-watch"), "{cmdline}");
    assert!(!cmdline.contains(SECRET), "{cmdline}");
    (background, stderr)
}

/// Wait (up to `within`) until run `r` journals `run_finished`.
fn wait_for_finish(c: &Cutover, within: Duration) -> Vec<Value> {
    wait_until("the run to finish", within, || {
        !of_type(&journal_tolerant(c, "r"), "run_finished").is_empty()
    });
    journal(c, "r")
}

/// What the background process wrote: its log is private and does not
/// hold the secret.
fn assert_secret_kept(bg: &Background) {
    let meta = std::fs::metadata(&bg.log).expect("the background log");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let log = std::fs::read_to_string(&bg.log).unwrap();
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn detached_hypercare_exits_at_once_and_the_background_completes_the_run_after_it() {
    let prom = shared();
    let job = format!("detach_quiet_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_quiet", "0");
    let c = runbook(prom, &query, "5s");
    let (bg, _) = run_detached(&c);
    assert!(lives_on(bg.pid), "the background process watches on");
    // The war room sees who watches, and where its output goes.
    let status = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("HYPERCARE: "), "{text}");
    assert!(
        text.contains(&format!(
            "in the background (pid {}), log {}",
            bg.pid, bg.log
        )),
        "{text}"
    );
    assert!(!text.contains("STOPPED"), "{text}");
    let status = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let view: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(view["hypercare"]["background"]["pid"], bg.pid);
    let j = wait_for_finish(&c, Duration::from_secs(20));
    prom.delete(&job);
    let started = of_type(&j, "hypercare_started")[0];
    let finished = of_type(&j, "run_finished")[0];
    assert!(
        ms_between(started, finished) >= 5000,
        "the run ended {} ms into a 5 s hypercare",
        ms_between(started, finished)
    );
    assert_eq!(outcome(&j), "completed");
    assert_eq!(
        of_type(&j, "hypercare_ended")[0]["data"]["reason"],
        "elapsed"
    );
    let resumed = seq(of_type(&j, "run_resumed")[0]);
    assert!(
        of_type(&j, "trigger_measurement")
            .iter()
            .any(|m| seq(m) > resumed),
        "the background process kept measuring"
    );
    assert!(gone_within(bg.pid, Duration::from_secs(10)));
    assert_secret_kept(&bg);
    // A planned hand-over, not a resume after a stop.
    let report = bin(&c)
        .args(["report", "r", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let deviations = report["deviations"].as_array().unwrap();
    assert!(
        deviations.iter().all(|d| d["kind"] != "resumed"),
        "{deviations:?}"
    );
}

#[test]
fn a_breach_after_detaching_rolls_back_in_reverse_order_in_the_background() {
    let prom = shared();
    let job = format!("detach_breach_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_breach", "0");
    let c = runbook(prom, &query, "30s");
    let (bg, _) = run_detached(&c);
    prom.push(&job, "cutover_detach_breach", "1");
    let j = wait_for_finish(&c, Duration::from_secs(25));
    prom.delete(&job);
    assert_eq!(outcome(&j), "rolled_back");
    assert_eq!(of_type(&j, "run_finished")[0]["data"]["exit_code"], 3);
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        format!("undo-b-{SECRET}\nundo-a\n"),
        "in reverse order, the secret from the inherited environment"
    );
    // All of it journaled by the background process: after its take-over,
    // with no other process resuming the run.
    let resumed = of_type(&j, "run_resumed");
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0]["data"]["pid"], bg.pid);
    let fired = of_type(&j, "trigger_fired");
    assert_eq!(fired.len(), 1);
    assert!(seq(resumed[0]) < seq(fired[0]));
    let ended = of_type(&j, "hypercare_ended");
    assert_eq!(ended[0]["data"]["reason"], "rollback");
    let rollback = of_type(&j, "rollback_started");
    assert_eq!(rollback[0]["data"]["steps"], serde_json::json!(["b", "a"]));
    assert_eq!(rollback[0]["data"]["reason"]["trigger"], "errors");
    assert!(gone_within(bg.pid, Duration::from_secs(10)));
    assert_secret_kept(&bg);
    let log = std::fs::read_to_string(&bg.log).unwrap();
    assert!(
        log.contains("ROLLED BACK") || log.contains("rolled back"),
        "{log}"
    );
}

#[test]
fn after_a_kill_9_of_the_background_process_resume_watches_the_time_left() {
    let prom = shared();
    let job = format!("detach_crash_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_crash", "0");
    let c = runbook(prom, &query, "8s");
    let (bg, _) = run_detached(&c);
    kill(Pid::from_raw(bg.pid), Signal::SIGKILL).unwrap();
    assert!(gone_within(bg.pid, Duration::from_secs(5)));
    let status = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("STOPPED"), "no process drives it: {text}");
    let out = with_secret(&c).args(["resume", "r"]).output().unwrap();
    prom.delete(&job);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("hypercare goes on"), "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "hypercare_started").len(), 1);
    let started = of_type(&j, "hypercare_started")[0];
    let finished = of_type(&j, "run_finished")[0];
    let total = ms_between(started, finished);
    assert!(total >= 8000, "ended {total} ms into an 8 s hypercare");
    assert!(
        total < 8000 + 4000,
        "the resume watched the whole 8 s again ({total} ms)"
    );
    let resumed = of_type(&j, "run_resumed");
    assert_eq!(resumed.len(), 2, "the background's, then this resume's");
    assert_ne!(resumed[1]["data"]["pid"], bg.pid);
    assert!(
        of_type(&j, "trigger_armed")
            .iter()
            .any(|r| seq(r) > seq(resumed[1])),
        "the resume re-armed the trigger"
    );
    assert_eq!(outcome(&j), "completed");
}

#[test]
fn end_hypercare_ends_a_detached_run_early() {
    let prom = shared();
    let job = format!("detach_early_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_early", "0");
    let c = runbook(prom, &query, "10m");
    let (bg, _) = run_detached(&c);
    let (code, stderr) = cutover(
        &c,
        &[
            "resume",
            "r",
            "--end-hypercare",
            "--reason",
            "all quiet",
            "--as",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the process driving the run completes it"),
        "{stderr}"
    );
    let j = wait_for_finish(&c, Duration::from_secs(10));
    prom.delete(&job);
    assert_eq!(outcome(&j), "completed");
    let ended = of_type(&j, "hypercare_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "ended_early");
    assert_eq!(ended[0]["data"]["why"], "all quiet");
    assert_eq!(
        of_type(&j, "run_resumed").len(),
        1,
        "no other process drove it"
    );
    assert!(gone_within(bg.pid, Duration::from_secs(10)));
    let log = std::fs::read_to_string(&bg.log).unwrap();
    assert!(log.contains("hypercare ended early by"), "{log}");
}

#[test]
fn when_the_background_process_cannot_take_over_the_watch_goes_on_in_the_foreground() {
    let prom = shared();
    let job = format!("detach_fallback_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_fallback", "0");
    // The last step edits the runbook: a resume (the background process)
    // refuses a plan that no longer hashes as journaled.
    let c = runbook(prom, &query, "3s");
    let edited = std::fs::read_to_string(c.path("runbook.toml"))
        .unwrap()
        .replace(
            "run = \"echo b\"",
            "run = \"echo '# edited' >> runbook.toml\"",
        );
    std::fs::write(c.path("runbook.toml"), edited).unwrap();
    let child = with_secret(&c)
        .args(["run", "runbook.toml", "--run-id", "r", "--detach-hypercare"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run_pid = child.id();
    let (code, stderr) = wait_exit(child, Duration::from_secs(30));
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("did not take the run over: it ended"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the hypercare watch goes on in this process"),
        "{stderr}"
    );
    assert!(!stderr.contains("continues in the background"), "{stderr}");
    let j = journal(&c, "r");
    let detached = of_type(&j, "hypercare_detached")[0];
    let bg = detached["data"]["pid"].as_u64().unwrap();
    let log = std::fs::read_to_string(detached["data"]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("plan"), "why it refused: {log}");
    let resumed = of_type(&j, "run_resumed");
    assert_eq!(resumed.len(), 1, "only the foreground took it back");
    assert_eq!(resumed[0]["data"]["pid"], run_pid);
    assert_ne!(u64::from(run_pid), bg);
    let started = of_type(&j, "hypercare_started")[0];
    let finished = of_type(&j, "run_finished")[0];
    assert!(ms_between(started, finished) >= 3000);
    assert_eq!(outcome(&j), "completed");
    assert!(
        of_type(&j, "trigger_armed")
            .iter()
            .any(|r| seq(r) > seq(resumed[0])),
        "the foreground re-armed the trigger"
    );
}

#[test]
fn resume_detach_hypercare_hands_a_crashed_runs_watch_to_the_background() {
    let prom = shared();
    let job = format!("detach_resume_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_detach_resume", "0");
    let c = runbook(prom, &query, "6s");
    let mut child = with_secret(&c)
        .args(["run", "runbook.toml", "--run-id", "r"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::support::run::wait_for_type(&c, "hypercare_started");
    crate::support::run::kill9(&mut child);
    let out = with_secret(&c)
        .args(["resume", "r", "--detach-hypercare"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("hypercare continues in the background"),
        "{stderr}"
    );
    let j = journal(&c, "r");
    let detached = of_type(&j, "hypercare_detached");
    assert_eq!(detached.len(), 1);
    let _bg = Background {
        pid: detached[0]["data"]["pid"].as_u64().unwrap() as i32,
        log: detached[0]["data"]["log"].as_str().unwrap().to_string(),
    };
    assert!(of_type(&j, "run_finished").is_empty(), "{stderr}");
    let j = wait_for_finish(&c, Duration::from_secs(20));
    prom.delete(&job);
    assert_eq!(outcome(&j), "completed");
    let started = of_type(&j, "hypercare_started")[0];
    let finished = of_type(&j, "run_finished")[0];
    assert!(ms_between(started, finished) >= 6000);
    assert_eq!(of_type(&j, "hypercare_started").len(), 1);
}

#[test]
fn detach_hypercare_without_a_hypercare_says_so_and_the_run_ends_after_its_last_step() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"plain\"\n\n[[step]]\nid = \"a\"\nrun = \"echo a\"\n");
    let out = bin(&c)
        .args(["run", "runbook.toml", "--run-id", "r", "--detach-hypercare"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "note: `--detach-hypercare` has nothing to hand over: the runbook has no `[hypercare]`"
        ),
        "{stderr}"
    );
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "completed");
    assert!(of_type(&j, "hypercare_detached").is_empty());
}
