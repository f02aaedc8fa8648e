//! Text as cutover shows it to people, in one place: text from outside made
//! safe to show (`visible`), durations, measured numbers, error chains and
//! Markdown escaping, and whether to colour a stream. Every view formats these through here, so the same
//! fact reads the same everywhere.

pub mod color;
pub mod duration;
mod errors;
pub mod markdown;
pub mod number;
mod visible;

pub use errors::{error_causes, error_chain};
pub use visible::{escape_char, one_line, shown_width, visible};
