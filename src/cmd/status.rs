//! `cutover status RUN [--follow] [--format text|json]`: the run as a live
//! view rebuilt from its journal only (`status::StatusView`). `--follow`
//! tails the journal every [`POLL`] and redraws on every change until the
//! run ends, or until no process drives it any more (a crashed or killed
//! run shows as `stopped`); JSON follows as one view per line.

use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::cli::{StatusArgs, TextOrJson};
use crate::error::Error;
use crate::event::Record;
use crate::journal::{RunState, is_driven, locate, read_journal};
use crate::status::StatusView;

/// How often `--follow` looks at the journal: a step change shows within it.
const POLL: Duration = Duration::from_millis(200);
/// On a terminal, redraw this often even without news (running durations).
const TICK: Duration = Duration::from_secs(1);

pub fn exec(args: &StatusArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    // Probe the driving lock before reading: a driver that ends after the
    // probe has journaled its end by the time the journal is read.
    let driven = is_driven(&path);
    let read = read_journal(&path)?;
    let clock = crate::journal::Clock::from_env();
    let mut state = RunState::replay(&read.records);
    let mut view = StatusView::from_state(&state, Some(clock.now()));
    view.set_driven(driven, &args.run.run);
    print(&view, args.format, false)?;
    if !args.follow || view.ended() || view.stopped() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut tail = Tail {
        offset: read.valid_len,
        partial: Vec::new(),
    };
    let tty = std::io::stdout().is_terminal() && args.format == TextOrJson::Text;
    let mut last_draw = Instant::now();
    loop {
        std::thread::sleep(POLL);
        let driven = is_driven(&path);
        let new = tail.read(&path)?;
        let news = !new.is_empty();
        for record in &new {
            state.apply(record);
        }
        let tick = tty && last_draw.elapsed() >= TICK;
        if !news && !tick && driven {
            continue;
        }
        let mut view = StatusView::from_state(&state, Some(clock.now()));
        view.set_driven(driven, &args.run.run);
        print(&view, args.format, tty)?;
        last_draw = Instant::now();
        if view.ended() || view.stopped() {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

fn print(view: &StatusView, format: TextOrJson, redraw: bool) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let text = match format {
        TextOrJson::Json => {
            let mut s = serde_json::to_string(view)
                .map_err(|e| Error::Internal(format!("failed to render the status: {e}")))?;
            s.push('\n');
            s
        }
        // Clear the screen and draw from the top, like `watch`.
        TextOrJson::Text if redraw => format!("\x1b[H\x1b[2J{}", view.to_text()),
        TextOrJson::Text => format!("{}\n", view.to_text()),
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("write", "stdout", e))
}

/// Reads what was appended to the journal since the last look.
struct Tail {
    offset: u64,
    /// An incomplete last line (a writer mid-append): completed next time.
    partial: Vec<u8>,
}

impl Tail {
    fn read(&mut self, path: &Path) -> Result<Vec<Record>, Error> {
        let mut file = crate::files::open_read(path)
            .map_err(|e| Error::from(crate::journal::JournalError::open("open", path, e)))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path.display(), e))?
            .len();
        if len <= self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io("seek", path.display(), e))?;
        let mut bytes = Vec::new();
        file.take(len - self.offset)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", path.display(), e))?;
        self.offset = len;
        self.partial.extend_from_slice(&bytes);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        Ok(String::from_utf8_lossy(&complete)
            .lines()
            .filter_map(|l| Record::from_line(l).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::event::Event;

    fn line(seq: u64) -> String {
        Record {
            seq,
            ts: "2026-01-01T00:00:00.000Z".into(),
            run_id: "r".into(),
            actor: "a@h".into(),
            on_behalf: None,
            event: Event::Note {
                text: format!("n{seq}"),
            },
        }
        .to_line()
    }

    #[test]
    fn tail_waits_for_a_line_to_be_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let first = format!("{}\n", line(1));
        let second = line(2);
        let (head, rest) = second.split_at(10);
        std::fs::write(&path, format!("{first}{head}")).unwrap();
        let mut tail = Tail {
            offset: 0,
            partial: Vec::new(),
        };
        let got = tail.read(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert!(tail.read(&path).unwrap().is_empty(), "nothing new");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{rest}").unwrap();
        let got = tail.read(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, 2);
    }
}
