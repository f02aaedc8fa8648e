//! `cutover action RUN ["text" --owner NAME [--due DATE] [--from KEY]]`,
//! `cutover action RUN --close ID [--note TEXT]`: follow-up action items of
//! a run, added and closed any time (also long after it ended), through the
//! same append lock the engine uses; without text, lists them with the
//! follow-ups the run's deviations suggest. Texts are masked like notes.

use std::process::ExitCode;

use super::journal_at::JournalAt;
use crate::cli::ActionArgs;
use crate::error::Error;
use crate::event::{ActionAdded, ActionClosed, Event, Record};
use crate::journal::{RunState, due_by};

pub fn exec(args: &ActionArgs) -> Result<ExitCode, Error> {
    exec_at(args, None)
}

/// [`exec`] on the run in the shared journal at `url` (`None`: the local file).
pub(crate) fn exec_at(args: &ActionArgs, url: Option<&str>) -> Result<ExitCode, Error> {
    let (at, mut state) =
        JournalAt::open(&args.run.run, url, args.actor.as_ref(), "`cutover action`")?;
    // Judged under the run's append lock: two people adding at once get two
    // ids, two closing one item at once journal one close.
    let judged = |state: &mut RunState, appended: &[Record]| {
        for r in appended {
            state.apply(r);
        }
    };
    if let Some(id) = args.close {
        let note = args.note.as_deref().map(|n| at.mask(&state, n.trim()));
        let written = at.append_judged(|appended, _| {
            judged(&mut state, appended);
            closing(&state, id, note, &args.run.run)
        })?;
        say(&written);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = args.text.as_deref() else {
        print!("{}", list(&state));
        return Ok(ExitCode::SUCCESS);
    };
    let owner = check_new(args, &state, text)?;
    let (text, owner) = (at.mask(&state, text.trim()), at.mask(&state, owner));
    let written = at.append_judged(|appended, _| {
        judged(&mut state, appended);
        Ok(vec![Event::ActionAdded(ActionAdded {
            id: state.next_action_id(),
            text,
            owner,
            due: args.due.clone(),
            suggestion: args.from.clone(),
        })])
    })?;
    say(&written);
    Ok(ExitCode::SUCCESS)
}

/// Refuse a new item without text or owner, with a due date that is not
/// one, or adopting a follow-up the run does not suggest; its owner.
fn check_new<'a>(args: &'a ActionArgs, state: &RunState, text: &str) -> Result<&'a str, Error> {
    if text.trim().is_empty() {
        return Err(Error::Usage("an action item needs some text".into()));
    }
    let Some(owner) = args
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    else {
        return Err(Error::Usage(
            "an action item needs an owner: `--owner NAME`".into(),
        ));
    };
    if let Some(due) = &args.due
        && due_by(due).is_none()
    {
        return Err(Error::Usage(format!(
            "`--due` is `{due}`, not a date like `2026-12-31` (or an RFC 3339 time)"
        )));
    }
    if let Some(key) = &args.from
        && !crate::describe::suggestions(state)
            .iter()
            .any(|s| &s.key == key)
    {
        return Err(Error::Usage(format!(
            "run `{}` suggests no follow-up `{key}` (`cutover action {}` lists them)",
            state.run_id, args.run.run
        )));
    }
    Ok(owner)
}

/// `action_closed` for item `id`, unless the run has no such item or it
/// was closed already.
fn closing(
    state: &RunState,
    id: u32,
    note: Option<String>,
    run_ref: &str,
) -> Result<Vec<Event>, Error> {
    let Some(item) = state.action(id) else {
        return Err(Error::Usage(format!(
            "run `{}` has no action item #{id} (`cutover action {run_ref}` lists them)",
            state.run_id
        )));
    };
    if let Some(c) = &item.closed {
        return Err(Error::Usage(format!(
            "action item #{id} was closed already, at {} by {}",
            c.at.rfc3339(),
            c.who.label()
        )));
    }
    Ok(vec![Event::ActionClosed(ActionClosed { id, note })])
}

fn say(written: &[Record]) {
    for record in written {
        super::say!("{}", crate::describe::live(record).unwrap_or_default());
    }
}

/// The action items, then the suggested follow-ups no item adopted yet.
fn list(state: &RunState) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if state.after.actions.is_empty() {
        out.push_str("no action items\n");
    }
    for a in &state.after.actions {
        let _ = writeln!(
            out,
            "#{:<3} {:<7} {}  (owner {}{}{})",
            a.id,
            if a.closed.is_some() { "closed" } else { "open" },
            crate::text::one_line(&a.text),
            a.owner,
            a.due
                .as_deref()
                .map(|d| format!(", due {d}"))
                .unwrap_or_default(),
            a.closed
                .as_ref()
                .map(|c| format!(", closed {} by {}", c.at.rfc3339(), c.who.label()))
                .unwrap_or_default()
        );
    }
    let open: Vec<_> = crate::describe::suggestions(state)
        .into_iter()
        .filter(|s| s.adopted_by.is_none())
        .collect();
    if !open.is_empty() {
        out.push_str("\nsuggested follow-ups (add one with `--from KEY`):\n");
        for s in open {
            let _ = writeln!(out, "{:<6} {}", s.key, s.text);
        }
    }
    crate::text::visible(&out).into_owned()
}
