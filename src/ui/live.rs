//! The driver's live view on a terminal, an `EventSink`: log lines (the
//! live voice, timestamped, coloured with meaning) scroll above a panel
//! pinned at the bottom (`status::panel`: steps running or waiting, gates,
//! triggers, approvals and manual steps with their commands, the run's
//! progress). The panel is redrawn in place: moved up over exactly the rows
//! it took at the terminal's width now (a terminal that reflows lines on a
//! resize included), cleared to the end of the screen, drawn again. Every
//! panel line is cut to the width less one column, so it never wraps when
//! drawn. At the end, a summary block: outcome, duration, journal, report.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::paint::paint_words;
use super::term;
use crate::engine::EventSink;
use crate::event::Record;
use crate::journal::{Clock, RunState, Ts};
use crate::text::color::{Tone, tint};

/// How often the panel looks at the clock and the terminal's size.
const TICK: Duration = Duration::from_millis(250);
/// Redraw for the clock this often (running durations).
const CLOCK: Duration = Duration::from_secs(1);
/// After log lines, wait this long before drawing the panel again, so a
/// step printing fast costs one panel per burst, not one per line.
const SETTLE: Duration = Duration::from_millis(60);
/// A terminal that does not say its size.
const DEFAULT_SIZE: (usize, usize) = (80, 24);

/// The lines the operator typed and entered under the panel since it was
/// last taken off (their widths): the terminal echoed them there, below
/// the panel, so the next clear takes them off with it. The terminal's
/// reader (`Terminal`) notes each line it reads.
static TYPED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The operator entered `line` at the terminal (echoed under the panel).
pub(crate) fn typed(line: &str) {
    if let Ok(mut typed) = TYPED.lock() {
        typed.push(term::width(line.trim_end_matches(['\n', '\r'])));
    }
}

fn take_typed() -> Vec<usize> {
    TYPED
        .lock()
        .map(|mut t| std::mem::take(&mut *t))
        .unwrap_or_default()
}

fn typed_pending() -> bool {
    TYPED.lock().is_ok_and(|t| !t.is_empty())
}

/// What the live view needs to know besides the records.
pub struct LiveSetup {
    /// How to name the run in commands (run id or journal path).
    pub run_ref: String,
    /// Where the journal is (a file, or the shared journal's URL without
    /// its password), for the summary at the end.
    pub journal: String,
}

pub struct LiveReporter {
    screen: Arc<Mutex<Screen>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

struct Screen {
    state: RunState,
    setup: LiveSetup,
    clock: Clock,
    color: bool,
    /// Columns and rows when the panel was last drawn.
    size: (usize, usize),
    /// Columns of each panel line on screen (empty: not on screen).
    drawn: Vec<usize>,
    /// Records came since the panel was last drawn.
    dirty: bool,
    last_draw: Instant,
    last_log: Instant,
}

impl LiveReporter {
    pub fn new(setup: LiveSetup) -> Self {
        let screen = Arc::new(Mutex::new(Screen {
            state: RunState::default(),
            setup,
            clock: Clock::from_env(),
            color: crate::text::color::stderr(),
            size: term::stderr_size().unwrap_or(DEFAULT_SIZE),
            drawn: Vec::new(),
            dirty: false,
            last_draw: Instant::now(),
            last_log: Instant::now(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (screen, stop) = (screen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(TICK);
                    if let Ok(mut s) = screen.lock() {
                        s.tick();
                    }
                }
            })
        };
        LiveReporter {
            screen,
            stop,
            ticker: Some(ticker),
        }
    }

    fn with(&self, f: impl FnOnce(&mut Screen)) {
        if let Ok(mut s) = self.screen.lock() {
            f(&mut s);
        }
    }
}

impl EventSink for LiveReporter {
    fn begin(&mut self, state: &RunState) {
        self.with(|s| {
            s.state = state.clone();
            s.redraw();
        });
    }

    fn record(&mut self, record: &Record) {
        self.with(|s| {
            s.state.apply(record);
            s.dirty = true;
            if quiet_here(record) {
                return;
            }
            if let Some(text) = crate::describe::live(record) {
                let time = record.ts.get(11..19).unwrap_or(&record.ts);
                let line = format!(
                    "{} {}",
                    tint(time, Tone::Quiet, s.color),
                    paint_words(&text, s.color)
                );
                s.log(&line);
            }
        });
    }

    fn notice(&mut self, text: &str) {
        self.with(|s| {
            let text = crate::text::visible(text).into_owned();
            s.log(&paint_words(&text, s.color));
            // A prompt or a hint: the panel under it at once.
            s.redraw();
        });
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.with(|s| {
            s.clear();
            s.summary();
        });
    }
}

impl Drop for LiveReporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Screen {
    fn now(&self) -> Ts {
        Ts::from_system(self.clock.now())
    }

    fn write(text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// Take the panel off the screen: up over the rows it takes at the
    /// width now (a narrower terminal reflowed its lines into more), then
    /// clear to the end of the screen.
    fn clear(&mut self) {
        let typed = take_typed();
        if self.drawn.is_empty() {
            return;
        }
        let cols = term::stderr_size().unwrap_or(self.size).0.max(1);
        let rows: usize = self
            .drawn
            .iter()
            .chain(&typed)
            .map(|w| w.div_ceil(cols).max(1))
            .sum();
        self.drawn.clear();
        Self::write(&format!("\r\x1b[{rows}A\x1b[J"));
    }

    /// The panel's lines at `size`: half the screen at most (the log needs
    /// the rest).
    fn panel(&self, size: (usize, usize)) -> Vec<crate::status::PanelLine> {
        crate::status::panel(
            &self.state,
            self.now(),
            &self.setup.run_ref,
            (size.1 / 2).max(3),
        )
    }

    /// The panel, at the bottom, at the terminal's size now.
    fn draw(&mut self) {
        self.size = term::stderr_size().unwrap_or(DEFAULT_SIZE);
        let lines = self.panel(self.size);
        let mut text = String::new();
        self.drawn.clear();
        for line in &lines {
            text.push_str(&self.paint_line(line));
            text.push('\n');
        }
        Self::write(&text);
        self.last_draw = Instant::now();
        self.dirty = false;
    }

    /// A panel line as drawn (cut to the width less one column, so it
    /// never wraps), its columns noted for the next clear.
    fn paint_line(&mut self, line: &crate::status::PanelLine) -> String {
        let width = self.size.0.saturating_sub(1).max(10);
        self.drawn
            .push(term::width(&line.render(width, false)).max(1));
        line.render(width, self.color)
    }

    fn redraw(&mut self) {
        self.clear();
        self.draw();
    }

    /// The panel brought up to date. Over the old one, line by line, when
    /// it has as many lines at the same size: the cursor is saved and put
    /// back, so what the operator is typing under the panel stays where
    /// it is. Otherwise cleared and drawn again.
    fn refresh(&mut self) {
        let size = term::stderr_size().unwrap_or(DEFAULT_SIZE);
        let lines = self.panel(size);
        // A line typed under the panel moved the cursor: over it all again.
        if size != self.size
            || self.drawn.is_empty()
            || lines.len() != self.drawn.len()
            || typed_pending()
        {
            return self.redraw();
        }
        let mut text = format!("\x1b7\x1b[{}A\r", self.drawn.len());
        self.drawn.clear();
        for line in &lines {
            text.push_str(&self.paint_line(line));
            text.push_str("\x1b[K\n");
        }
        text.push_str("\x1b8");
        Self::write(&text);
        self.last_draw = Instant::now();
        self.dirty = false;
    }

    /// A log line above the panel; the panel comes back when the lines settle.
    fn log(&mut self, line: &str) {
        self.clear();
        Self::write(&format!("{line}\n"));
        self.last_log = Instant::now();
    }

    fn tick(&mut self) {
        let resized = term::stderr_size().is_some_and(|size| size != self.size);
        if resized {
            return self.redraw();
        }
        if self.drawn.is_empty() {
            if self.last_log.elapsed() >= SETTLE {
                self.draw();
            }
            return;
        }
        if self.dirty || self.last_draw.elapsed() >= CLOCK {
            self.refresh();
        }
    }

    /// The end: outcome, duration, journal, and the command for the report.
    fn summary(&mut self) {
        let Some(finished) = self.state.finished.clone() else {
            return;
        };
        let run = self.state.run_id.clone();
        let duration = self
            .state
            .started_at
            .as_ref()
            .zip(self.state.finished_at.as_ref())
            .map(|(s, e)| crate::text::duration::short(e.ts.since(s.ts)))
            .unwrap_or_default();
        let tone = match finished.outcome {
            crate::event::Outcome::Completed => Tone::Good,
            crate::event::Outcome::Paused | crate::event::Outcome::Aborted => Tone::Waiting,
            _ => Tone::Bad,
        };
        // Names and paths shown visibly, before any colour goes in.
        let r = crate::text::visible(&self.setup.run_ref).into_owned();
        let journal = crate::text::visible(&self.setup.journal).into_owned();
        let headline = crate::text::visible(&format!(
            "run `{run}` {} after {duration} (exit {})",
            finished.outcome.label().to_uppercase(),
            finished.exit_code
        ))
        .into_owned();
        let mut text = format!(
            "\n{} {}\n  journal  {journal}\n  report   cutover report {r} --output {run}-report.md\n",
            tint("──", Tone::Quiet, self.color),
            tint(&headline, tone, self.color),
            run = crate::text::visible(&run),
        );
        if !matches!(
            finished.outcome,
            crate::event::Outcome::Completed | crate::event::Outcome::RolledBack
        ) {
            let _ = writeln!(text, "  status   cutover status {r}");
        }
        Self::write(&text);
    }
}

/// A gate's passing measurement: its row in the panel says it (`3/6`,
/// the value); the log keeps the ones that do not pass.
fn quiet_here(record: &Record) -> bool {
    matches!(
        &record.event,
        crate::event::Event::GateMeasurement { measurement, .. }
            if measurement.verdict == crate::event::Verdict::Pass
    )
}
