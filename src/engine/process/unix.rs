//! Running one shell command in its own process group, and making sure the
//! whole group is gone afterwards.
//!
//! Own process groups mean a terminal's Ctrl-C never reaches a step: the
//! engine decides. A timeout or a kill request sends SIGTERM to the group,
//! waits `grace`, then SIGKILL; after the leader exits the group is killed
//! once more so that no grandchild (a backgrounded `sleep`) survives.
//!
//! The outcome follows the group alone. A process that left it on purpose
//! (`setsid`, `ssh -f`, a daemon) keeps the output pipes open but is not
//! waited for: the pipes are read for [`LEAK_TIMEOUT`] after the group is
//! gone, then closed, and the caller learns who still held them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use crate::event::{PipeHolder, ProcessIdentity, Stream};

/// How hard the engine wants a running command stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KillLevel {
    None,
    /// SIGTERM, then SIGKILL after the grace period.
    Graceful,
    /// SIGKILL now (a second Ctrl-C).
    Now,
}

/// How a command ended, and whether its output had to be abandoned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finished {
    pub outcome: CommandOutcome,
    /// `Some` when processes outside the group still held the output pipes
    /// [`LEAK_TIMEOUT`] after the group was gone: those (found in `/proc`;
    /// unmasked) were left running, and what they print is not read.
    pub abandoned: Option<Vec<PipeHolder>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CommandOutcome {
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    TimedOut,
    Killed,
    SpawnFailed(String),
}

/// A piece of an output line, lossily decoded. A line longer than
/// [`MAX_LINE`] comes in several pieces, cut between characters; only the last
/// one has `end` set (and lacks the newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    pub stream: Stream,
    pub text: String,
    pub end: bool,
}

/// Receives the output, piece by piece.
pub(crate) type LineSink = tokio::sync::mpsc::UnboundedSender<Piece>;

/// How long output pipes may stay open after the group is gone (a process
/// that escaped the group and kept the pipe).
const LEAK_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a reader told to stop may take to hand over what it holds
/// (it only has to notice: no I/O is left to wait for).
const STOP_TIMEOUT: Duration = Duration::from_millis(100);

/// Run `sh -c command` in a new process group with null stdin and piped
/// output. `on_start` learns who the group is as soon as it exists (before
/// any output line is sent), so the caller can journal it: a crashed run's
/// command can then be found and stopped by `cutover resume`.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
pub(crate) async fn run_shell(
    command: &str,
    env: &[(String, String)],
    workdir: &Path,
    timeout: Option<Duration>,
    grace: Duration,
    mut kill: watch::Receiver<KillLevel>,
    lines: LineSink,
    on_start: impl FnOnce(ProcessIdentity) + Send,
) -> Finished {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(workdir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return unread(CommandOutcome::SpawnFailed(format!(
                "failed to start `/bin/sh`: {e}"
            )));
        }
    };
    let Some(pid) = child.id() else {
        return unread(CommandOutcome::SpawnFailed(
            "the command exited before it could be tracked".into(),
        ));
    };
    let group = Pid::from_raw(pid.cast_signed());
    // A leader that already exited leaves nothing to find after a crash (its
    // group is killed below before the attempt is journaled as finished).
    if let Some(identity) = super::orphan::identify(pid) {
        on_start(identity);
    }
    let readers = Readers::start(&mut child, &lines);
    drop(lines);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let sleep_until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep_until_deadline);

    let mut stopped: Option<CommandOutcome> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            () = &mut sleep_until_deadline, if stopped.is_none() => {
                stopped = Some(CommandOutcome::TimedOut);
                break terminate(&mut child, group, grace, &mut kill).await;
            }
            changed = kill.changed(), if stopped.is_none() => {
                if changed.is_err() {
                    // The engine went away: treat as an abort.
                    stopped = Some(CommandOutcome::Killed);
                    break terminate(&mut child, group, grace, &mut kill).await;
                }
                let level = *kill.borrow_and_update();
                if level > KillLevel::None {
                    stopped = Some(CommandOutcome::Killed);
                    break terminate(&mut child, group, grace, &mut kill).await;
                }
            }
        }
    };
    // The leader is gone; anything left in its group is an orphan to reap.
    signal_group(group, Signal::SIGKILL);
    let abandoned = readers.finish().await;
    let outcome = stopped.unwrap_or_else(|| match status {
        Some(s) => {
            use std::os::unix::process::ExitStatusExt as _;
            CommandOutcome::Exited {
                code: s.code(),
                signal: s.signal(),
            }
        }
        None => CommandOutcome::Exited {
            code: None,
            signal: None,
        },
    });
    Finished { outcome, abandoned }
}

/// An outcome with no output read (the command never ran).
fn unread(outcome: CommandOutcome) -> Finished {
    Finished {
        outcome,
        abandoned: None,
    }
}

/// The tasks reading a command's output pipes.
struct Readers {
    /// Each reader, with its pipe as `/proc/self/fd` names it (`pipe:[N]`),
    /// to find who else holds it.
    tasks: Vec<(tokio::task::JoinHandle<()>, Option<String>)>,
    /// Set to make the readers hand over what they hold and stop.
    stop: watch::Sender<bool>,
}

impl Readers {
    fn start(child: &mut tokio::process::Child, lines: &LineSink) -> Readers {
        use std::os::fd::AsRawFd as _;
        let (stop, stop_rx) = watch::channel(false);
        let pipe_name = |fd: i32| {
            std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .ok()
                .map(|l| l.to_string_lossy().into_owned())
        };
        let mut tasks = Vec::new();
        if let Some(out) = child.stdout.take() {
            let name = pipe_name(out.as_raw_fd());
            let task = pump(out, Stream::Stdout, lines.clone(), stop_rx.clone());
            tasks.push((tokio::spawn(task), name));
        }
        if let Some(err) = child.stderr.take() {
            let name = pipe_name(err.as_raw_fd());
            let task = pump(err, Stream::Stderr, lines.clone(), stop_rx);
            tasks.push((tokio::spawn(task), name));
        }
        Readers { tasks, stop }
    }

    /// Read until both pipes are closed, or for [`LEAK_TIMEOUT`] at most
    /// (the group is gone: only a process that left it can hold them);
    /// then stop reading. Returns who held them, if anyone did. Every
    /// reader is over on return, so no sender of the output channel lives
    /// on.
    async fn finish(mut self) -> Option<Vec<PipeHolder>> {
        let until = Instant::now() + LEAK_TIMEOUT;
        let mut open = Vec::new();
        for (mut task, pipe) in std::mem::take(&mut self.tasks) {
            let left = until.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, &mut task).await.is_err() {
                open.push((task, pipe));
            }
        }
        if open.is_empty() {
            return None;
        }
        // Named before our end closes, while the pipe is surely the same
        // one; a scan of every process's fds is blocking work.
        let pipes: Vec<String> = open.iter().filter_map(|(_, p)| p.clone()).collect();
        let holders = tokio::task::spawn_blocking(move || super::orphan::pipe_holders(&pipes))
            .await
            .unwrap_or_default();
        let _ = self.stop.send(true);
        for (mut task, _) in open {
            if tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err() {
                task.abort();
            }
        }
        Some(holders)
    }
}

impl Drop for Readers {
    /// A run dropped mid-way (its future cancelled) leaves no reader
    /// behind. (Those `finish` already took stop when `stop` is dropped.)
    fn drop(&mut self) {
        for (task, _) in &self.tasks {
            task.abort();
        }
    }
}

/// SIGTERM the group, wait for the leader up to `grace` (or a harder kill
/// request), then SIGKILL the group.
async fn terminate(
    child: &mut tokio::process::Child,
    group: Pid,
    grace: Duration,
    kill: &mut watch::Receiver<KillLevel>,
) -> Option<std::process::ExitStatus> {
    if *kill.borrow() < KillLevel::Now {
        signal_group(group, Signal::SIGTERM);
        let waited = tokio::select! {
            status = child.wait() => status.ok(),
            () = tokio::time::sleep(grace) => None,
            () = wait_for_now(kill) => None,
        };
        if waited.is_some() {
            signal_group(group, Signal::SIGKILL);
            return waited;
        }
    }
    signal_group(group, Signal::SIGKILL);
    child.wait().await.ok()
}

async fn wait_for_now(kill: &mut watch::Receiver<KillLevel>) {
    loop {
        if *kill.borrow_and_update() == KillLevel::Now {
            return;
        }
        if kill.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Send `signal` to a process group; a group that is already gone is fine.
pub(crate) fn signal_group(group: Pid, signal: Signal) {
    match killpg(group, signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!("failed to send {signal} to process group {group}: {e}"),
    }
}

/// Longer lines are journaled in pieces of at most this size: a step
/// printing a huge blob without newlines must not hold it all in memory.
/// (Masking holds back a few bytes across pieces: see `Masker::stream`.)
const MAX_LINE: usize = 64 * 1024;

/// Send `pipe`'s output to `lines` until its end, or until `stop` is set
/// (or dropped): then what was read of an unfinished line is sent as if
/// the output ended there.
async fn pump(
    pipe: impl AsyncRead + Unpin,
    stream: Stream,
    lines: LineSink,
    mut stop: watch::Receiver<bool>,
) {
    let mut reader = BufReader::new(pipe);
    // The bytes of a character cut by the previous piece, then the piece.
    let mut buf = Vec::new();
    // A piece of the current line was sent without `end`.
    let mut in_line = false;
    loop {
        let room = (MAX_LINE - buf.len()) as u64;
        let mut limited = (&mut reader).take(room);
        // `read_until` keeps in `buf` what it read when it is cancelled.
        let read = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => 0,
            read = limited.read_until(b'\n', &mut buf) => read.unwrap_or(0),
        };
        let piece = if read == 0 {
            // End of output (or of reading it): close a line left open.
            if buf.is_empty() && !in_line {
                return;
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            buf.clear();
            Piece {
                stream,
                text,
                end: true,
            }
        } else if buf.last() == Some(&b'\n') || buf.len() < MAX_LINE {
            // A newline, or the end of output without one.
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\n', '\r']).to_string();
            buf.clear();
            Piece {
                stream,
                text,
                end: true,
            }
        } else {
            let cut = complete_utf8_len(&buf);
            let text = String::from_utf8_lossy(&buf[..cut]).into_owned();
            buf.drain(..cut);
            Piece {
                stream,
                text,
                end: false,
            }
        };
        in_line = !piece.end;
        if lines.send(piece).is_err() {
            return;
        }
        if read == 0 {
            return;
        }
    }
}

/// How much of `bytes` to take so as not to cut a UTF-8 character in two:
/// all of it, or up to the start of an unfinished character at the end.
fn complete_utf8_len(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(4) {
        let start = bytes.len() - back;
        let width = match bytes[start] {
            0x80..=0xBF => continue,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        // A cut before the only byte would make no progress; that cannot
        // happen for a full piece, and invalid bytes are decoded lossily anyway.
        return if width > back && start > 0 {
            start
        } else {
            bytes.len()
        };
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(cmd: &str, timeout: Option<Duration>) -> (CommandOutcome, Vec<String>) {
        let (finished, lines) = run_full(cmd, timeout).await;
        (finished.outcome, lines)
    }

    /// Run `cmd`; how it finished and every output line.
    async fn run_full(cmd: &str, timeout: Option<Duration>) -> (Finished, Vec<String>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (_kill_tx, kill_rx) = watch::channel(KillLevel::None);
        let out = run_shell(
            cmd,
            &[("CUTOVER_T".into(), "v".into())],
            Path::new("."),
            timeout,
            Duration::from_millis(200),
            kill_rx,
            tx,
            |_| {},
        )
        .await;
        let mut lines = Vec::new();
        while let Ok(piece) = rx.try_recv() {
            lines.push(piece.text);
        }
        (out, lines)
    }

    #[tokio::test]
    async fn captures_lines_and_exit_code() {
        let (out, lines) = run("echo a; echo $CUTOVER_T >&2; exit 3", None).await;
        assert_eq!(
            out,
            CommandOutcome::Exited {
                code: Some(3),
                signal: None
            }
        );
        assert_eq!(lines.len(), 2);
        assert!(lines.contains(&"v".to_string()));
    }

    #[tokio::test]
    async fn long_lines_come_in_pieces() {
        let (out, lines) = run(
            "head -c 150000 /dev/zero | tr '\\0' x; echo; echo end",
            None,
        )
        .await;
        assert!(matches!(out, CommandOutcome::Exited { code: Some(0), .. }));
        assert_eq!(lines.len(), 4, "64 KiB + 64 KiB + the rest, then `end`");
        assert_eq!(lines[0].len(), 65536);
        assert_eq!(lines[3], "end");
    }

    async fn pieces(cmd: &str) -> Vec<Piece> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (_kill_tx, kill_rx) = watch::channel(KillLevel::None);
        run_shell(
            cmd,
            &[],
            Path::new("."),
            None,
            Duration::from_millis(200),
            kill_rx,
            tx,
            |_| {},
        )
        .await;
        let mut out = Vec::new();
        while let Ok(piece) = rx.try_recv() {
            out.push(piece);
        }
        out
    }

    #[tokio::test]
    async fn only_the_last_piece_of_a_line_ends_it() {
        let got = pieces("head -c 150000 /dev/zero | tr '\\0' x; echo; printf 'no newline'").await;
        let ends: Vec<bool> = got.iter().map(|p| p.end).collect();
        assert_eq!(ends, [false, false, true, true]);
        assert_eq!(got[3].text, "no newline");
        // A line of exactly one piece, then the end of output.
        let got = pieces("head -c 65536 /dev/zero | tr '\\0' x").await;
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].text.len(), got[0].end), (65536, false));
        assert_eq!((got[1].text.as_str(), got[1].end), ("", true));
    }

    #[tokio::test]
    async fn pieces_are_cut_between_characters() {
        // 65535 bytes of `x`, then `é` (2 bytes) across the 64 KiB boundary.
        let got = pieces("head -c 65535 /dev/zero | tr '\\0' x; printf '\\303\\251yz\\n'").await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text.len(), 65535);
        assert_eq!(got[1].text, "éyz");
    }

    #[test]
    fn complete_utf8_len_keeps_characters_whole() {
        assert_eq!(complete_utf8_len(b"abc"), 3);
        assert_eq!(complete_utf8_len("aé".as_bytes()), 3);
        assert_eq!(complete_utf8_len(&"aé".as_bytes()[..2]), 1);
        assert_eq!(complete_utf8_len(&"a€".as_bytes()[..3]), 1);
        assert_eq!(complete_utf8_len(&"a😀".as_bytes()[..4]), 1);
        assert_eq!(complete_utf8_len("a😀".as_bytes()), 5);
        assert_eq!(complete_utf8_len(b"a\xff"), 2);
        assert_eq!(complete_utf8_len(b"\x80\x80\x80\x80\x80"), 5);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let cmd = format!(
            "trap '' TERM; sleep 30 & echo $! > {}; wait",
            pidfile.display()
        );
        let started = Instant::now();
        let (out, _) = run(&cmd, Some(Duration::from_millis(300))).await;
        assert_eq!(out, CommandOutcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Give the kernel a moment to reap the grandchild (re-parented to init).
        for _ in 0..50 {
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            });
            if zombie
                || nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("grandchild {pid} survived");
    }

    /// What `run_shell` gave back for a command that detaches a process.
    struct Detached {
        finished: Finished,
        /// Every piece sent, and whether the channel closed within a second
        /// of the return (no reader left holding a sender).
        pieces: Vec<Piece>,
        closed: bool,
        took: Duration,
        /// The detached `sleep` (killed when this is dropped).
        pid: i32,
    }

    impl Drop for Detached {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        }
    }

    /// Run `setsid sleep 20 &` (waiting until it has left the group), then
    /// `rest`.
    async fn run_detached(
        rest: &str,
        timeout: Option<Duration>,
        kill_after: Option<Duration>,
    ) -> Detached {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let cmd = format!(
            "setsid sleep 20 & echo $! > {}\n\
             while [ \"$(cut -d' ' -f5 /proc/$!/stat)\" = $$ ]; do sleep 0.01; done\n{rest}",
            pidfile.display()
        );
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (kill_tx, kill_rx) = watch::channel(KillLevel::None);
        if let Some(after) = kill_after {
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let _ = kill_tx.send(KillLevel::Graceful);
                // Keep the sender: a dropped one also stops the command.
                std::future::pending::<()>().await;
            });
        }
        let started = Instant::now();
        let finished = run_shell(
            &cmd,
            &[],
            Path::new("."),
            timeout,
            Duration::from_secs(5),
            kill_rx,
            tx,
            |_| {},
        )
        .await;
        let took = started.elapsed();
        let mut pieces = Vec::new();
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
                Ok(Some(piece)) => pieces.push(piece),
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        Detached {
            finished,
            pieces,
            closed,
            took,
            pid,
        }
    }

    /// The run did not wait for the detached process, closed the output
    /// channel, and named the process as the holder of the output.
    fn assert_abandoned_promptly(d: &Detached) {
        assert!(d.took < Duration::from_secs(3), "took {:?}", d.took);
        assert!(d.closed, "a reader still holds the output channel");
        let holders = d.finished.abandoned.as_ref().expect("output abandoned");
        assert_eq!(
            holders,
            &[PipeHolder {
                pid: d.pid,
                command: "sleep 20".into()
            }]
        );
        // Left running: it left the group on purpose.
        assert!(std::fs::read_to_string(format!("/proc/{}/cmdline", d.pid)).is_ok());
    }

    #[tokio::test]
    async fn a_detached_process_holds_neither_the_outcome_nor_the_output() {
        let d = run_detached("echo hi; printf partial", None, None).await;
        assert_abandoned_promptly(&d);
        assert_eq!(
            d.finished.outcome,
            CommandOutcome::Exited {
                code: Some(0),
                signal: None
            }
        );
        // What was read of an unfinished line is kept when reading stops.
        let texts: Vec<(&str, bool)> = d.pieces.iter().map(|p| (p.text.as_str(), p.end)).collect();
        assert_eq!(texts, [("hi", true), ("partial", true)]);
    }

    #[tokio::test]
    async fn a_timeout_or_a_stop_ends_a_command_whose_detached_process_holds_the_output() {
        let d = run_detached("sleep 100", Some(Duration::from_millis(300)), None).await;
        assert_eq!(d.finished.outcome, CommandOutcome::TimedOut);
        assert_abandoned_promptly(&d);
        let d = run_detached("sleep 100", None, Some(Duration::from_millis(300))).await;
        assert_eq!(d.finished.outcome, CommandOutcome::Killed);
        assert_abandoned_promptly(&d);
    }

    #[tokio::test]
    async fn output_closed_with_the_group_is_not_abandoned() {
        let (finished, lines) = run_full("echo a; sleep 30 & echo b", None).await;
        assert_eq!(finished.abandoned, None);
        assert_eq!(lines, ["a", "b"]);
    }
}
