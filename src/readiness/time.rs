//! Dates in checklists (`YYYY-MM-DD` or RFC 3339 UTC), `--expires` values
//! (a duration like `7d` or a date), and ISO weeks for the readiness KPI.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parse `2026-12-01` (midnight UTC at the start of that day) or an RFC 3339
/// UTC time such as `2026-12-01T09:30:00Z`.
pub fn parse_instant(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let full = if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    humantime::parse_rfc3339_weak(full.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(&full))
        .map_err(|_| {
            format!("`{text}` is not a date: write `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC)")
        })
}

/// `--expires`: a duration from `now` (`7d`, `12h`) or a date.
pub fn parse_expiry(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Ok(d) = humantime::parse_duration(text.trim()) {
        return Ok(now + d);
    }
    parse_instant(text).map_err(|_| {
        let bare = text.trim();
        if !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit()) {
            format!("`{text}` has no unit: write e.g. `{bare}d` (days) or a date (`YYYY-MM-DD`)")
        } else {
            format!("`{text}` is neither a duration (`7d`, `12h`) nor a date (`YYYY-MM-DD`)")
        }
    })
}

/// RFC 3339 UTC, whole seconds.
pub fn format_instant(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A date as people read it: `2026-12-01` at midnight, else the full time.
pub fn format_human(t: SystemTime) -> String {
    let full = format_instant(t);
    match full.strip_suffix("T00:00:00Z") {
        Some(date) => date.to_string(),
        None => full,
    }
}

/// The ISO 8601 week of `t`, as `2026-W48`.
pub fn iso_week(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    // 1970-01-01 was a Thursday; Monday = 0.
    let weekday = (days + 3) % 7;
    // The ISO year is the year of this week's Thursday.
    let thursday = days + 3 - weekday;
    let thursday_time = UNIX_EPOCH + Duration::from_secs(thursday * 86_400);
    let year: u64 = format_instant(thursday_time)[..4].parse().unwrap_or(1970);
    let jan1 = parse_instant(&format!("{year:04}-01-01"))
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() / 86_400);
    let week = (thursday - jan1) / 7 + 1;
    format!("{year:04}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        parse_instant(s).expect("valid")
    }

    #[test]
    fn dates_and_times_parse() {
        assert_eq!(format_instant(at("2026-12-01")), "2026-12-01T00:00:00Z");
        assert_eq!(
            format_instant(at("2026-12-01T09:30:00Z")),
            "2026-12-01T09:30:00Z"
        );
        assert!(parse_instant("next tuesday").is_err());
        assert!(parse_instant("2026-13-01").is_err());
    }

    #[test]
    fn expiry_is_a_duration_or_a_date() {
        let now = at("2026-11-25T10:00:00Z");
        assert_eq!(
            format_instant(parse_expiry("7d", now).expect("ok")),
            "2026-12-02T10:00:00Z"
        );
        assert_eq!(
            format_human(parse_expiry("2026-12-24", now).expect("ok")),
            "2026-12-24"
        );
        assert!(parse_expiry("soon", now).is_err());
        assert!(parse_expiry("7", now).unwrap_err().contains("`7d`"));
    }

    #[test]
    fn iso_weeks_follow_the_thursday_rule() {
        assert_eq!(iso_week(at("2026-11-25")), "2026-W48");
        // 2021-01-03 is a Sunday in week 53 of 2020.
        assert_eq!(iso_week(at("2021-01-03")), "2020-W53");
        assert_eq!(iso_week(at("2021-01-04")), "2021-W01");
        // 2024-12-30 is a Monday in week 1 of 2025.
        assert_eq!(iso_week(at("2024-12-30")), "2025-W01");
    }
}
