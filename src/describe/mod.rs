//! The one place that turns what happened into words: the live voice of the
//! operator's terminal (`live`), the timeline voice of the report and
//! `status` (`timeline`, deviations, the approvals table), the notification
//! voice of webhooks (`notification`), and the phrases they share. The fold (`journal::RunState`) keeps facts; views pick a voice
//! and a layout, never their own wording of an event.

mod after;
mod live;
mod notify;
mod phrases;
pub mod schedule;
mod timeline;

pub use after::{Suggestion, due_words, suggestions};
pub use live::live;
pub use notify::{Notification, Severity, notification};
pub use phrases::{abandoned, orphan, rollback_steps, secs};
pub use timeline::{Line, approval_row, deviation, timeline};
