//! What the operator sees, and how they answer. The engine talks only to
//! [`EventSink`] and `Operator` (its own interfaces, implemented here:
//! the reporters and the [`Terminal`]). On a terminal the live view
//! (`live`: log lines above a panel pinned at the bottom); elsewhere plain
//! timestamped lines (`reporter`). `term` is the terminal as a drawing
//! surface, `paint` colour with meaning.

mod live;
pub mod paint;
mod reporter;
pub mod term;
mod terminal;

pub use live::{LiveReporter, LiveSetup};
pub use paint::paint_status_line;
pub use reporter::PlainReporter;
pub use terminal::Terminal;

/// The interface the terminal views implement; the engine owns it.
pub use crate::engine::EventSink;

use std::io::IsTerminal;

/// The live view on a terminal; plain timestamped lines otherwise, in CI
/// (`CI` set) or with `--no-progress`.
pub fn reporter(no_progress: bool, setup: LiveSetup) -> Box<dyn EventSink> {
    if !no_progress && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        Box::new(LiveReporter::new(setup))
    } else {
        Box::new(PlainReporter::new(std::io::stderr()))
    }
}
