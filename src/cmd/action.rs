//! `cutover action RUN ["text" --owner NAME [--due DATE] [--from KEY]]`,
//! `cutover action RUN --close ID [--note TEXT]`: follow-up action items of
//! a run, added and closed any time (also long after it ended), through the
//! same append lock the engine uses; without text, lists them with the
//! follow-ups the run's deviations suggest. Texts are masked like notes.

use std::process::ExitCode;

use crate::cli::ActionArgs;
use crate::error::Error;
use crate::event::{ActionAdded, ActionClosed, Event};
use crate::journal::{RunState, Stamp, append_external, due_by, locate, read_journal};

pub fn exec(args: &ActionArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let state = RunState::replay(&read.records);
    let stamp = Stamp::new(args.actor.clone());
    let masker = super::journal_masker(&path);
    if let Some(id) = args.close {
        let Some(item) = state.action(id) else {
            return Err(Error::Usage(format!(
                "run `{}` has no action item #{id} (`cutover action {}` lists them)",
                state.run_id, args.run.run
            )));
        };
        if let Some(c) = &item.closed {
            return Err(Error::Usage(format!(
                "action item #{id} was closed already, at {} by {}",
                c.at.rfc3339(),
                c.who.label()
            )));
        }
        let note = args.note.as_deref().map(|n| masker.mask(n.trim()));
        let record = append_external(
            &path,
            &stamp,
            Event::ActionClosed(ActionClosed { id, note }),
        )?;
        super::say!("{}", crate::describe::live(&record).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = args.text.as_deref() else {
        print!("{}", list(&state));
        return Ok(ExitCode::SUCCESS);
    };
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
        && !crate::describe::suggestions(&state)
            .iter()
            .any(|s| &s.key == key)
    {
        return Err(Error::Usage(format!(
            "run `{}` suggests no follow-up `{key}` (`cutover action {}` lists them)",
            state.run_id, args.run.run
        )));
    }
    let record = append_external(
        &path,
        &stamp,
        Event::ActionAdded(ActionAdded {
            id: state.next_action_id(),
            text: masker.mask(text.trim()),
            owner: masker.mask(owner),
            due: args.due.clone(),
            suggestion: args.from.clone(),
        }),
    )?;
    super::say!("{}", crate::describe::live(&record).unwrap_or_default());
    Ok(ExitCode::SUCCESS)
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
