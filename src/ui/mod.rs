//! What the operator sees, and how they answer. The engine talks only to
//! [`EventSink`] and `Operator` (its own interfaces, implemented here:
//! the reporters and the [`Terminal`]); `progress` is the one place that
//! uses indicatif.

pub mod paint;
mod progress;
mod reporter;
pub mod term;
mod terminal;

pub use paint::paint_status_line;
pub use progress::ProgressReporter;
pub use reporter::PlainReporter;
pub use terminal::Terminal;

/// The interface the terminal views implement; the engine owns it.
pub use crate::engine::EventSink;

use std::io::IsTerminal;

/// The progress view on a TTY, plain timestamped lines otherwise or with `--no-progress`.
pub fn reporter(no_progress: bool, total_steps: usize) -> Box<dyn EventSink> {
    if !no_progress && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        Box::new(ProgressReporter::new(total_steps))
    } else {
        Box::new(PlainReporter::new(std::io::stderr()))
    }
}
