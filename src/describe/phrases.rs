//! Phrases more than one voice uses: what resume found of a crashed
//! process's command, a detached process holding output, a rollback's steps,
//! durations (`text::duration::short`, under the name the live voice uses).

use crate::event::{Event, OrphanAbsence, Phase};

/// What `cutover resume` found of a command the crashed process left
/// running, as operators read it (terminal and report); `None` for other
/// events.
pub fn orphan(event: &Event) -> Option<String> {
    let (Event::OrphanStopped {
        step, phase, pgid, ..
    }
    | Event::OrphanAbsent {
        step, phase, pgid, ..
    }) = event
    else {
        return None;
    };
    let what = match phase {
        Phase::Step => format!("step `{step}`"),
        Phase::Rollback => format!("the rollback of `{step}`"),
    };
    Some(match event {
        Event::OrphanStopped {
            signal,
            stopped: true,
            ..
        } => format!(
            "{what} was still running from the crashed process (group {pgid}): stopped it with {signal}"
        ),
        Event::OrphanStopped { .. } => format!(
            "{what} is still running from the crashed process (group {pgid}) even after SIGKILL: nothing runs until it is gone (see `pgrep -a -g {pgid}`)"
        ),
        Event::OrphanAbsent {
            why: OrphanAbsence::Gone,
            ..
        } => format!("{what} was in flight when the run stopped; nothing of it is left running"),
        Event::OrphanAbsent {
            why: OrphanAbsence::Rebooted,
            ..
        } => format!(
            "{what} was in flight when the run stopped; the machine restarted since, so nothing of it is left running"
        ),
        Event::OrphanAbsent {
            why: OrphanAbsence::Elsewhere,
            host,
            ..
        } => format!(
            "{what} was in flight when the run stopped; it started on host {} (or in another PID namespace), so cutover cannot tell whether it still runs: left alone (group {pgid} there)",
            host.as_deref().filter(|h| !h.is_empty()).unwrap_or("?")
        ),
        _ => format!(
            "{what} was in flight when the run stopped; its group id {pgid} now belongs to other processes (left alone), so nothing of it is left running"
        ),
    })
}

/// The warning of an [`Event::OutputAbandoned`], as operators read it
/// (terminal, status and report); `None` for other events.
pub fn abandoned(event: &Event) -> Option<String> {
    let Event::OutputAbandoned {
        step,
        phase,
        holders,
    } = event
    else {
        return None;
    };
    let what = match phase {
        Phase::Step => format!("step `{step}`"),
        Phase::Rollback => format!("the rollback of `{step}`"),
    };
    let list = || {
        holders
            .iter()
            .map(|h| format!("{} `{}`", h.pid, h.command))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (who, left) = match holders.len() {
        0 => ("a process".to_string(), "it was"),
        1 => (format!("process {}", list()), "it was"),
        _ => (format!("processes {}", list()), "they were"),
    };
    Some(format!(
        "{what} ended, but its output is still held by {who}, outside its process group: stopped reading the output; {left} left running"
    ))
}

/// The steps of a rollback for people, in order, each partial one (see
/// `rollback_partial`) marked as such: "migrate (did not finish), a".
pub fn rollback_steps(steps: &[String], partial: &[String], sep: &str) -> String {
    steps
        .iter()
        .map(|s| {
            if partial.contains(s) {
                format!("{s} (did not finish)")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// `1500` ms → `1.5s`, `95000` → `1m35s` (the terminal's durations).
pub use crate::text::duration::short as secs;
