//! Timestamps in the report are the journal's [`Ts`]; durations are
//! written by `text::duration::precise`.

pub use crate::journal::Ts;
