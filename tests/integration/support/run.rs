//! Driving the binary as a process: start it, wait for what it journals or
//! writes, signal or `kill -9` it, and check that processes are gone.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
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

/// `cutover ARGS` with its clock pinned at `now` (`CUTOVER_NOW`, RFC 3339)
/// to its end, which must exit `code`; returns stderr. A test says "an hour
/// later" by pinning the next command an hour later, instead of sleeping.
pub fn cutover_at(c: &Cutover, now: &str, args: &[&str], code: i32) -> String {
    let out = bin(c)
        .env("CUTOVER_NOW", now)
        .args(args)
        .output()
        .expect("run cutover");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "cutover {args:?} at {now}: {stderr}"
    );
    stderr
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

/// A background `cutover` whose stderr is read as it comes, so a test can
/// wait for what the process printed (what it saw, not only what it
/// journaled), then for its end.
pub struct Watched {
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: JoinHandle<()>,
}

impl Watched {
    /// Watch `child`, whose stderr must be piped.
    pub fn new(mut child: Child) -> Self {
        let mut pipe = child.stderr.take().expect("a piped stderr to watch");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Watched {
            child,
            stderr,
            reader,
        }
    }

    pub fn child(&self) -> &Child {
        &self.child
    }

    /// Wait (20 s at most) until the process has printed `text` on stderr.
    pub fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.stderr.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `{text}` on stderr:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Like [`wait_exit`]: (exit code, all of stderr).
    pub fn wait_exit(mut self, within: Duration) -> (i32, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let _ = self.reader.join();
                panic!(
                    "run did not end in {within:?}: {}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The pipe's end: everything the process wrote has been read.
        let _ = self.reader.join();
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stderr)
    }
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

/// `pid` runs on with nothing ending it: not gone, no signal pending for it
/// (`/proc/PID/status`), not exiting (`PF_EXITING` in `/proc/PID/stat`).
/// Right after its parent was killed this tells "survived" from "dying" at
/// once, where a sleep before `!gone(pid)` would only guess how long dying
/// takes.
pub fn lives_on(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    if gone(pid) {
        return false;
    }
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let nothing_pending = status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .all(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|m| m.bytes().all(|b| b == b'0'))
        });
    let flags = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(6)?
                .parse::<u64>()
                .ok()
        });
    nothing_pending && flags.is_some_and(|f| f & PF_EXITING == 0)
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

#[test]
fn lives_on_tells_a_killed_process_from_a_surviving_one_at_once() {
    // What the orphan tests rely on instead of a sleep: right after a SIGKILL
    // is sent, the target is no longer said to live on, reaped or not.
    for _ in 0..20 {
        let mut child = Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id().cast_signed();
        assert!(lives_on(pid), "a sleeping process lives on");
        kill(Pid::from_raw(pid), Signal::SIGKILL).expect("SIGKILL");
        assert!(!lives_on(pid), "a killed process is dying, not living on");
        let _ = child.wait();
    }
}
