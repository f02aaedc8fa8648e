//! `cutover mark RUN MILESTONE [--at TIME] [--as NAME] [--free]`: a milestone in a run's
//! journal (well-known names the report understands, or a free identifier;
//! a name close to a well-known one is refused as a typo unless `--free`).

use std::process::ExitCode;

use crate::cli::MarkArgs;
use crate::error::Error;
use crate::event::Event;
use crate::journal::{Stamp, append_external, locate};
use crate::milestone::{WELL_KNOWN, is_valid_name};

pub fn exec(args: &MarkArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let masker = super::journal_masker(&path);
    let event = milestone(args, &|text| masker.mask(text))?;
    let stamp = Stamp::new(args.actor.clone());
    let record = append_external(&path, &stamp, event)?;
    say_marked(&record);
    Ok(ExitCode::SUCCESS)
}

/// The milestone event `args` ask for, refused when its name holds one of
/// the run's secrets (`mask` changes it), is not a name, or is a near miss
/// of a well-known one (unless `--free`).
pub(crate) fn milestone(args: &MarkArgs, mask: &dyn Fn(&str) -> String) -> Result<Event, Error> {
    let name = args.milestone.trim();
    // A name is shown in every report; one holding a secret is refused, unshown.
    if mask(name) != name {
        return Err(Error::Usage(
            "the milestone name holds a secret of the run; nothing was recorded".into(),
        ));
    }
    if !is_valid_name(name) {
        return Err(Error::Usage(format!(
            "milestone `{name}` must be a simple name (letters, digits, `-`, `_`, starting with a letter); well-known ones: {}",
            WELL_KNOWN.join(", ")
        )));
    }
    if !args.free
        && let Some(meant) = crate::milestone::near_miss(name)
    {
        return Err(Error::Usage(format!(
            "milestone `{name}` is not well-known: did you mean `{meant}`? (pass --free to record `{name}` as a free milestone)"
        )));
    }
    let at = match &args.at {
        Some(t) => {
            let parsed = humantime::parse_rfc3339_weak(t).map_err(|e| {
                Error::Usage(format!(
                    "`--at {t}` is not a time: {e} (use RFC 3339, e.g. 2026-01-31T22:15:00Z)"
                ))
            })?;
            Some(humantime::format_rfc3339_millis(parsed).to_string())
        }
        None => None,
    };
    Ok(Event::Milestone {
        name: name.to_string(),
        at,
        step: None,
    })
}

pub(crate) fn say_marked(record: &crate::event::Record) {
    let crate::event::Event::Milestone { name, .. } = &record.event else {
        return;
    };
    super::say!(
        "marked `{name}` in run `{}` as {} (journal seq {}){}",
        record.run_id,
        record.who(),
        record.seq,
        if WELL_KNOWN.contains(&name.as_str()) {
            ""
        } else {
            " (a free milestone: the report lists it but does not place it on the impact timeline)"
        }
    );
}
