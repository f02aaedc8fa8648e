//! `cutover run`'s schedule, decided before anything is journaled: when to
//! start (`--at`, else `[schedule] start` while it is ahead), which steps to
//! skip (`--skip`, `--from`), the planned schedule, and whether the change
//! window and the freeze periods let the run start then (a refused run
//! leaves no journal, unless `--override-window`).

use crate::cli::RunArgs;
use crate::describe::schedule::{refusal, time};
use crate::engine::{Scheduling, Skips};
use crate::error::Error;
use crate::journal::Ts;
use crate::plan::Plan;
use crate::schedule::{AtError, Period, Zone, parse_rfc3339};
use crate::text::duration::short;

/// Everything the schedule decides for this run, or why it may not start.
pub(super) fn decide(args: &RunArgs, plan: &Plan, now: Ts) -> Result<Scheduling, Error> {
    let start_at = start_at(args, plan, now)?;
    let skips = skips(args, plan)?;
    let skipped = skips.as_ref().map_or(&[][..], |s| s.steps.as_slice());
    let planned_start = start_at.as_ref().map(|(t, _)| time(*t));
    let planned = super::super::forecast::forecast(plan, planned_start, skipped);
    let begins = start_at.as_ref().map_or(now, |(t, _)| *t);
    let window_override = window(args, plan, begins, planned.planned_total_ms)?;
    let worth_journaling = planned.steps.iter().any(|s| s.planned_ms.is_some())
        || !plan.schedule.is_empty()
        || start_at.is_some();
    Ok(Scheduling {
        planned: worth_journaling.then_some(planned),
        start_at,
        skips,
        window_override,
    })
}

/// When to start: `--at`, else `[schedule] start` while it is ahead (not
/// for a dry run); `None`: now.
fn start_at(args: &RunArgs, plan: &Plan, now: Ts) -> Result<Option<(Ts, String)>, Error> {
    if let Some(text) = &args.at {
        return match crate::schedule::start_at(text, now.ms, &Zone::local()) {
            Ok(ms) => Ok(Some((Ts { ms }, "--at".into()))),
            Err(AtError::Past { ago_ms }) => Err(Error::Usage(format!(
                "`--at {text}` is {} ago; leave `--at` out to start now",
                short(ago_ms)
            ))),
            Err(AtError::NoOffset) => Err(Error::Usage(format!(
                "`--at {text}` has no UTC offset: add `Z` (UTC) or one such as `+01:00`, or give a local time as `HH:MM`"
            ))),
            Err(AtError::NotATime) => Err(Error::Usage(format!(
                "`--at {text}` is not a time: give RFC 3339 with its offset (`2026-12-12T22:00:00Z`) or a local time `HH:MM`"
            ))),
        };
    }
    let Some(planned) = plan
        .schedule
        .start
        .as_deref()
        .and_then(|s| parse_rfc3339(s).ok())
    else {
        return Ok(None);
    };
    if args.dry_run {
        return Ok(None);
    }
    if planned > now.ms {
        return Ok(Some((Ts { ms: planned }, "[schedule] start".into())));
    }
    eprintln!(
        "note: the planned start ({}) was {} ago; starting now",
        time(Ts { ms: planned }),
        short(now.ms.abs_diff(planned))
    );
    Ok(None)
}

/// The steps `--skip` and `--from` leave out, in runbook order, refused
/// when one that still runs needs a skipped one.
fn skips(args: &RunArgs, plan: &Plan) -> Result<Option<Skips>, Error> {
    if args.skip.is_empty() && args.from.is_none() {
        return Ok(None);
    }
    let steps = skipped_steps(plan, &args.skip, args.from.as_ref())?;
    let reason = plan
        .masker
        .mask(args.reason.as_deref().unwrap_or_default().trim());
    if reason.is_empty() {
        return Err(Error::Usage(
            "`--reason` is empty: say why the steps are skipped (it is journaled)".into(),
        ));
    }
    if steps.is_empty() {
        eprintln!(
            "note: `--from {}` skips nothing: it needs no step",
            args.from.as_deref().unwrap_or_default()
        );
        return Ok(None);
    }
    Ok(Some(Skips {
        steps,
        from: args.from.clone(),
        reason,
    }))
}

/// The steps `skip` and `from` leave out, in runbook order (`run` and
/// `plan` alike): each must be a step, and no step left to run may need
/// one of them.
pub(crate) fn skipped_steps(
    plan: &Plan,
    skip: &[String],
    from: Option<&String>,
) -> Result<Vec<String>, Error> {
    let nodes: Vec<(&str, &[String])> = plan
        .runbook
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.needs.as_slice()))
        .collect();
    let ids = || nodes.iter().map(|(id, _)| *id);
    for (flag, id) in skip
        .iter()
        .map(|s| ("--skip", s))
        .chain(from.map(|s| ("--from", s)))
    {
        if !ids().any(|x| x == id) {
            return Err(Error::Usage(format!(
                "`{flag} {id}`: the runbook has no step `{id}`{}",
                crate::diag::did_you_mean(id, ids())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            )));
        }
    }
    let before = from
        .map(|f| crate::schedule::skip::ancestors(&nodes, f))
        .unwrap_or_default();
    if let Some(b) = crate::schedule::skip::broken(&nodes, skip, &before).first() {
        return Err(Error::Usage(format!(
            "skipping `{0}` leaves `{1}` without it (`{1}` needs `{0}`): skip `{1}` too (`--skip {1}`) or start from it (`--from {1}`)",
            b.skipped, b.dependent
        )));
    }
    Ok(ids()
        .filter(|id| skip.iter().any(|s| s == id) || before.iter().any(|s| s == id))
        .map(str::to_string)
        .collect())
}

/// Whether the window and freezes let the run start at `begins` for
/// `planned_ms`: `Some` override to journal, `None` when nothing refused
/// (or a dry run, which is only told), an error when refused.
fn window(
    args: &RunArgs,
    plan: &Plan,
    begins: Ts,
    planned_ms: u64,
) -> Result<Option<(String, Vec<String>)>, Error> {
    let window = window_ms(plan);
    let freeze: Vec<Period> = plan
        .schedule
        .freeze
        .iter()
        .filter_map(|p| {
            Some(Period {
                start: parse_rfc3339(&p.start).ok()?,
                end: parse_rfc3339(&p.end).ok()?,
                reason: p.reason.clone(),
            })
        })
        .collect();
    let refused: Vec<String> = crate::schedule::check(begins.ms, planned_ms, window, &freeze)
        .iter()
        .map(refusal)
        .collect();
    if refused.is_empty() {
        if args.override_window {
            eprintln!("note: `--override-window` overrides nothing: the window allows this start");
        }
        return Ok(None);
    }
    let said = refused.join("; ");
    if args.dry_run {
        eprintln!("note: a real run starting now would be refused: {said}");
        return Ok(None);
    }
    if !args.override_window {
        return Err(Error::Usage(format!(
            "the change window refuses this run: {said}; start within it (`--at TIME`), or give `--override-window --reason \"...\"` (journaled as a deviation)"
        )));
    }
    let reason = plan
        .masker
        .mask(args.reason.as_deref().unwrap_or_default().trim());
    if reason.is_empty() {
        return Err(Error::Usage(
            "`--reason` is empty: say why the run starts outside its window (it is journaled)"
                .into(),
        ));
    }
    eprintln!("warning: starting although {said} (`--override-window`: {reason})");
    if plan.production {
        eprintln!(
            "a production run needs a go/no-go for this first: `cutover approve RUN window-override --reason \"...\"` by someone other than you"
        );
    }
    Ok(Some((reason, refused)))
}

/// The plan's change window as epoch milliseconds.
fn window_ms(plan: &Plan) -> Option<(i64, i64)> {
    let w = plan.schedule.window.as_ref()?;
    Some((parse_rfc3339(&w.start).ok()?, parse_rfc3339(&w.end).ok()?))
}
