//! `cutover note RUN "text" [--as NAME]`: an operator note in a live or
//! finished run's journal, through the same append lock the engine uses.

use std::process::ExitCode;

use crate::cli::NoteArgs;
use crate::error::Error;
use crate::event::Event;
use crate::journal::{Stamp, append_external, locate};

pub fn exec(args: &NoteArgs) -> Result<ExitCode, Error> {
    if args.text.trim().is_empty() {
        return Err(Error::Usage("a note needs some text".into()));
    }
    let path = locate(&args.run.run)?;
    let stamp = Stamp::new(args.actor.clone());
    // A pasted secret is masked like command output.
    let text = super::journal_masker(&path).mask(&args.text);
    let record = append_external(&path, &stamp, Event::Note { text })?;
    super::say!(
        "noted in run `{}` as {} (journal seq {})",
        record.run_id,
        record.who(),
        record.seq
    );
    Ok(ExitCode::SUCCESS)
}
