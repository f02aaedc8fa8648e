//! Driving the binary as a process: start it, wait for what it journals or
//! writes, signal or `kill -9` it, and check that processes are gone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use super::cutover::{BIN, Cutover};
use super::journal::journal_tolerant;

/// The binary in the test's directory, without the `run` arguments of `c`.
pub fn bin(c: &Cutover) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(c.dir())
        .env("NO_COLOR", "1")
        .env_remove("CUTOVER_ACTOR")
        .stdin(Stdio::null());
    cmd
}

/// `cutover ARGS` to its end: (exit code, stderr).
pub fn cutover(c: &Cutover, args: &[&str]) -> (i32, String) {
    let out = bin(c).args(args).output().expect("run cutover");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the steps appended to file `effects` (empty when none wrote it).
pub fn effects(c: &Cutover) -> String {
    std::fs::read_to_string(c.path("effects")).unwrap_or_default()
}

/// `cutover ARGS` to its end, which must exit `code`; returns stderr.
pub fn cutover_exits(c: &Cutover, args: &[&str], code: i32) -> String {
    let (got, stderr) = cutover(c, args);
    assert_eq!(got, code, "cutover {args:?}: {stderr}");
    stderr
}

/// `cutover run runbook.toml --run-id r EXTRA` in the background, stdout
/// dropped, stderr piped.
pub fn spawn_run(c: &Cutover, extra: &[&str]) -> Child {
    spawn_run_with(c, extra, Stdio::piped())
}

/// Like `spawn_run`, with stderr dropped too (for runs printing more than a
/// pipe nobody reads holds).
pub fn spawn_run_quiet(c: &Cutover, extra: &[&str]) -> Child {
    spawn_run_with(c, extra, Stdio::null())
}

fn spawn_run_with(c: &Cutover, extra: &[&str], stderr: Stdio) -> Child {
    bin(c)
        .args(["run", "runbook.toml", "--run-id", "r"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn run")
}

/// Poll `done` until it holds; panics naming `what` after `within`.
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (10 s at most) until the step under test creates `name`.
pub fn wait_for_file(c: &Cutover, name: &str) {
    wait_until(
        &format!("`{name}` to exist"),
        Duration::from_secs(10),
        || c.path(name).exists(),
    );
}

/// Wait (10 s at most) until file `name` contains `text`.
pub fn wait_for_text(c: &Cutover, name: &str, text: &str) {
    wait_until(
        &format!("`{text}` in `{name}`"),
        Duration::from_secs(10),
        || std::fs::read_to_string(c.path(name)).is_ok_and(|t| t.contains(text)),
    );
}

/// Wait (20 s at most) until the journal of run `r` has a record matching
/// `pred`; `what` names it in the panic.
pub fn wait_for(c: &Cutover, what: &str, pred: impl Fn(&Value) -> bool) {
    wait_until(what, Duration::from_secs(20), || {
        journal_tolerant(c, "r").iter().any(&pred)
    });
}

/// Wait until run `r` journals a record of type `kind`.
pub fn wait_for_type(c: &Cutover, kind: &str) {
    wait_for(c, kind, |r| r["type"] == kind);
}

/// Wait until the journal says `step`'s command (of `phase`) started: only
/// then does a crash leave resume something to find.
pub fn wait_for_process_started(c: &Cutover, step: &str, phase: &str) {
    wait_for(
        c,
        &format!("`{step}` ({phase}) to journal its process"),
        |r| {
            r["type"] == "process_started"
                && r["data"]["step"] == step
                && r["data"]["phase"] == phase
        },
    );
}

/// Wait for `child` to end within `within`: (exit code, stderr). Kills it and
/// panics with its stderr when it does not.
pub fn wait_exit(mut child: Child, within: Duration) -> (i32, String) {
    let deadline = Instant::now() + within;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "run did not end in {within:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `r` to its end (stderr kept): once the step under test creates
/// `marker` (within `within`), `then` is called, e.g. to push a breach.
pub fn run_until_file_then(
    c: &Cutover,
    marker: &str,
    within: Duration,
    then: impl FnOnce(),
) -> std::process::Output {
    let child = spawn_run(c, &[]);
    wait_until(&format!("`{marker}` to exist"), within, || {
        c.path(marker).exists()
    });
    then();
    child.wait_with_output().expect("wait for the run")
}

/// `kill -9` the child and reap it.
pub fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL
    let _ = child.wait();
}

/// Send `signal` to the child.
pub fn signal(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(child.id().cast_signed());
    kill(pid, signal).expect("signal the run");
}

/// The pid written to the file at `path`, if any.
pub fn pid_in(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The pid written to file `name` of the test's directory.
pub fn read_pid(c: &Cutover, name: &str) -> i32 {
    pid_in(&c.path(name)).unwrap_or_else(|| panic!("no pid in `{name}`"))
}

/// A process is gone: no such pid, or only a zombie waiting for its reaper.
pub fn gone(pid: i32) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    });
    zombie || kill(Pid::from_raw(pid), None).is_err()
}

/// Whether `pid` is gone within `within`.
pub fn gone_within(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while !gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    gone(pid)
}

/// Kills whatever is left of the step's group when the test ends, passed or
/// not: no `sleep 60` outlives a test. Only processes still in the recorded
/// group are killed, never a stranger that reused a pid.
pub struct Reap {
    dir: PathBuf,
    /// The file the step's shell wrote its pid (`$$`, the group id) to.
    leader: &'static str,
}

impl Reap {
    pub fn new(c: &Cutover, leader: &'static str) -> Self {
        Reap {
            dir: c.dir().to_path_buf(),
            leader,
        }
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        let Some(leader) = pid_in(&self.dir.join(self.leader)) else {
            return;
        };
        for file in [self.leader, "grandchild.pid"] {
            let Some(pid) = pid_in(&self.dir.join(file)) else {
                continue;
            };
            if pgid_of(pid) == Some(leader) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// The process group of `pid`, from /proc.
pub fn pgid_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}
