//! Times as the schedule reads and writes them: RFC 3339 with its offset
//! (`2026-12-12T22:00:00Z`, `2026-12-12T23:00:00+01:00`), a wall-clock
//! `HH:MM`, and civil dates, as milliseconds since the Unix epoch. Plain
//! arithmetic (Howard Hinnant's civil-date algorithms), no dependency.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// A date and time of day, as a clock on some wall shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub ms: u32,
}

/// Why a text is not a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// A date and time without `Z` or `+HH:MM`: which zone it means is a guess.
    NoOffset,
    /// Not `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)` at all, or a field out of range.
    Invalid,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` of `year`.
pub fn month_days(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Civil {
    /// The civil time `ms` after the epoch, on a clock `offset_secs` east of UTC.
    pub fn at(ms: i64, offset_secs: i32) -> Civil {
        let local = ms + i64::from(offset_secs) * 1000;
        let days = local.div_euclid(DAY_MS);
        let in_day = local.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (in_day / 3_600_000) as u32,
            minute: ((in_day / 60_000) % 60) as u32,
            second: ((in_day / 1000) % 60) as u32,
            ms: (in_day % 1000) as u32,
        }
    }

    /// Milliseconds since the epoch of this civil time read as UTC.
    pub fn as_utc_ms(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * DAY_MS
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.ms)
    }
}

/// Parse an RFC 3339 time with its offset: `2026-12-12T22:00:00Z`,
/// `2026-12-12T23:00+01:00`, `2026-12-12 22:00:00.250z`. Seconds may be
/// left out; a time without an offset is refused ([`TimeError::NoOffset`]).
pub fn parse_rfc3339(text: &str) -> Result<i64, TimeError> {
    let t = text.trim();
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let s = t.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let bad = TimeError::Invalid;
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad);
    }
    let (year, month, day) = (num(0, 4).ok_or(bad.clone())?, num(5, 2), num(8, 2));
    let (hour, minute) = (num(11, 2), num(14, 2));
    let (Some(month), Some(day), Some(hour), Some(minute)) = (month, day, hour, minute) else {
        return Err(bad);
    };
    if b[13] != b':' {
        return Err(bad);
    }
    let mut i = 16;
    let mut second = 0;
    let mut ms = 0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1, 2).ok_or(bad.clone())?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad);
            }
            let frac = &t[i + 1..i + 1 + digits.min(3)];
            ms = format!("{frac:0<3}").parse().map_err(|_| bad.clone())?;
            i += 1 + digits;
        }
    }
    let offset_secs = match &t[i..] {
        "Z" | "z" => 0,
        "" => return Err(TimeError::NoOffset),
        rest => offset(rest).ok_or(bad.clone())?,
    };
    let year = i64::from(year);
    if !(1..=12).contains(&month)
        || day == 0
        || day > month_days(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad);
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second: second.min(59),
        ms,
    };
    Ok(civil.as_utc_ms() - i64::from(offset_secs) * 1000)
}

/// `+01:00` / `-05:30` as seconds east of UTC.
fn offset(text: &str) -> Option<i32> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &text[1..];
    let (h, m) = rest
        .split_once(':')
        .unwrap_or((rest.get(..2)?, rest.get(2..)?));
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `2026-12-12T22:00:00Z`, with milliseconds only when there are some: how
/// the plan writes the times of a schedule.
pub fn format_utc(ms: i64) -> String {
    format_at(ms, 0, false)
}

/// RFC 3339 on a clock `offset_secs` east of UTC: `2026-12-12T23:00:00+01:00`
/// (`Z` for UTC); with `.mmm` when `millis` says so.
pub fn format_at(ms: i64, offset_secs: i32, millis: bool) -> String {
    let c = Civil::at(ms, offset_secs);
    let frac = if millis || c.ms != 0 {
        format!(".{:03}", c.ms)
    } else {
        String::new()
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        offset_text(offset_secs)
    )
}

/// `Z`, `+01:00`, `-05:30`.
pub fn offset_text(offset_secs: i32) -> String {
    if offset_secs == 0 {
        return "Z".into();
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a / 60) % 60)
}

/// A wall-clock time `HH:MM` or `HH:MM:SS`: (hour, minute, second).
pub fn parse_clock(text: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let second = n.get(2).copied().unwrap_or(0);
    (n[0] < 24 && n[1] < 60 && second < 60).then_some((n[0], n[1], second))
}

/// Why a start time (`run --at`) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtError {
    /// A date and time without its offset.
    NoOffset,
    /// Neither RFC 3339 nor `HH:MM`.
    NotATime,
    /// It is `ago_ms` in the past.
    Past { ago_ms: u64 },
}

/// When `text` says to start, seen at `now`: an RFC 3339 time with its
/// offset (not in the past), or a wall-clock `HH:MM[:SS]` in `zone`, the
/// next one to come (tomorrow's when today's has passed, as `at(1)` reads it).
pub fn start_at(text: &str, now: i64, zone: &super::Zone) -> Result<i64, AtError> {
    if let Some((h, m, s)) = parse_clock(text) {
        let (offset, _) = zone.offset_at(now);
        let today = Civil::at(now, offset);
        let mut day = days_from_civil(today.year, today.month, today.day);
        loop {
            let (year, month, d) = civil_from_days(day);
            let local = Civil {
                year,
                month,
                day: d,
                hour: h,
                minute: m,
                second: s,
                ms: 0,
            };
            let at = zone.to_utc(&local);
            if at > now {
                return Ok(at);
            }
            day += 1;
        }
    }
    match parse_rfc3339(text) {
        Ok(at) if at <= now => Err(AtError::Past {
            ago_ms: u64::try_from(now - at).unwrap_or(0),
        }),
        Ok(at) => Ok(at),
        Err(TimeError::NoOffset) => Err(AtError::NoOffset),
        Err(TimeError::Invalid) => Err(AtError::NotATime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_797_112_800_000; // 2026-12-12T22:00:00Z

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 365, 20_799, 20_800, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(month_days(2024, 2), 29);
        assert_eq!(month_days(2100, 2), 28);
        assert_eq!(month_days(2000, 2), 29);
    }

    #[test]
    fn rfc3339_with_offsets() {
        assert_eq!(parse_rfc3339("2026-12-12T22:00:00Z"), Ok(T));
        assert_eq!(parse_rfc3339("2026-12-12T22:00Z"), Ok(T));
        assert_eq!(parse_rfc3339("2026-12-12t22:00:00z"), Ok(T));
        assert_eq!(parse_rfc3339("2026-12-12 22:00:00.25Z"), Ok(T + 250));
        assert_eq!(parse_rfc3339("2026-12-12T22:00:00.123456Z"), Ok(T + 123));
        assert_eq!(parse_rfc3339("2026-12-12T23:00:00+01:00"), Ok(T));
        assert_eq!(parse_rfc3339("2026-12-12T16:30:00-05:30"), Ok(T));
        assert_eq!(
            parse_rfc3339("2026-12-12T22:00:00"),
            Err(TimeError::NoOffset)
        );
        for bad in [
            "",
            "tomorrow",
            "2026-13-01T00:00Z",
            "2026-02-30T00:00Z",
            "2026-12-12T24:00Z",
            "2026-12-12T22:00:00+1",
            "2026-12-12T22:00:00.Z",
            "2026-12-12T22-00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), Err(TimeError::Invalid), "{bad}");
        }
    }

    #[test]
    fn formats_in_utc_and_at_an_offset() {
        assert_eq!(format_utc(T), "2026-12-12T22:00:00Z");
        assert_eq!(format_utc(T + 5), "2026-12-12T22:00:00.005Z");
        assert_eq!(format_at(T, 3600, false), "2026-12-12T23:00:00+01:00");
        assert_eq!(format_at(T, -19_800, true), "2026-12-12T16:30:00.000-05:30");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn start_times_are_the_next_wall_clock_time_or_a_future_instant() {
        let utc = crate::schedule::Zone::utc();
        let now = T - 3_600_000; // 21:00
        assert_eq!(start_at("22:00", now, &utc), Ok(T));
        // 20:30 has passed today: tomorrow's.
        assert_eq!(start_at("20:30", now, &utc), Ok(T - 5_400_000 + DAY_MS));
        assert_eq!(
            start_at("21:00", now, &utc),
            Ok(now + DAY_MS),
            "now is not ahead"
        );
        assert_eq!(start_at("2026-12-12T22:00:00Z", now, &utc), Ok(T));
        assert_eq!(
            start_at("2026-12-12T20:00:00Z", now, &utc),
            Err(AtError::Past { ago_ms: 3_600_000 })
        );
        assert_eq!(
            start_at("2026-12-12T22:00", now, &utc),
            Err(AtError::NoOffset)
        );
        assert_eq!(start_at("soon", now, &utc), Err(AtError::NotATime));
        if let Ok(berlin) = crate::schedule::Zone::named("Europe/Berlin") {
            // 22:00 in Berlin (CET, +01:00) is 21:00 UTC.
            assert_eq!(start_at("22:00", now - 1, &berlin), Ok(T - 3_600_000));
        }
    }

    #[test]
    fn wall_clock_times() {
        assert_eq!(parse_clock("22:00"), Some((22, 0, 0)));
        assert_eq!(parse_clock("07:05:09"), Some((7, 5, 9)));
        for bad in ["24:00", "7:00", "22:60", "22", "22:00:00:00", "ab:cd"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
    }
}
