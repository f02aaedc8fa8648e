//! Durations as people read them. Two voices, both asserted by tests and
//! seen by users: `short` for the terminal's narrow columns (`status`,
//! `runs`, the live voice) and `precise` for the report, which has room for
//! milliseconds and hours; `in_words` for ages counted in whole units
//! (`5 days ago` in readiness).

use std::time::Duration;

/// `1234` ms → `1.2s`, `95000` → `1m35s`: the terminal's columns.
pub fn short(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", Duration::from_millis(ms).as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `120 ms`, `2.35s`, `2m 05s`, `1h 02m 03s`: the report's durations.
pub fn precise(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let secs = ms as f64 / 1000.0;
    if secs < 60.0 {
        return format!("{secs:.2}s");
    }
    let total = ms / 1000;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// The largest whole unit as people say it: `3 days`, `1 day`, `5 hours`,
/// `12 minutes`.
pub fn in_words(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs >= 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 3_600 {
        (secs / 3_600, "hour")
    } else {
        (secs / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fits_a_column() {
        assert_eq!(short(1234), "1.2s");
        assert_eq!(short(1500), "1.5s");
        assert_eq!(short(95_000), "1m35s");
        assert_eq!(short(1_800_000), "30m00s");
    }

    #[test]
    fn precise_has_milliseconds_and_hours() {
        assert_eq!(precise(120), "120 ms");
        assert_eq!(precise(2345), "2.35s");
        assert_eq!(precise(125_000), "2m 05s");
        assert_eq!(precise(3_723_000), "1h 02m 03s");
    }

    #[test]
    fn in_words_counts_whole_units() {
        assert_eq!(in_words(Duration::from_hours(5 * 24 + 1)), "5 days");
        assert_eq!(in_words(Duration::from_hours(24)), "1 day");
        assert_eq!(in_words(Duration::from_hours(2)), "2 hours");
        assert_eq!(in_words(Duration::from_mins(1)), "1 minute");
        assert_eq!(in_words(Duration::from_secs(59)), "0 minutes");
    }
}
