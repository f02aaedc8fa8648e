//! Running one shell command in its own process group, and making sure the
//! whole group is gone afterwards.
//!
//! Own process groups mean a terminal's Ctrl-C never reaches a step: the
//! engine decides. A timeout or a kill request sends SIGTERM to the group,
//! waits `grace`, then SIGKILL; after the leader exits the group is killed
//! once more so that no grandchild (a backgrounded `sleep`) survives.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use crate::event::{ProcessIdentity, Stream};

/// How hard the engine wants a running command stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KillLevel {
    None,
    /// SIGTERM, then SIGKILL after the grace period.
    Graceful,
    /// SIGKILL now (a second Ctrl-C).
    Now,
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
) -> CommandOutcome {
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
        Err(e) => return CommandOutcome::SpawnFailed(format!("failed to start `/bin/sh`: {e}")),
    };
    let Some(pid) = child.id() else {
        return CommandOutcome::SpawnFailed("the command exited before it could be tracked".into());
    };
    let group = Pid::from_raw(pid.cast_signed());
    // A leader that already exited leaves nothing to find after a crash (its
    // group is killed below before the attempt is journaled as finished).
    if let Some(identity) = super::orphan::identify(pid) {
        on_start(identity);
    }
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump(out, Stream::Stdout, lines.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump(err, Stream::Stderr, lines.clone())));
    }
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
    let until = Instant::now() + LEAK_TIMEOUT;
    for reader in readers {
        let left = until.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, reader).await.is_err() {
            tracing::debug!("output pipe of group {group} stayed open; stopped reading it");
        }
    }
    if let Some(outcome) = stopped {
        return outcome;
    }
    match status {
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

async fn pump(pipe: impl AsyncRead + Unpin, stream: Stream, lines: LineSink) {
    let mut reader = BufReader::new(pipe);
    // The bytes of a character cut by the previous piece, then the piece.
    let mut buf = Vec::new();
    // A piece of the current line was sent without `end`.
    let mut in_line = false;
    loop {
        let room = (MAX_LINE - buf.len()) as u64;
        let read = (&mut reader)
            .take(room)
            .read_until(b'\n', &mut buf)
            .await
            .unwrap_or(0);
        let piece = if read == 0 {
            // End of output: close a line left open.
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
}
