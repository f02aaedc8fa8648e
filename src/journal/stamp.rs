//! Who and when: the actor (`user@host`) and the clock stamped on every record.
//!
//! `CUTOVER_NOW` (RFC 3339, or a date `YYYY-MM-DD` for midnight UTC) pins the
//! clock's start for deterministic tests and demos: journal times, `status`
//! durations, checklist expiry. Time still advances from there with the
//! monotonic clock. `CUTOVER_FAKE_NOW` is its older name, still read.
//!
//! The monotonic clock is tokio's, so that in an in-process test on a
//! paused tokio clock journal times advance with the engine's timers (an
//! approval timeout journaled exactly its `timeout` later); outside such a
//! test, and outside a runtime, it is the system's monotonic clock.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The variable that pins the clock, and its older name.
pub const NOW_VAR: &str = "CUTOVER_NOW";
const OLD_NOW_VAR: &str = "CUTOVER_FAKE_NOW";

/// The pinned start from `CUTOVER_NOW` (or `CUTOVER_FAKE_NOW`): `None` when
/// neither is set, an error naming the variable when it is not a time.
pub fn pinned_now() -> Result<Option<SystemTime>, String> {
    for var in [NOW_VAR, OLD_NOW_VAR] {
        if let Ok(text) = std::env::var(var) {
            return parse_now(&text)
                .map(Some)
                .map_err(|e| format!("{var}: {e}"));
        }
    }
    Ok(None)
}

/// `2026-12-01` (midnight UTC) or an RFC 3339 time.
fn parse_now(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let full = if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    humantime::parse_rfc3339_weak(full.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(&full))
        .map_err(|_| {
            format!("`{text}` is not a time: write `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC)")
        })
}

#[derive(Debug, Clone)]
pub struct Clock {
    start_wall: SystemTime,
    start: Instant,
}

impl Clock {
    /// The real clock, or the one `CUTOVER_NOW` pins (a malformed value is
    /// ignored here; commands that care check it with [`pinned_now`]).
    pub fn from_env() -> Self {
        let start_wall = pinned_now().ok().flatten().unwrap_or_else(SystemTime::now);
        Clock {
            start_wall,
            start: Instant::now(),
        }
    }

    /// A clock that reads `start` now (tests: a pinned start without the
    /// environment variable).
    pub fn starting_at(start: SystemTime) -> Self {
        Clock {
            start_wall: start,
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> SystemTime {
        self.start_wall + self.start.elapsed()
    }

    /// RFC 3339 UTC with milliseconds.
    pub fn rfc3339(&self) -> String {
        humantime::format_rfc3339_millis(self.now()).to_string()
    }

    /// `yyyymmddThhmmssmmmZ` (with milliseconds), for default run ids.
    pub fn compact(&self) -> String {
        let s = humantime::format_rfc3339_millis(self.now()).to_string();
        s.replace(['-', ':', '.'], "")
    }

    pub fn elapsed_since(&self, earlier: SystemTime) -> Duration {
        self.now().duration_since(earlier).unwrap_or_default()
    }
}

/// The identity stamped on records this process writes.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub actor: String,
    pub on_behalf: Option<String>,
    pub clock: Clock,
}

impl Stamp {
    pub fn new(on_behalf: Option<String>) -> Self {
        Stamp {
            actor: local_actor(),
            on_behalf: on_behalf.filter(|s| !s.is_empty()),
            clock: Clock::from_env(),
        }
    }
}

/// `user@host` of this process.
pub fn local_actor() -> String {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| format!("uid{}", nix::unistd::getuid()));
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_has_milliseconds_and_is_filesystem_safe() {
        let clock = super::Clock {
            start_wall: humantime::parse_rfc3339("2026-11-25T22:15:29.123Z").unwrap(),
            start: tokio::time::Instant::now(),
        };
        let c = clock.compact();
        assert!(c.starts_with("20261125T221529"), "{c}");
        assert_eq!(c.len(), "20261125T221529123Z".len(), "{c}");
        assert!(c.ends_with('Z'));
        assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric()), "{c}");
    }
}
