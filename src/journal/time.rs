//! `Ts`: a journal timestamp as milliseconds since the Unix epoch, so the
//! fold and the views can subtract times; it prints and serializes as RFC
//! 3339 again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts {
    pub ms: i64,
}

impl Ts {
    /// RFC 3339 (the journal's `ts`, a measurement's `at`, a mark's `--at`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Ts> {
        let t = humantime::parse_rfc3339_weak(text).ok()?;
        let ms = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).ok()?,
            Err(e) => -i64::try_from(e.duration().as_millis()).ok()?,
        };
        Some(Ts { ms })
    }

    /// A wall-clock time, to the millisecond.
    pub fn from_system(t: SystemTime) -> Ts {
        let ms = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Ts { ms }
    }

    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub fn since(self, earlier: Ts) -> u64 {
        u64::try_from(self.ms - earlier.ms).unwrap_or(0)
    }

    pub fn rfc3339(self) -> String {
        let Ok(ms) = u64::try_from(self.ms) else {
            return format!("{} ms", self.ms);
        };
        humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
            .to_string()
    }

    /// `HH:MM:SS.mmm` (UTC), for timelines within one night.
    pub fn clock(self) -> String {
        let s = self.rfc3339();
        s.get(11..23).map_or(s.clone(), str::to_string)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        let t = Ts::parse("2026-11-25T21:24:10.116Z").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-25T21:24:10.116Z");
        assert_eq!(t.clock(), "21:24:10.116");
        let u = Ts::parse("2026-11-25T21:24:12Z").unwrap();
        assert_eq!(u.since(t), 1884);
        assert_eq!(t.since(u), 0);
        assert!(Ts::parse("yesterday").is_none());
    }
}
