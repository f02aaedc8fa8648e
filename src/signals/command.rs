//! Command probes: a command line run with the source's shell in its own
//! process group. The value is the last number printed on stdout (`NaN` is a
//! value that judges inconclusive; a non-zero exit is an error), or with
//! `read = "exit_code"` the exit status itself.
//!
//! The group is killed when the probe is dropped (timeout, cancelled gate) and
//! after the shell exits, so no grandchild outlives a measurement. A process
//! that left the group on purpose (`setsid`, a daemon) is left alone: what
//! it keeps of the output pipes is read for [`PIPE_GRACE`] more, then the
//! value is taken from what was read.

use std::process::Stdio;
use std::sync::Arc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::{Masks, Reading, Sample, SignalError};
use crate::runbook::model::CommandRead;

/// Output kept for error messages.
const MAX_OUTPUT: usize = 1024 * 1024;

pub(crate) struct CommandSource {
    shell: String,
    env: Vec<(String, String)>,
    masks: Arc<Masks>,
}

/// Kills the process group when dropped, whether the probe finished, timed
/// out, or its future was dropped mid-way.
struct GroupGuard(Option<Pid>);

impl GroupGuard {
    fn kill_now(&mut self) {
        if let Some(pid) = self.0.take() {
            // ESRCH (the group is already gone) is the normal case.
            let _ = killpg(pid, Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// How long output may keep arriving after the group was killed.
const PIPE_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// Read a pipe to its end, or until `stop` is set or dropped (a detached
/// process may hold it open for ever), keeping the last `MAX_OUTPUT` bytes. With
/// `whole_lines` (text that goes into messages), when more was printed the
/// tail starts at the first line that starts within them: a line cut at its
/// start could begin with the end of a secret, which no masking finds.
async fn read_tail<R: tokio::io::AsyncRead + Unpin>(
    pipe: Option<R>,
    whole_lines: bool,
    mut stop: watch::Receiver<bool>,
) -> Vec<u8> {
    use tokio::io::AsyncReadExt as _;
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            read = pipe.read(&mut chunk) => read,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 2 * MAX_OUTPUT {
                    // Keep the byte before the tail, to tell whether it starts a line.
                    buf.drain(..buf.len() - MAX_OUTPUT - 1);
                }
            }
        }
    }
    if buf.len() <= MAX_OUTPUT {
        return buf;
    }
    let start = buf.len() - MAX_OUTPUT;
    if !whole_lines {
        return buf.split_off(start);
    }
    match buf[start - 1..].iter().position(|&b| b == b'\n') {
        Some(newline) => buf.split_off(start + newline),
        None => Vec::new(),
    }
}

impl CommandSource {
    pub(crate) fn new(shell: &str, env: Vec<(String, String)>, masks: Arc<Masks>) -> Self {
        CommandSource {
            shell: shell.to_string(),
            env,
            masks,
        }
    }

    pub(crate) async fn run(
        &self,
        command: &str,
        read: CommandRead,
    ) -> Result<Reading, SignalError> {
        let mut cmd = tokio::process::Command::new(&self.shell);
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| SignalError::Command(format!("failed to start `{}`: {e}", self.shell)))?;
        let mut guard = GroupGuard(
            child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .map(Pid::from_raw),
        );
        // Read in tasks of their own: a grandchild left running in the
        // background keeps the pipes open, and the value must not wait for it.
        // Dropping `stop` (a dropped probe) ends them too.
        let (stop, stop_rx) = watch::channel(false);
        let out = tokio::spawn(read_tail(child.stdout.take(), false, stop_rx.clone()));
        let err = tokio::spawn(read_tail(child.stderr.take(), true, stop_rx));
        let status = child
            .wait()
            .await
            .map_err(|e| SignalError::Command(format!("failed to wait for the command: {e}")))?;
        // The shell is done: end whatever it left behind, which closes the
        // pipes unless a process that left the group holds them.
        guard.kill_now();
        let collected = async { (out.await, err.await) };
        tokio::pin!(collected);
        let (stdout, stderr) = tokio::select! {
            both = &mut collected => both,
            () = tokio::time::sleep(PIPE_GRACE) => {
                // Keep what was read: the value was printed before the shell exited.
                let _ = stop.send(true);
                collected.await
            }
        };
        let stdout = String::from_utf8_lossy(&stdout.unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&stderr.unwrap_or_default()).into_owned();
        let Some(code) = status.code() else {
            return Err(SignalError::Command(format!(
                "the command was killed by a signal ({}){}",
                status,
                tail_note(&stderr, &self.masks)
            )));
        };
        match read {
            CommandRead::ExitCode => Ok(one(f64::from(code))),
            CommandRead::Stdout => {
                if code != 0 {
                    return Err(SignalError::Command(format!(
                        "the command exited with status {code}{}",
                        tail_note(&stderr, &self.masks)
                    )));
                }
                match last_number(&stdout) {
                    Some(v) => Ok(one(v)),
                    None => Ok(Reading::default()),
                }
            }
        }
    }

    /// The shell starts and runs `true`.
    pub(crate) async fn health(&self) -> Result<String, SignalError> {
        self.run("true", CommandRead::ExitCode).await.and_then(|r| {
            if r.samples.first().is_some_and(|s| s.value == 0.0) {
                Ok(format!("`{} -c true` runs", self.shell))
            } else {
                Err(SignalError::Command(format!(
                    "`{} -c true` failed",
                    self.shell
                )))
            }
        })
    }
}

fn one(value: f64) -> Reading {
    Reading {
        samples: vec![Sample {
            labels: std::collections::BTreeMap::new(),
            value,
        }],
        state: None,
    }
}

/// The last line of stderr for an error message, masked before it is cut.
fn tail_note(stderr: &str, masks: &Masks) -> String {
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    match last {
        Some(line) => format!(": {}", masks.masked_prefix(line, 300)),
        None => String::new(),
    }
}

/// The last token on stdout that reads as a number (`NaN`, `+Inf` included).
/// Tokens are split on whitespace and on `=`, `:`, `,` and `;` so that
/// `latency=0.25` and `p99: 12` work.
pub(crate) fn last_number(stdout: &str) -> Option<f64> {
    stdout
        .split(|c: char| c.is_whitespace() || matches!(c, '=' | ':' | ',' | ';'))
        .rev()
        .filter(|t| !t.is_empty())
        .find_map(super::parse_value)
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "exact values printed by the test commands"
)]
mod tests {
    use super::*;

    #[test]
    fn the_last_number_on_stdout_is_the_value() {
        assert_eq!(last_number("hello\n42\n"), Some(42.0));
        assert_eq!(last_number("a 1\nb 2.5 units\n"), Some(2.5));
        assert_eq!(last_number("latency=0.25"), Some(0.25));
        assert_eq!(last_number("-Inf"), Some(f64::NEG_INFINITY));
        assert!(last_number("NaN").is_some_and(f64::is_nan));
        assert_eq!(last_number("no numbers here"), None);
        assert_eq!(last_number(""), None);
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn stdout_exit_code_and_errors() {
        let rt = runtime();
        let src = CommandSource::new(
            "/bin/sh",
            vec![("CUTOVER_SECRET_X".into(), "v".into())],
            Arc::default(),
        );
        let r = rt
            .block_on(src.run("echo start; echo 7", CommandRead::Stdout))
            .unwrap();
        assert_eq!(r.samples[0].value, 7.0);
        let r = rt
            .block_on(src.run("echo $CUTOVER_SECRET_X; echo 1", CommandRead::Stdout))
            .unwrap();
        assert_eq!(r.samples[0].value, 1.0);
        let r = rt
            .block_on(src.run("echo nothing", CommandRead::Stdout))
            .unwrap();
        assert!(r.samples.is_empty());
        let e = rt
            .block_on(src.run("echo 5; echo boom >&2; exit 3", CommandRead::Stdout))
            .unwrap_err();
        assert_eq!(e.to_string(), "the command exited with status 3: boom");
        let r = rt
            .block_on(src.run("exit 3", CommandRead::ExitCode))
            .unwrap();
        assert_eq!(r.samples[0].value, 3.0);
        let e = rt.block_on(
            CommandSource::new("/nonexistent/shell", vec![], Arc::default())
                .run("true", CommandRead::Stdout),
        );
        assert!(e.is_err());
    }

    #[test]
    fn stderr_is_masked_before_it_is_cut() {
        let secret = "s3cr3t-t0ken";
        let masks = Masks {
            secrets: crate::secrets::Masker::new([secret]),
            ..Masks::default()
        };
        for at in 290..300 {
            let note = tail_note(&format!("{}{secret} tail\n\n", "x".repeat(at)), &masks);
            assert!(!note.contains(&secret[..4]), "{note}");
        }
    }

    #[test]
    fn a_long_stderr_is_kept_from_a_line_start() {
        let rt = runtime();
        let src = CommandSource::new("/bin/sh", vec![], Arc::default());
        // More than MAX_OUTPUT on one line: its start is gone, so none of it is kept.
        let e = rt
            .block_on(src.run(
                "head -c 1100000 /dev/zero | tr '\\0' x >&2; exit 1",
                CommandRead::Stdout,
            ))
            .unwrap_err();
        assert_eq!(e.to_string(), "the command exited with status 1");
        let e = rt
            .block_on(src.run(
                "head -c 1100000 /dev/zero | tr '\\0' x >&2; echo >&2; echo last >&2; exit 1",
                CommandRead::Stdout,
            ))
            .unwrap_err();
        assert_eq!(e.to_string(), "the command exited with status 1: last");
        // Stdout keeps its last bytes, line start or not: only a number is read there.
        let r = rt
            .block_on(src.run(
                "head -c 1100000 /dev/zero | tr '\\0' x; echo ' 42'",
                CommandRead::Stdout,
            ))
            .unwrap();
        assert!((r.samples[0].value - 42.0).abs() < f64::EPSILON);
    }

    #[test]
    fn a_background_grandchild_does_not_hold_the_value_back() {
        let rt = runtime();
        let src = CommandSource::new("/bin/sh", vec![], Arc::default());
        let started = std::time::Instant::now();
        let r = rt
            .block_on(src.run("echo 5; sleep 30 &", CommandRead::Stdout))
            .unwrap();
        assert_eq!(r.samples[0].value, 5.0);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_detached_process_holding_the_output_does_not_lose_the_value() {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let src = CommandSource::new("/bin/sh", vec![], Arc::default());
        let script = format!(
            "setsid sleep 20 & echo $! > {}; sleep 0.3; echo 1",
            pidfile.display()
        );
        let started = std::time::Instant::now();
        let r = rt.block_on(src.run(&script, CommandRead::Stdout));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        assert_eq!(r.unwrap().samples[0].value, 1.0);
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }

    #[test]
    fn a_dropped_probe_kills_its_whole_group() {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let src = CommandSource::new("/bin/sh", vec![], Arc::default());
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let r = rt.block_on(async {
            tokio::time::timeout(
                std::time::Duration::from_millis(500),
                src.run(&script, CommandRead::Stdout),
            )
            .await
        });
        assert!(r.is_err(), "the probe should have timed out");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild got SIGKILL with its group; give the kernel a moment to deliver it.
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            // A killed but unreaped child of init shows as a zombie; both mean it is no longer running.
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => true,
                Ok(stat) => stat.split_whitespace().nth(2) == Some("Z"),
            }
        });
        assert!(gone, "grandchild {pid} still running");
    }
}
