//! Commands a crashed cutover left running. When a command starts, the
//! runner records who its process group is ([`identify`]); `cutover resume`
//! judges what is left of each ([`judge_now`]) and stops all of its own at
//! once (`engine::resume`) before anything runs again, so a step never runs
//! twice at once.
//!
//! Telling the group apart from a stranger that reused its id ([`judge`]):
//! - another host, or another PID namespace on this one: the group cannot be
//!   seen from here; nothing is touched and nobody can tell whether it still
//!   runs (`elsewhere`);
//! - another boot id: the machine restarted, nothing of ours runs;
//! - no live (non-zombie) process in the group: gone;
//! - the leader (pid = pgid) is alive: ours only if its start time is the
//!   recorded one;
//! - the leader is gone but members remain (a backgrounded grandchild): ours
//!   only if every member started at or after the recorded leader did.
//!   Descendants of our leader always did. The kernel does not hand out a
//!   pid while a group of that id has members, so a stranger's group needs
//!   ours to have emptied first, the pid space to wrap round to the same
//!   id, and the stranger's own leader to have exited too: we accept that
//!   residual risk rather than leave a second migration running.
//!
//! It also names the processes that keep a finished command's output pipe
//! open ([`pipe_holders`]): those that left the group on purpose.

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::event::{OrphanAbsence, PipeHolder, ProcessIdentity};

/// One line of `/proc/PID/stat`, the fields that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub pid: i32,
    pub pgid: i32,
    /// Field 22, clock ticks since boot.
    pub start_ticks: u64,
    /// State `Z` (or `X`): exited, only waiting to be reaped.
    pub dead: bool,
}

/// What resume should do about a recorded process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// It is the crashed run's command: stop it.
    Ours,
    /// Nothing of it is left running, or (`Elsewhere`) it cannot be seen
    /// from here: either way it is not touched.
    Absent(OrphanAbsence),
}

/// Where this process runs: what a recorded identity is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Here {
    pub boot_id: String,
    pub host: String,
    pub pid_ns: String,
}

impl Here {
    /// Where this process runs, looked up once (every command's start
    /// records it).
    pub(crate) fn now() -> &'static Here {
        static HERE: std::sync::OnceLock<Here> = std::sync::OnceLock::new();
        HERE.get_or_init(|| Here {
            boot_id: boot_id(),
            host: host(),
            pid_ns: pid_ns(),
        })
    }
}

/// Parse `/proc/PID/stat`. The command name may hold spaces and parens, so
/// the fields are counted from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let (head, rest) = text.rsplit_once(')')?;
    let pid = head.split_once('(')?.0.trim().parse().ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let state = *fields.first()?;
    Some(ProcStat {
        pid,
        pgid: fields.get(5 - 3)?.parse().ok()?,
        start_ticks: fields.get(22 - 3)?.parse().ok()?,
        dead: state == "Z" || state == "X",
    })
}

/// A recorded value known to differ from this machine's. (Journals written
/// before host and namespace were recorded leave them empty: not known to
/// differ.)
fn differs(recorded: &str, here: &str) -> bool {
    !recorded.is_empty() && recorded != here
}

/// Whether the recorded command ran somewhere this process cannot see: on
/// another host, or in another PID namespace.
fn elsewhere(recorded: &ProcessIdentity, here: &Here) -> bool {
    differs(&recorded.host, &here.host) || differs(&recorded.pid_ns, &here.pid_ns)
}

/// The rule in the module docs, on parsed `/proc` data.
pub(crate) fn judge(recorded: &ProcessIdentity, here: &Here, procs: &[ProcStat]) -> Judgement {
    // A boot id means nothing across hosts: look at the host first.
    if differs(&recorded.host, &here.host) {
        return Judgement::Absent(OrphanAbsence::Elsewhere);
    }
    if here.boot_id != recorded.boot_id {
        return Judgement::Absent(OrphanAbsence::Rebooted);
    }
    if elsewhere(recorded, here) {
        return Judgement::Absent(OrphanAbsence::Elsewhere);
    }
    let live: Vec<&ProcStat> = procs
        .iter()
        .filter(|p| p.pgid == recorded.pgid && !p.dead)
        .collect();
    if live.is_empty() {
        return Judgement::Absent(OrphanAbsence::Gone);
    }
    let ours = match live.iter().find(|p| p.pid == recorded.pgid) {
        Some(leader) => leader.start_ticks == recorded.start_ticks,
        None => live.iter().all(|p| p.start_ticks >= recorded.start_ticks),
    };
    if ours {
        Judgement::Ours
    } else {
        Judgement::Absent(OrphanAbsence::Reused)
    }
}

/// Judge a recorded group against this machine as it is now.
pub(crate) fn judge_now(recorded: &ProcessIdentity, here: &Here) -> Judgement {
    if here.boot_id == recorded.boot_id
        && !elsewhere(recorded, here)
        && !group_exists(recorded.pgid)
    {
        return Judgement::Absent(OrphanAbsence::Gone);
    }
    judge(recorded, here, &processes())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn host() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The PID namespace, as `/proc/self/ns/pid` names it (`pid:[4026531836]`).
fn pid_ns() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Who the group led by `pid` is; `None` if the leader is already gone.
pub(crate) fn identify(pid: u32) -> Option<ProcessIdentity> {
    let stat = parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    let here = Here::now();
    Some(ProcessIdentity {
        pgid: stat.pgid,
        start_ticks: stat.start_ticks,
        boot_id: here.boot_id.clone(),
        host: here.host.clone(),
        pid_ns: here.pid_ns.clone(),
    })
}

/// Every process whose stat can be read (others may exit while we look).
fn processes() -> Vec<ProcStat> {
    pids()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|t| parse_stat(&t))
        .collect()
}

/// The pids listed in `/proc`.
fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// The processes other than this one that have one of `pipes` open (as
/// `/proc/PID/fd` links read: `pipe:[INODE]`), by pid. Processes of other
/// users cannot be looked into and are not found.
pub(crate) fn pipe_holders(pipes: &[String]) -> Vec<PipeHolder> {
    if pipes.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    let holds = |pid: u32| {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.filter_map(Result::ok).any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|link| pipes.iter().any(|p| link.as_os_str() == p.as_str()))
        })
    };
    let mut found: Vec<PipeHolder> = pids()
        .filter(|&pid| pid != me && holds(pid))
        .map(|pid| PipeHolder {
            pid: pid.cast_signed(),
            command: command_line(pid),
        })
        .collect();
    found.sort_by_key(|h| h.pid);
    found
}

/// `/proc/PID/cmdline` with its arguments joined by spaces; the name in
/// brackets (as `ps` shows it) when it has none.
fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if args.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        return format!("[{}]", comm.trim());
    }
    args.join(" ")
}

/// Whether any process (zombies too) is in group `pgid`: a quick probe,
/// no `/proc` scan.
fn group_exists(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), None) != Err(Errno::ESRCH)
}

/// Those of `pgids` with a live (non-zombie) process left: one `/proc`
/// scan for them all, none when no group has any process at all.
pub(crate) fn groups_alive(pgids: &[i32]) -> Vec<i32> {
    let probed: Vec<i32> = pgids.iter().copied().filter(|&g| group_exists(g)).collect();
    if probed.is_empty() {
        return probed;
    }
    let procs = processes();
    probed
        .into_iter()
        .filter(|&g| procs.iter().any(|p| p.pgid == g && !p.dead))
        .collect()
}

/// Send `signal` to a crashed run's group judged [`Judgement::Ours`].
pub(crate) fn signal_orphan(pgid: i32, signal: Signal) {
    super::unix::signal_group(Pid::from_raw(pgid), signal);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> ProcessIdentity {
        ProcessIdentity {
            pgid: 1234,
            start_ticks: 5000,
            boot_id: "boot-a".into(),
            host: "db1".into(),
            pid_ns: "pid:[1]".into(),
        }
    }

    fn here(boot_id: &str) -> Here {
        Here {
            boot_id: boot_id.into(),
            host: "db1".into(),
            pid_ns: "pid:[1]".into(),
        }
    }

    fn p(pid: i32, pgid: i32, start_ticks: u64) -> ProcStat {
        ProcStat {
            pid,
            pgid,
            start_ticks,
            dead: false,
        }
    }

    #[test]
    fn parses_a_stat_line_with_spaces_and_parens_in_the_name() {
        let line = "1234 (my (odd) cmd) S 1 1234 77 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 5000 2000000 100 18446744073709551615";
        assert_eq!(parse_stat(line), Some(p(1234, 1234, 5000)));
        let zombie = "99 (sh) Z 1 1234 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5001 0 0 0";
        assert!(parse_stat(zombie).unwrap().dead);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn names_the_processes_holding_a_pipe_but_not_this_one() {
        use std::os::fd::AsRawFd as _;
        let (reader, writer) = std::io::pipe().unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", reader.as_raw_fd()))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .stdout(writer)
            .spawn()
            .unwrap();
        // Until it has exec'd, the child's command line is not `sleep 10` yet.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(b"sleep\0"))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let holders = pipe_holders(std::slice::from_ref(&link));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            holders,
            [PipeHolder {
                pid: child.id().cast_signed(),
                command: "sleep 10".into()
            }]
        );
        assert_eq!(pipe_holders(&[]), []);
    }

    #[test]
    fn reads_this_process() {
        let me = identify(std::process::id()).unwrap();
        assert!(me.start_ticks > 0);
        assert!(!me.boot_id.is_empty());
        assert!(!me.host.is_empty());
        assert!(me.pid_ns.starts_with("pid:["), "{}", me.pid_ns);
    }

    #[test]
    fn the_leader_with_its_start_time_is_ours() {
        let procs = [p(1234, 1234, 5000), p(1240, 1234, 5003), p(1, 1, 1)];
        assert_eq!(judge(&recorded(), &here("boot-a"), &procs), Judgement::Ours);
    }

    #[test]
    fn a_leader_with_another_start_time_is_a_stranger() {
        let procs = [p(1234, 1234, 9000), p(1240, 1234, 9001)];
        assert_eq!(
            judge(&recorded(), &here("boot-a"), &procs),
            Judgement::Absent(OrphanAbsence::Reused)
        );
    }

    #[test]
    fn another_boot_means_nothing_of_ours_runs() {
        let procs = [p(1234, 1234, 5000)];
        assert_eq!(
            judge(&recorded(), &here("boot-b"), &procs),
            Judgement::Absent(OrphanAbsence::Rebooted)
        );
    }

    #[test]
    fn an_empty_or_zombie_only_group_is_gone() {
        let mut zombie = p(1234, 1234, 5000);
        zombie.dead = true;
        assert_eq!(
            judge(&recorded(), &here("boot-a"), &[zombie, p(7, 7, 10)]),
            Judgement::Absent(OrphanAbsence::Gone)
        );
        assert_eq!(
            judge(&recorded(), &here("boot-a"), &[]),
            Judgement::Absent(OrphanAbsence::Gone)
        );
    }

    #[test]
    fn without_the_leader_members_count_only_if_none_is_older_than_it() {
        // The shell died; its backgrounded child lives on.
        assert_eq!(
            judge(&recorded(), &here("boot-a"), &[p(1240, 1234, 5001)]),
            Judgement::Ours
        );
        // A member older than our leader cannot descend from it.
        assert_eq!(
            judge(
                &recorded(),
                &here("boot-a"),
                &[p(1240, 1234, 5001), p(900, 1234, 4000)]
            ),
            Judgement::Absent(OrphanAbsence::Reused)
        );
    }

    #[test]
    fn another_host_or_pid_namespace_cannot_be_judged_from_here() {
        // Same pgid and start time, even a live leader: on another host that
        // says nothing, and nothing here may be touched.
        let procs = [p(1234, 1234, 5000)];
        let mut there = here("boot-b");
        there.host = "db2".into();
        assert_eq!(
            judge(&recorded(), &there, &procs),
            Judgement::Absent(OrphanAbsence::Elsewhere)
        );
        // Another host with the same boot id (cloned machines) too.
        there.boot_id = "boot-a".into();
        assert_eq!(
            judge(&recorded(), &there, &procs),
            Judgement::Absent(OrphanAbsence::Elsewhere)
        );
        // Same host and boot, another PID namespace (a container).
        let mut container = here("boot-a");
        container.pid_ns = "pid:[2]".into();
        assert_eq!(
            judge(&recorded(), &container, &procs),
            Judgement::Absent(OrphanAbsence::Elsewhere)
        );
        assert_eq!(
            judge_now(&recorded(), &container),
            Judgement::Absent(OrphanAbsence::Elsewhere)
        );
        // Same host, restarted: gone, whatever the namespace says.
        container.boot_id = "boot-b".into();
        assert_eq!(
            judge(&recorded(), &container, &procs),
            Judgement::Absent(OrphanAbsence::Rebooted)
        );
    }

    #[test]
    fn an_identity_without_host_and_namespace_is_judged_as_before() {
        let mut old = recorded();
        old.host = String::new();
        old.pid_ns = String::new();
        let procs = [p(1234, 1234, 5000)];
        assert_eq!(judge(&old, &here("boot-a"), &procs), Judgement::Ours);
        assert_eq!(
            judge(&old, &here("boot-b"), &procs),
            Judgement::Absent(OrphanAbsence::Rebooted)
        );
        let parsed: ProcessIdentity =
            serde_json::from_str(r#"{"pgid":1,"start_ticks":2,"boot_id":"b"}"#).unwrap();
        assert_eq!(parsed.host, "");
        assert_eq!(parsed.pid_ns, "");
    }
}
