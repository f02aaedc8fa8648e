//! `cutover status RUN [--follow [--exit-on-stop]] [--format text|json]`:
//! the run as a live view rebuilt from its journal only
//! (`status::StatusView`). `--follow` tails the journal every [`POLL`] and
//! shows every change until the run completes or is rolled back: through
//! pauses, go/no-go waits, manual steps, Ctrl-C menus and resumes by
//! another process. A run no process drives shows as stopped (or paused)
//! and is watched for a resume, unless `--exit-on-stop`. On a terminal it
//! redraws in place, fitted to the pane; otherwise one view per change
//! (JSON: one object per line).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::cli::{StatusArgs, TextOrJson};
use crate::error::Error;
use crate::journal::{RunState, Tail, is_driven, locate, read_journal};
use crate::status::StatusView;

/// How often `--follow` looks at the journal: a step change shows within it.
const POLL: Duration = Duration::from_millis(200);
/// On a terminal, redraw this often even without news (running durations).
const TICK: Duration = Duration::from_secs(1);

pub fn exec(args: &StatusArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    // Probe the driving lock before reading: a driver that ends after the
    // probe has journaled its end by the time the journal is read.
    let mut driven = is_driven(&path);
    let read = read_journal(&path)?;
    let clock = crate::journal::Clock::from_env();
    let run_ref = crate::journal::run_ref(&path, &read.header.run_id);
    let mut state = RunState::replay(&read.records);
    let view = |state: &RunState, driven: bool| {
        let now = clock.now();
        let mut view = StatusView::from_state(state, Some(now));
        view.attend(state, &run_ref, driven, Some(now));
        view
    };
    let tty = args.follow && std::io::stdout().is_terminal() && args.format == TextOrJson::Text;
    let mut screen = Screen::new(tty);
    let first = view(&state, driven);
    screen.show(&first, args.format)?;
    if !args.follow || done_following(&first, args.exit_on_stop) {
        return Ok(ExitCode::SUCCESS);
    }
    let mut tail = Tail::from(read.valid_len);
    let mut last_draw = Instant::now();
    loop {
        std::thread::sleep(POLL);
        let now_driven = is_driven(&path);
        let new = tail.read(&path)?;
        for record in &new {
            state.apply(record);
        }
        // A change: a record, a driver gone or come (a crash, a resume).
        let changed = !new.is_empty() || now_driven != driven;
        driven = now_driven;
        let tick = tty && (last_draw.elapsed() >= TICK || screen.resized());
        if !changed && !tick {
            continue;
        }
        let v = view(&state, driven);
        screen.show(&v, args.format)?;
        last_draw = Instant::now();
        if done_following(&v, args.exit_on_stop) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// `--follow` ends when the run completed or was rolled back; with
/// `--exit-on-stop` also when no process drives it.
fn done_following(view: &StatusView, exit_on_stop: bool) -> bool {
    view.finished_for_good() || (exit_on_stop && view.driven == Some(false))
}

/// Where the view goes: stdout as it is, or (following on a terminal)
/// redrawn in place at the top of the pane, fitted to its size.
struct Screen {
    redraw: bool,
    size: Option<(usize, usize)>,
}

impl Screen {
    fn new(redraw: bool) -> Self {
        Screen {
            redraw,
            size: redraw.then(crate::ui::term::stdout_size).flatten(),
        }
    }

    /// The pane changed size since the last draw.
    fn resized(&self) -> bool {
        self.redraw && crate::ui::term::stdout_size() != self.size
    }

    fn show(&mut self, view: &StatusView, format: TextOrJson) -> Result<(), Error> {
        let text = match format {
            TextOrJson::Json => {
                let mut s = serde_json::to_string(view)
                    .map_err(|e| Error::Internal(format!("failed to render the status: {e}")))?;
                s.push('\n');
                s
            }
            TextOrJson::Text if self.redraw => {
                self.size = crate::ui::term::stdout_size();
                let (cols, rows) = self.size.unwrap_or((80, 24));
                // Home, each line over the old one (cleared to its end),
                // then clear what is below: no flicker, nothing left behind.
                // One row is left free so the cursor's line never scrolls.
                let mut s = String::from("\x1b[H");
                for line in view.fit(rows.saturating_sub(1), cols.saturating_sub(1)) {
                    s.push_str(&crate::ui::paint_status_line(&line));
                    s.push_str("\x1b[K\n");
                }
                s.push_str("\x1b[J");
                s
            }
            TextOrJson::Text => format!("{}\n", view.to_text()),
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("write", "stdout", e))
    }
}
