//! The commands against the shared journal (`--journal-url`,
//! `CUTOVER_JOURNAL_URL`): `db init`, `journal export|import`, and `note`,
//! `approve`, `status`, `runs`, `report` reading and writing a run kept in
//! PostgreSQL (`verify`, `action` and `report` are written once for both
//! places: `journal_at`). Each is the local command's logic over the same fold; only
//! where records come from and go to differs, and who writes is the
//! database user, never a typed name.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{
    ApproveArgs, Command, DbCommand, DoneArgs, JournalCommand, MarkArgs, NoteArgs, RunsArgs,
    StatusArgs, TextOrJson,
};
use crate::engine::approval::{self, Ballot, Rules};
use crate::error::Error;
use crate::event::Event;
use crate::journal::{RunState, fold_from_text};
use crate::pg::{Db, JournalUrl};
use crate::status::StatusView;

/// `status --follow` on a terminal redraws this often without news (the
/// running durations); news wakes it at once (LISTEN/NOTIFY, no polling).
const TICK: Duration = Duration::from_secs(1);
/// How often a follower that lost the shared journal tries to reconnect.
const RETRY: Duration = Duration::from_millis(500);
/// A follower fetches at most this often: its work is bounded by its own
/// pace, not the driver's (50 followers woken per record starved the driver
/// on 2 cores), and a record still shows within the 200 ms lag goal.
const PACE: Duration = Duration::from_millis(100);

/// The shared journal's version of `command`, when a URL is given and the
/// command reads or writes runs; `None`: the command runs as usual.
pub fn intercept(command: &Command, url: Option<&str>) -> Option<Result<ExitCode, Error>> {
    let url = url?;
    let result = match command {
        Command::Note(args) => note(args, url),
        Command::Approve(args) => approve(args, url),
        Command::Status(args) => status(args, url),
        Command::Runs(args) => runs(args, url),
        Command::Report(args) => super::report::exec_at(args, Some(url)),
        Command::Done(args) => done(args, url),
        Command::Mark(args) => mark(args, url),
        Command::Run(args) => super::run::exec_with(args, Some(url)),
        Command::Resume(args) => super::resume::exec_with(args, Some(url)),
        Command::Verify(args) => Ok(super::verify::exec_at(args, Some(url))),
        Command::Action(args) => super::action::exec_at(args, Some(url)),
        _ => return None,
    };
    Some(result)
}

pub(super) fn connect(url: &str) -> Result<Db, Error> {
    Ok(Db::connect(&JournalUrl::parse(url)?)?)
}

/// `cutover db init [URL]`.
pub fn db(command: &DbCommand, global: Option<&str>) -> Result<ExitCode, Error> {
    let DbCommand::Init(args) = command;
    let Some(url) = args.url.as_deref().or(global) else {
        return Err(Error::Usage(
            "name the database: `cutover db init postgres://USER@HOST/DB` (or set `CUTOVER_JOURNAL_URL`)".into(),
        ));
    };
    let db = connect(url)?;
    let done = db.init_schema()?;
    if done.applied.is_empty() {
        super::say!(
            "the shared journal {} is at schema version {}; nothing to do",
            db.url(),
            done.version
        );
    } else {
        super::say!(
            "the shared journal {} is at schema version {} (applied {}); grant people a role: GRANT cutover_operator|cutover_approver|cutover_viewer TO name",
            db.url(),
            done.version,
            done.applied
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `cutover journal export RUN` and `cutover journal import FILE`.
pub fn journal(command: &JournalCommand, url: Option<&str>) -> Result<ExitCode, Error> {
    match (command, url) {
        (JournalCommand::Export(args), Some(url)) => {
            let text = connect(url)?.journal_text(&args.run)?;
            super::write_stdout(text.as_bytes())?;
        }
        (JournalCommand::Export(args), None) => {
            let path = crate::journal::locate(&args.run)?;
            let bytes = read_file(&path)?;
            super::write_stdout(&bytes)?;
        }
        (JournalCommand::Import(args), Some(url)) => {
            let text = read_file(&args.file)?;
            let text = String::from_utf8(text).map_err(|_| {
                Error::Usage(format!(
                    "`{}` is not UTF-8 text, so not a journal",
                    args.file.display()
                ))
            })?;
            let db = connect(url)?;
            let done = db.import(&text, &args.file)?;
            if let Some(line) = done.torn_line {
                super::say!(
                    "warning: line {line} of `{}` is a torn last line (a crashed writer's); left out",
                    args.file.display()
                );
            }
            super::say!(
                "imported run `{}` ({} records) into the shared journal {}",
                done.run_id,
                done.records,
                db.url()
            );
        }
        (JournalCommand::Import(_), None) => {
            return Err(Error::Usage(
                "`cutover journal import` copies into the shared journal: give `--journal-url URL` (or set `CUTOVER_JOURNAL_URL`)".into(),
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A journal file's bytes, never through a symbolic link.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    crate::files::open_read(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| {
            if crate::files::is_link_error(&e, path) {
                Error::Journal(crate::journal::JournalError::Link(
                    path.display().to_string(),
                ))
            } else {
                Error::io("read", path.display(), e)
            }
        })?;
    Ok(bytes)
}

/// The run's fold, from the shared journal.
pub(super) fn fold(db: &Db, run: &str) -> Result<(RunState, u64), Error> {
    let folded = fold_from_text(&db.journal_text(run)?)?;
    let last = folded.state.last_seq;
    Ok((folded.state, last))
}

/// With the shared journal a person is the database user they logged in as.
pub(super) fn refuse_as(actor: Option<&String>) -> Result<(), Error> {
    match actor {
        Some(name) => Err(Error::Usage(format!(
            "`--as {}` (or `CUTOVER_ACTOR`) is refused with the shared journal: you are the database user you log in as",
            crate::text::one_line(name)
        ))),
        None => Ok(()),
    }
}

/// Mask what a person typed: the run's secrets and the journal's password.
pub(super) fn mask(db: &Db, state: &RunState, text: &str) -> String {
    let masked = super::plan_masker(&state.plan).mask(text);
    match db.url().password() {
        Some(password) => crate::secrets::Masker::new([password.as_str()]).mask(&masked),
        None => masked,
    }
}

fn note(args: &NoteArgs, url: &str) -> Result<ExitCode, Error> {
    refuse_as(args.actor.as_ref())?;
    if args.text.trim().is_empty() {
        return Err(Error::Usage("a note needs some text".into()));
    }
    let db = connect(url)?;
    let (state, _) = fold(&db, &args.run.run)?;
    let text = mask(&db, &state, &args.text);
    let record = db.append_external(&args.run.run, Event::Note { text })?;
    super::say!(
        "noted in run `{}` as {} (journal seq {})",
        record.run_id,
        record.who(),
        record.seq
    );
    Ok(ExitCode::SUCCESS)
}

fn done(args: &DoneArgs, url: &str) -> Result<ExitCode, Error> {
    refuse_as(args.actor.as_ref())?;
    let db = connect(url)?;
    let run_id = args.run.run.clone();
    let (mut state, last) = fold(&db, &run_id)?;
    super::done::check_manual(&state, &args.step, &run_id)?;
    let note = args.note.as_deref().map(|n| mask(&db, &state, n));
    let written = db.append_judged(&run_id, last, |appended, _| {
        super::done::judge_done(&mut state, appended, &args.step, note.clone())
    })?;
    super::done::say_done(written.ok(), &state, &args.step, &run_id, &run_id);
    Ok(ExitCode::SUCCESS)
}

fn mark(args: &MarkArgs, url: &str) -> Result<ExitCode, Error> {
    refuse_as(args.actor.as_ref())?;
    let db = connect(url)?;
    let (state, _) = fold(&db, &args.run.run)?;
    let event = super::mark::milestone(args, &|text| mask(&db, &state, text))?;
    let record = db.append_external(&args.run.run, event)?;
    super::mark::say_marked(&record);
    Ok(ExitCode::SUCCESS)
}

fn approve(args: &ApproveArgs, url: &str) -> Result<ExitCode, Error> {
    refuse_as(args.actor.as_ref())?;
    let db = connect(url)?;
    let run_id = args.run.run.clone();
    let (mut state, last) = fold(&db, &run_id)?;
    let rules = Rules::from_plan(&state, &args.step, &run_id)?;
    let (who, identity) = rules.voter(db.user(), None)?;
    let reason = args
        .reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| mask(&db, &state, r));
    let ballot = Ballot {
        step: &args.step,
        person: &who,
        reason: reason.as_deref(),
        reject: args.reject,
        auto: false,
        identity,
    };
    let written = db.append_judged(&run_id, last, |appended, next_seq| {
        for r in appended {
            state.apply(r);
        }
        approval::judge_vote(&state, &rules, &ballot, &run_id, next_seq)
    })?;
    let records = written?;
    for r in &records {
        state.apply(r);
    }
    super::say!(
        "{}",
        super::approve::said(&records, &state, &rules.policy, &run_id)
    );
    Ok(ExitCode::SUCCESS)
}

fn status(args: &StatusArgs, url: &str) -> Result<ExitCode, Error> {
    let mut db = connect(url)?;
    let run = &args.run.run;
    let clock = crate::journal::Clock::from_env();
    if args.follow {
        // Before the first read: nothing appended after it is missed.
        db.listen()?;
    }
    let (mut state, mut last) = fold(&db, run)?;
    let view = status_view(&state, &clock, run, &db)?;
    print_status(&view, args.format, false)?;
    if !args.follow || over(&state) {
        return Ok(ExitCode::SUCCESS);
    }
    let tty =
        std::io::IsTerminal::is_terminal(&std::io::stdout()) && args.format == TextOrJson::Text;
    let mut fetched = std::time::Instant::now();
    loop {
        let news = match db.wait_for_news(run, last, TICK) {
            Ok(crate::pg::News::Quiet) => false,
            Ok(crate::pg::News::Appended(_)) => true,
            Err(lost) => {
                super::say!("warning: {}; reconnecting", crate::text::error_chain(&lost));
                db = reconnect(url)?;
                super::say!("reconnected to the shared journal {}", db.url());
                true
            }
        };
        // One fetch takes everything appended since the last view, however
        // many notifications announced it.
        let new = if news {
            // At most one fetch per PACE, whatever the driver's pace: what
            // comes meanwhile is in that fetch, and its notifications are
            // dropped as read.
            std::thread::sleep(PACE.saturating_sub(fetched.elapsed()));
            fetched = std::time::Instant::now();
            db.records_since(run, last)?
        } else {
            Vec::new()
        };
        for record in &new {
            state.apply(record);
            last = record.seq;
        }
        // A terminal is redrawn every tick (the running durations); a pipe
        // gets a view only when there is something new in it.
        if new.is_empty() && !tty {
            continue;
        }
        print_status(&status_view(&state, &clock, run, &db)?, args.format, tty)?;
        if over(&state) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// Connect again after a lost connection, every [`RETRY`] until it works
/// (a follower waits out a database restart; Ctrl-C leaves), listening
/// before anything is read again.
fn reconnect(url: &str) -> Result<Db, Error> {
    let url = JournalUrl::parse(url)?;
    loop {
        std::thread::sleep(RETRY);
        match Db::connect(&url) {
            Ok(db) => {
                db.listen()?;
                return Ok(db);
            }
            Err(e) => tracing::info!("still no shared journal: {e}"),
        }
    }
}

/// The view of a run, driven when some session holds its driving lock (on
/// any host); `--follow` watches an undriven run too, for notes and votes,
/// until it ends.
fn status_view(
    state: &RunState,
    clock: &crate::journal::Clock,
    run: &str,
    db: &Db,
) -> Result<StatusView, Error> {
    let mut view = StatusView::from_state(state, Some(clock.now()));
    view.set_driven(db.is_driven(run)?, run);
    Ok(view)
}

/// Whether nothing more can happen to the run: a paused or aborted run still
/// takes votes, notes and a resume, so `--follow` keeps watching it.
fn over(state: &RunState) -> bool {
    use crate::event::Outcome;
    matches!(
        state.outcome(),
        Some(Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)
    )
}

/// One view: a JSON line, or the text (on a terminal, redrawn from the top
/// like `watch`).
fn print_status(view: &StatusView, format: TextOrJson, redraw: bool) -> Result<(), Error> {
    let text = match format {
        TextOrJson::Json => serde_json::to_string(view)
            .map_err(|e| Error::Internal(format!("failed to render the status: {e}")))?,
        TextOrJson::Text if redraw => format!("\x1b[H\x1b[2J{}", view.to_text()),
        TextOrJson::Text => view.to_text(),
    };
    super::write_stdout(format!("{text}\n").as_bytes())
}

fn runs(args: &RunsArgs, url: &str) -> Result<ExitCode, Error> {
    let db = connect(url)?;
    let mut rows = Vec::new();
    for run in db.list_runs()? {
        let text = db.journal_text(&run.run_id)?;
        let Ok(folded) = fold_from_text(&text) else {
            continue;
        };
        rows.push(super::runs::row(
            &folded,
            false,
            format!("{}/{}", db.url(), run.run_id),
        ));
    }
    super::runs::print(rows, args.format)
}
