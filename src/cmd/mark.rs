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
    let name = args.milestone.trim();
    let path = locate(&args.run.run)?;
    // A name is shown in every report; one holding a secret is refused, unshown.
    if super::journal_masker(&path).mask(name) != name {
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
    let stamp = Stamp::new(args.actor.clone());
    let record = append_external(
        &path,
        &stamp,
        Event::Milestone {
            name: name.to_string(),
            at,
            step: None,
        },
    )?;
    super::say!(
        "marked `{name}` in run `{}` as {} (journal seq {}){}",
        record.run_id,
        record.who(),
        record.seq,
        if WELL_KNOWN.contains(&name) {
            ""
        } else {
            " (a free milestone: the report lists it but does not place it on the impact timeline)"
        }
    );
    Ok(ExitCode::SUCCESS)
}
