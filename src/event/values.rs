//! The small value types events carry: how an attempt ended, which output
//! stream, the phase of a step, a process and what holds its pipes, why an
//! orphan was not found, a gate's result.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Succeeded,
    Failed,
    TimedOut,
    /// Stopped by rollback, abort or interrupt.
    Killed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Step,
    Rollback,
}

/// Who a step's process group was, as recorded when it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    /// The process group id (the pid of its leader, `/bin/sh`).
    pub pgid: i32,
    /// The leader's start time in clock ticks since boot (`/proc/PID/stat`
    /// field 22): with the boot id it tells a reused pid apart.
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id` when it started.
    pub boot_id: String,
    /// The host it ran on (`gethostname`); empty in older journals.
    #[serde(default)]
    pub host: String,
    /// The PID namespace it ran in (`/proc/self/ns/pid`, e.g.
    /// `pid:[4026531836]`): pids mean nothing outside it. Empty in older
    /// journals.
    #[serde(default)]
    pub pid_ns: String,
}

/// A process that held a command's output pipe after its group was gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeHolder {
    pub pid: i32,
    /// Its command line (`/proc/PID/cmdline`, arguments joined by spaces),
    /// masked.
    pub command: String,
}

/// Why resume found nothing left of a crashed run's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanAbsence {
    /// No process is left in the group.
    Gone,
    /// The machine restarted since the command started.
    Rebooted,
    /// The group id now belongs to processes that are not the command's.
    Reused,
    /// Not absent for sure: it started on another host or in another PID
    /// namespace, where this process cannot see it. Left alone; nobody can
    /// tell whether it still runs, so the operator decides about its step.
    Elsewhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateResultKind {
    Pass,
    Fail,
    Inconclusive,
    Error,
}
