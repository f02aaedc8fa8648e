//! `--detach-hypercare`: once every step is done, the driving process hands
//! the hypercare watch to a background `cutover resume` and exits; the
//! background process waits until the run is handed to it, then drives it.
//!
//! The hand-over never leaves the run with two drivers, nor silently with
//! none:
//! 1. the engine journals `hypercare_started`, disarms its triggers and
//!    returns ([`Ended::DetachHypercare`]); this process still holds the
//!    driving lock;
//! 2. it starts `cutover resume RUN --background-watch` in a session of its
//!    own (stdin from /dev/null, stdout and stderr to `journal.hypercare.log`
//!    in the run's directory, created 0600), with this environment: the
//!    secrets' variables are inherited, never put in its arguments;
//! 3. it journals `hypercare_detached` (log, pid) and releases the lock;
//! 4. the background process, waiting for that record to name its pid,
//!    then for the lock, resumes the run: its `run_resumed` is the hand-over
//!    done, and it re-arms the triggers for the time left;
//! 5. this process waits for that `run_resumed`. Should the background
//!    process end first (or not take over within [`TAKE_OVER_WITHIN`]), this
//!    process takes the run back and watches here, as `cutover resume` would.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::engine::resume_rules::ResumeOptions;
use crate::engine::{Ended, Options, ResumeInput, Start};
use crate::error::Error;
use crate::event::{Event, HypercareDetached};
use crate::journal::{DriveLock, Journal, RunState, Stamp, Tail, append_external, is_driven};
use crate::plan::Plan;

/// How long the driving process waits for the background one to take the
/// run over before it takes it back.
const TAKE_OVER_WITHIN: Duration = Duration::from_mins(1);

/// How long the background process waits to be handed the run (and for the
/// lock the driving process releases right after).
const HANDED_WITHIN: Duration = Duration::from_secs(30);

/// How often either side looks at the journal and the lock.
const POLL: Duration = Duration::from_millis(20);

/// What the driving process needs to hand the run over, or to take it back.
pub(crate) struct HandOver<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) path: PathBuf,
    pub(crate) stamp: Stamp,
    /// The driving lock, held until the background process can take it.
    pub(crate) lock: Option<DriveLock>,
    /// How the run is named in printed commands (and to the background process).
    pub(crate) run_ref: String,
    pub(crate) yes: bool,
    pub(crate) wait: bool,
    pub(crate) no_progress: bool,
}

/// The background process's log: `journal.hypercare.log` beside the journal.
pub(crate) fn log_path(journal: &Path) -> PathBuf {
    let log = crate::journal::sibling(journal, "hypercare.log");
    std::path::absolute(&log).unwrap_or(log)
}

/// The engine stopped at hypercare ([`Ended::DetachHypercare`]): hand the
/// watch to a background process and give exit 0 once it has taken the run
/// over; if it cannot, watch here.
pub(crate) fn hand_over(mut h: HandOver<'_>) -> Result<ExitCode, Error> {
    let log = log_path(&h.path);
    let mut tail = Tail::from(journal_len(&h.path));
    let mut child = match start_background(&h, &log) {
        Ok(child) => child,
        Err(e) => {
            eprintln!(
                "warning: could not start a background process for the hypercare watch ({e}); it goes on in this process"
            );
            return take_back(h);
        }
    };
    let pid = child.id();
    let detached = Event::HypercareDetached(HypercareDetached {
        log: log.display().to_string(),
        pid: Some(pid),
    });
    if let Err(e) = append_external(&h.path, &h.stamp, detached) {
        stop(&mut child);
        return Err(e.into());
    }
    // From here the background process may take the lock: let go of it.
    drop(h.lock.take());
    match await_take_over(&h.path, &mut tail, &mut child, pid) {
        Ok(()) => {
            let r = &h.run_ref;
            super::say!(
                "hypercare continues in the background (pid {pid}, log {}); follow it with `cutover status {r} --follow`; end it with `cutover resume {r} --end-hypercare --reason \"...\"`",
                log.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            stop(&mut child);
            super::say!(
                "warning: the background process (pid {pid}) did not take the run over: {why} (its log: {}); the hypercare watch goes on in this process",
                log.display()
            );
            take_back(h)
        }
    }
}

/// The journal's length now: the background process's records come after.
fn journal_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// `cutover resume RUN --background-watch` in a session of its own, its
/// output to `log`.
fn start_background(h: &HandOver<'_>, log: &Path) -> std::io::Result<Child> {
    let out = crate::files::open_or_create(OpenOptions::new().append(true), log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args([
        "--color",
        "never",
        "resume",
        "--background-watch",
        "--no-progress",
    ])
    .arg("--")
    .arg(&h.run_ref)
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err);
    // The same person drives it; `--as` travels as its variable.
    match &h.stamp.on_behalf {
        Some(name) => cmd.env("CUTOVER_ACTOR", name),
        None => cmd.env_remove("CUTOVER_ACTOR"),
    };
    // A pinned clock (`CUTOVER_NOW`) goes on from where this process's is,
    // not from its start again.
    if crate::journal::pinned_now().ok().flatten().is_some() {
        cmd.env(crate::journal::NOW_VAR, h.stamp.clock.rfc3339())
            .env_remove("CUTOVER_FAKE_NOW");
    }
    cmd.spawn()
}

/// Wait for the background process's `run_resumed`; `Err` says why it did
/// not come.
fn await_take_over(
    path: &Path,
    tail: &mut Tail,
    child: &mut Child,
    pid: u32,
) -> Result<(), String> {
    let deadline = Instant::now() + TAKE_OVER_WITHIN;
    let resumed = |tail: &mut Tail| -> Result<bool, String> {
        let records = tail.read(path).map_err(|e| e.to_string())?;
        Ok(records
            .iter()
            .any(|r| matches!(r.event, Event::RunResumed { pid: p } if p == pid)))
    };
    loop {
        if resumed(tail)? {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It may have taken over and ended at once.
            if resumed(tail)? {
                return Ok(());
            }
            return Err(format!("it ended ({status})"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "it had not taken the run over after {}",
                crate::text::duration::precise(
                    u64::try_from(TAKE_OVER_WITHIN.as_millis()).unwrap_or(u64::MAX)
                )
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Stop the background process this process started (by its handle, so
/// never another process that reused its pid).
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Watch here after all: take the run over again, as `cutover resume`
/// does, with the plan this process already has.
fn take_back(mut h: HandOver<'_>) -> Result<ExitCode, Error> {
    drop(h.lock.take());
    let (journal, lock, read) = Journal::open(&h.path, h.stamp.clone())?;
    let state = RunState::replay(&read.records);
    let dry_run = state.started.as_ref().is_some_and(|s| s.dry_run);
    let opts = Options {
        dry_run,
        yes: h.yes,
        wait: h.wait,
        runbook_dir: super::run::runbook_dir(&h.plan.runbook_path),
        run_ref: h.run_ref.clone(),
        start: Start::Resume(Box::new(ResumeInput {
            state,
            options: ResumeOptions::default(),
        })),
        scheduling: crate::engine::Scheduling::default(),
        detach_hypercare: false,
    };
    super::run::drive(h.plan, journal, Some(lock), opts, h.no_progress)
}

/// The background process (`cutover resume RUN --background-watch`): leave
/// the terminal's session, wait until the journal says the run is handed to
/// this process and the lock is free; then `cutover resume` goes on.
pub(crate) fn await_hand_over(run: &str) -> Result<(), Error> {
    // Its own session: a hang-up or Ctrl-C at the terminal it came from
    // never reaches it. (Fails only for a group leader, which it is not.)
    let _ = nix::unistd::setsid();
    let me = std::process::id();
    let stamp = Stamp::new(None);
    super::say!(
        "{} cutover background watch (pid {me}): waiting for run `{run}` to be handed over",
        stamp.clock.rfc3339()
    );
    let path = crate::journal::locate(run)?;
    let deadline = Instant::now() + HANDED_WITHIN;
    let mut tail = Tail::from(0);
    let not_handed = || {
        Error::Usage(format!(
            "run `{}` was not handed to this process (pid {me}); nothing was done",
            crate::text::one_line(run)
        ))
    };
    loop {
        let handed = tail
            .read(&path)?
            .iter()
            .any(|r| matches!(&r.event, Event::HypercareDetached(d) if d.pid == Some(me)));
        if handed {
            break;
        }
        if Instant::now() >= deadline {
            return Err(not_handed());
        }
        std::thread::sleep(POLL);
    }
    // The driving process lets go of the lock right after that record.
    while is_driven(&path) {
        if Instant::now() >= deadline {
            return Err(not_handed());
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// `--detach-hypercare` with the shared journal: the background process
/// takes the run over through the file journal's lock, so not yet.
pub(crate) fn refuse_shared(detach: bool) -> Result<(), Error> {
    if detach {
        return Err(Error::Usage(
            "`--detach-hypercare` does not work with the shared journal yet: run the hypercare in the foreground (or in `tmux`/`screen`); `status --follow` follows it from any host".into(),
        ));
    }
    Ok(())
}

/// What `drive` does once the engine stopped: the exit code of the run,
/// or the hand-over's.
pub(crate) fn after_engine(ended: Ended, h: HandOver<'_>) -> Result<ExitCode, Error> {
    match ended {
        Ended::Outcome(outcome) => Ok(ExitCode::from(outcome.exit_code())),
        Ended::DetachHypercare => hand_over(h),
    }
}

/// `--detach-hypercare` on a run that has no hypercare to hand over (no
/// `[hypercare]`, or a dry run): say so once, at the start.
pub(crate) fn say_if_nothing_to_detach(plan: &Plan, opts: &Options) {
    let has_hypercare = plan
        .runbook
        .hypercare
        .as_ref()
        .is_some_and(|h| !h.duration.is_zero());
    if opts.detach_hypercare && (opts.dry_run || !has_hypercare) {
        eprintln!(
            "note: `--detach-hypercare` has nothing to hand over: {}; the run ends after its last step",
            if opts.dry_run {
                "a dry run has no hypercare"
            } else {
                "the runbook has no `[hypercare]` for this env"
            }
        );
    }
}
