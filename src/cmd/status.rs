//! `cutover status RUN [--follow] [--format text|json]`: the run as a live
//! view rebuilt from its journal only (`status::StatusView`). `--follow`
//! tails the journal every [`POLL`] and redraws on every change until the
//! run ends, or until no process drives it any more (a crashed or killed
//! run shows as `stopped`); JSON follows as one view per line.

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
    let mut tail = Tail::from(read.valid_len);
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
