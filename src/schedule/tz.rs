//! Time zones by IANA name (`Europe/Berlin`), for human times (`report
//! --tz`, `run --at 22:00` in local time): the system's compiled zone files
//! (TZif, RFC 8536, under `/usr/share/zoneinfo` or `$TZDIR`) read by a small
//! parser, with the POSIX rule at their end for times past the last listed
//! transition. No dependency: a zone is a table of offsets.

use super::time::{Civil, DAY_MS, days_from_civil, month_days};

/// A time zone: UTC, or a zone read from its TZif file.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    rules: Option<Tzif>,
}

/// Why a zone cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error(
        "unknown time zone `{0}`: give an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`"
    )]
    Unknown(String),
    #[error("time zone file `{path}` is not a compiled zone (TZif): {why}")]
    Unreadable { path: String, why: String },
}

/// One local time type of a zone: its offset east of UTC and abbreviation.
#[derive(Debug, Clone, PartialEq)]
struct LocalType {
    offset: i32,
    abbr: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Tzif {
    /// Transition times, seconds since the epoch, ascending.
    at: Vec<i64>,
    /// The local type that starts at each transition.
    kind: Vec<usize>,
    types: Vec<LocalType>,
    /// For times after the last transition.
    footer: Option<Posix>,
}

/// A POSIX `TZ` rule (`CET-1CEST,M3.5.0,M10.5.0/3`).
#[derive(Debug, Clone, PartialEq)]
struct Posix {
    std: LocalType,
    dst: Option<(LocalType, Rule, Rule)>,
}

/// When daylight time starts or ends in a year, at `secs` local time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { m: u32, w: u32, d: u32, secs: i64 },
    /// `Jn` (1..=365, February 29 never counted) or `n` (0..=365).
    Day {
        n: i64,
        leap_counted: bool,
        secs: i64,
    },
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            rules: None,
        }
    }

    /// The zone named `name` (`UTC`, `Europe/Berlin`), from the system's
    /// zone files.
    pub fn named(name: &str) -> Result<Zone, ZoneError> {
        let name = name.trim();
        if matches!(name, "UTC" | "utc" | "Z" | "Etc/UTC" | "GMT") {
            return Ok(Zone::utc());
        }
        let safe = !name.is_empty()
            && !name.starts_with('/')
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'))
            });
        if !safe {
            return Err(ZoneError::Unknown(name.to_string()));
        }
        let dir = std::env::var("TZDIR").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
        let path = std::path::Path::new(&dir).join(name);
        let bytes = std::fs::read(&path).map_err(|_| ZoneError::Unknown(name.to_string()))?;
        Zone::from_tzif(name, &bytes).map_err(|why| ZoneError::Unreadable {
            path: path.display().to_string(),
            why,
        })
    }

    /// The zone of this machine: `$TZ` (a zone name, `:` allowed first),
    /// else `/etc/localtime`, else UTC.
    pub fn local() -> Zone {
        if let Ok(tz) = std::env::var("TZ") {
            let tz = tz.trim_start_matches(':');
            if let Ok(zone) = Zone::named(tz) {
                return zone;
            }
        }
        std::fs::read("/etc/localtime")
            .ok()
            .and_then(|bytes| Zone::from_tzif("local", &bytes).ok())
            .unwrap_or_else(Zone::utc)
    }

    /// A zone from the bytes of a TZif file.
    pub fn from_tzif(name: &str, bytes: &[u8]) -> Result<Zone, String> {
        Ok(Zone {
            name: name.to_string(),
            rules: Some(parse_tzif(bytes)?),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_utc(&self) -> bool {
        self.rules.is_none()
    }

    /// The offset east of UTC (seconds) and its abbreviation at `utc_ms`.
    pub fn offset_at(&self, utc_ms: i64) -> (i32, String) {
        let Some(t) = &self.rules else {
            return (0, "UTC".into());
        };
        let secs = utc_ms.div_euclid(1000);
        let local = match t.at.partition_point(|&at| at <= secs) {
            0 => t.types.first(),
            n if n == t.at.len() => {
                if let Some(f) = &t.footer {
                    let lt = f.at(secs);
                    return (lt.offset, lt.abbr.clone());
                }
                t.types.get(t.kind[n - 1])
            }
            n => t.types.get(t.kind[n - 1]),
        };
        local.map_or_else(|| (0, "UTC".into()), |l| (l.offset, l.abbr.clone()))
    }

    /// The UTC time of a wall-clock time in this zone. In a gap (clocks
    /// jumped forward) it is the time the same number of minutes later; in
    /// an overlap, the earlier of the two.
    pub fn to_utc(&self, local: &Civil) -> i64 {
        let naive = local.as_utc_ms();
        let first = naive - i64::from(self.offset_at(naive).0) * 1000;
        let second = naive - i64::from(self.offset_at(first).0) * 1000;
        first.min(second)
    }
}

/// Read a TZif file: the 64-bit data of version 2+ when there is one, else
/// the 32-bit data of version 1, and the footer's POSIX rule.
fn parse_tzif(b: &[u8]) -> Result<Tzif, String> {
    let header = |at: usize| -> Result<[usize; 6], String> {
        if b.get(at..at + 4) != Some(b"TZif") {
            return Err("no `TZif` header".into());
        }
        let mut counts = [0usize; 6];
        for (i, c) in counts.iter_mut().enumerate() {
            let o = at + 20 + i * 4;
            let v = b.get(o..o + 4).ok_or("truncated header")?;
            *c = u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as usize;
        }
        Ok(counts)
    };
    let v1 = header(0)?;
    let version = b.get(4).copied().unwrap_or(0);
    // [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt]
    let size =
        |c: &[usize; 6], t: usize| c[3] * t + c[3] + c[4] * 6 + c[5] + c[2] * (t + 4) + c[1] + c[0];
    if version < b'2' {
        return read_block(b, 44, &v1, 4).map(|(t, _)| t);
    }
    let at = 44 + size(&v1, 4);
    let v2 = header(at)?;
    let (mut tzif, end) = read_block(b, at + 44, &v2, 8)?;
    let footer = b.get(end..).unwrap_or_default();
    let text = String::from_utf8_lossy(footer);
    let rule = text.trim_matches('\n');
    if !rule.is_empty() {
        tzif.footer = parse_posix(rule);
    }
    Ok(tzif)
}

/// One data block of `width`-byte times; the tables and where it ends.
fn read_block(
    b: &[u8],
    start: usize,
    c: &[usize; 6],
    width: usize,
) -> Result<(Tzif, usize), String> {
    let [isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt] = *c;
    let take = |from: usize, len: usize| b.get(from..from + len).ok_or("truncated data");
    let mut o = start;
    let mut at = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let v = take(o + i * width, width)?;
        at.push(if width == 8 {
            i64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
        } else {
            i64::from(i32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        });
    }
    o += timecnt * width;
    let kind: Vec<usize> = take(o, timecnt)?.iter().map(|&k| k as usize).collect();
    o += timecnt;
    let raw_types = take(o, typecnt * 6)?.to_vec();
    o += typecnt * 6;
    let chars = take(o, charcnt)?;
    o += charcnt + leapcnt * (width + 4) + isstdcnt + isutcnt;
    let types = raw_types
        .chunks(6)
        .map(|t| {
            let idx = t[5] as usize;
            let abbr = chars
                .get(idx..)
                .map(|s| s.split(|&c| c == 0).next().unwrap_or_default())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            LocalType {
                offset: i32::from_be_bytes([t[0], t[1], t[2], t[3]]),
                abbr,
            }
        })
        .collect::<Vec<_>>();
    if types.is_empty() || kind.iter().any(|&k| k >= types.len()) {
        return Err("a transition names no local time type".into());
    }
    Ok((
        Tzif {
            at,
            kind,
            types,
            footer: None,
        },
        o,
    ))
}

/// A POSIX TZ string; `None` if it does not read (the table alone is used).
fn parse_posix(s: &str) -> Option<Posix> {
    let mut p = Cursor { s, i: 0 };
    let std_abbr = p.abbr()?;
    let std_off = -p.offset()?;
    let std = LocalType {
        offset: std_off,
        abbr: std_abbr,
    };
    if p.done() {
        return Some(Posix { std, dst: None });
    }
    let dst_abbr = p.abbr()?;
    let dst_off = if p.peek().is_some_and(|c| c != ',') {
        -p.offset()?
    } else {
        std_off + 3600
    };
    p.eat(',')?;
    let start = p.rule()?;
    p.eat(',')?;
    let end = p.rule()?;
    let dst = LocalType {
        offset: dst_off,
        abbr: dst_abbr,
    };
    Some(Posix {
        std,
        dst: Some((dst, start, end)),
    })
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn eat(&mut self, c: char) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// `CET` or `<+03>`.
    fn abbr(&mut self) -> Option<String> {
        let rest = &self.s[self.i..];
        let (text, len) = if let Some(quoted) = rest.strip_prefix('<') {
            let end = quoted.find('>')?;
            (&quoted[..end], end + 2)
        } else {
            let end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            (&rest[..end], end)
        };
        self.i += len;
        (text.len() >= 3).then(|| text.to_string())
    }

    /// `[+-]hh[:mm[:ss]]` as seconds (west of UTC for an offset, as POSIX has it).
    fn offset(&mut self) -> Option<i32> {
        let sign = match self.peek() {
            Some('-') => {
                self.i += 1;
                -1
            }
            Some('+') => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        Some(sign * self.hms()? as i32)
    }

    fn number(&mut self) -> Option<i64> {
        let rest = &self.s[self.i..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        self.i += end;
        rest[..end].parse().ok()
    }

    fn hms(&mut self) -> Option<i64> {
        let h = self.number()?;
        let mut secs = h * 3600;
        if self.eat(':').is_some() {
            secs += self.number()? * 60;
            if self.eat(':').is_some() {
                secs += self.number()?;
            }
        }
        Some(secs)
    }

    /// `Mm.w.d[/time]`, `Jn[/time]` or `n[/time]`; the time may be negative
    /// or past 24 hours (RFC 8536 extension).
    fn rule(&mut self) -> Option<Rule> {
        let rule = if self.eat('M').is_some() {
            let m = self.number()? as u32;
            self.eat('.')?;
            let w = self.number()? as u32;
            self.eat('.')?;
            let d = self.number()? as u32;
            Rule::Month { m, w, d, secs: 0 }
        } else if self.eat('J').is_some() {
            Rule::Day {
                n: self.number()?,
                leap_counted: false,
                secs: 0,
            }
        } else {
            Rule::Day {
                n: self.number()?,
                leap_counted: true,
                secs: 0,
            }
        };
        let secs = if self.eat('/').is_some() {
            i64::from(self.offset()?)
        } else {
            7200
        };
        Some(match rule {
            Rule::Month { m, w, d, .. } => Rule::Month { m, w, d, secs },
            Rule::Day {
                n, leap_counted, ..
            } => Rule::Day {
                n,
                leap_counted,
                secs,
            },
        })
    }
}

impl Rule {
    /// Seconds since the epoch, local wall time read as UTC, in `year`.
    fn local_secs(self, year: i64) -> i64 {
        let (day, secs) = match self {
            Rule::Month { m, w, d, secs } => {
                let first = days_from_civil(year, m, 1);
                // 1970-01-01 was a Thursday (weekday 4).
                let first_wd = (first + 4).rem_euclid(7) as u32;
                let mut day = 1 + (d + 7 - first_wd) % 7 + (w.saturating_sub(1)) * 7;
                while day > month_days(year, m) {
                    day -= 7;
                }
                (first + i64::from(day) - 1, secs)
            }
            Rule::Day {
                n,
                leap_counted,
                secs,
            } => {
                let jan1 = days_from_civil(year, 1, 1);
                let leap = month_days(year, 2) == 29;
                // `Jn` never counts February 29: from March on a leap
                // year it is one day further than its number says.
                let offset = if leap_counted || (leap && n >= 60) {
                    n
                } else {
                    n - 1
                };
                (jan1 + offset, secs)
            }
        };
        day * (DAY_MS / 1000) + secs
    }
}

impl Posix {
    /// The local time type at `secs` since the epoch.
    fn at(&self, secs: i64) -> &LocalType {
        let Some((dst, start, end)) = &self.dst else {
            return &self.std;
        };
        let year = Civil::at(secs * 1000, self.std.offset).year;
        let begins = start.local_secs(year) - i64::from(self.std.offset);
        let ends = end.local_secs(year) - i64::from(dst.offset);
        let in_dst = if begins < ends {
            secs >= begins && secs < ends
        } else {
            // Southern hemisphere: daylight time spans the new year.
            secs >= begins || secs < ends
        };
        if in_dst { dst } else { &self.std }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::time::parse_rfc3339;

    fn ms(t: &str) -> i64 {
        parse_rfc3339(t).unwrap()
    }

    #[test]
    fn posix_rules_give_summer_and_winter_time() {
        let berlin = parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let at = |t: &str| berlin.at(ms(t) / 1000).abbr.clone();
        assert_eq!(at("2040-01-15T12:00Z"), "CET");
        assert_eq!(at("2040-07-15T12:00Z"), "CEST");
        // 2040-03-25 is the last Sunday of March: 01:00 UTC switches.
        assert_eq!(at("2040-03-25T00:59Z"), "CET");
        assert_eq!(at("2040-03-25T01:00Z"), "CEST");
        assert_eq!(at("2040-10-28T00:59Z"), "CEST");
        assert_eq!(at("2040-10-28T01:00Z"), "CET");
        let sydney = parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(sydney.at(ms("2040-01-15T00:00Z") / 1000).offset, 11 * 3600);
        assert_eq!(sydney.at(ms("2040-07-15T00:00Z") / 1000).offset, 10 * 3600);
        let fixed = parse_posix("<+03>-3").unwrap();
        assert_eq!(fixed.at(0).offset, 3 * 3600);
        assert_eq!(fixed.at(0).abbr, "+03");
    }

    /// A minimal version-2 TZif file: one transition, two types, a footer.
    fn tzif() -> Vec<u8> {
        let mut v1 = b"TZif2".to_vec();
        v1.extend([0; 15]);
        for n in [0u32, 0, 0, 0, 1, 4] {
            v1.extend(n.to_be_bytes());
        }
        v1.extend([0, 0, 0, 0, 0, 0]);
        v1.extend(b"UTC\0");
        let mut v2 = b"TZif2".to_vec();
        v2.extend([0; 15]);
        for n in [0u32, 0, 0, 1, 2, 8] {
            v2.extend(n.to_be_bytes());
        }
        v2.extend(1_000_000_000i64.to_be_bytes());
        v2.push(1);
        v2.extend([0, 0, 0, 0, 0, 0]);
        v2.extend(3600i32.to_be_bytes());
        v2.extend([0, 4]);
        v2.extend(b"LMT\0CET\0");
        let mut all = v1;
        all.extend(v2);
        all.extend(b"\nCET-1\n");
        all
    }

    #[test]
    fn tzif_tables_and_footer() {
        let zone = Zone::from_tzif("Test/Zone", &tzif()).unwrap();
        assert_eq!(zone.offset_at(0).0, 0);
        assert_eq!(zone.offset_at(999_999_999_000).1, "LMT");
        assert_eq!(zone.offset_at(1_000_000_000_000), (3600, "CET".into()));
        assert_eq!(zone.offset_at(4_000_000_000_000).0, 3600);
        assert!(Zone::from_tzif("x", b"nonsense").is_err());
        assert!(Zone::from_tzif("x", &tzif()[..60]).is_err());
    }

    #[test]
    fn names_and_the_system_zones() {
        assert!(Zone::named("UTC").unwrap().is_utc());
        for bad in [
            "../etc/passwd",
            "/etc/localtime",
            "Europe/../../x",
            "",
            "No/Such_Zone",
        ] {
            assert!(Zone::named(bad).is_err(), "{bad}");
        }
        // Where the system has its zone files, a real zone reads.
        if std::path::Path::new("/usr/share/zoneinfo/Europe/Berlin").is_file() {
            let berlin = Zone::named("Europe/Berlin").unwrap();
            assert_eq!(
                berlin.offset_at(ms("2026-12-12T22:00Z")),
                (3600, "CET".into())
            );
            assert_eq!(
                berlin.offset_at(ms("2026-07-01T12:00Z")),
                (7200, "CEST".into())
            );
            let local = Civil::at(ms("2026-12-12T23:00Z"), 0);
            assert_eq!(berlin.to_utc(&local), ms("2026-12-12T22:00Z"));
        }
    }
}
