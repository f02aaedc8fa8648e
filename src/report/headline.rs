//! The report's headline: the block a TPM pastes into an executive update,
//! first in Markdown and HTML: outcome, start vs planned start, duration vs
//! plan, within the change window or not, time to detect and mitigate,
//! deviations, readiness, an override or skipped steps. Plain lines; the
//! renderers escape them. Times in UTC, or `report --tz ZONE`.

use std::fmt::Write as _;

use super::Report;
use super::schedule::{ScheduleReport, signed};
use super::time::Ts;
use crate::describe::schedule::slip;
use crate::text::duration::short;

/// The headline as `(label, text)` lines, outcome first; empty for a
/// journal without a start.
pub fn headline(r: &Report) -> Vec<(&'static str, String)> {
    let Some(started) = r.started else {
        return Vec::new();
    };
    let none = ScheduleReport::default();
    let s = r.schedule.as_ref().unwrap_or(&none);
    let time = |t: Ts| human_time(r.tz.as_ref(), t);
    let mode = if r.dry_run {
        " (dry run)"
    } else if s.rehearsal {
        " (dress rehearsal)"
    } else {
        ""
    };
    let mut out = vec![("Outcome", format!("{}{mode}", r.outcome_label))];
    let began = s.began.unwrap_or(started);
    let vs = match (s.planned_start, s.start_slip_ms) {
        (Some(p), Some(d)) => format!(" vs planned {} ({})", time(p), slip_late(d)),
        _ => String::new(),
    };
    out.push(("Start", format!("{}{vs}", time(began))));
    let actual = s
        .actual_ms
        .or(if r.in_progress { None } else { r.duration_ms });
    match (actual, s.planned_total_ms) {
        (Some(a), Some(p)) => out.push((
            "Duration",
            format!(
                "{} vs {} planned ({})",
                short(a),
                short(p),
                slip(signed(a, p))
            ),
        )),
        (Some(a), None) => out.push(("Duration", short(a))),
        (None, Some(p)) => out.push(("Duration", format!("{} planned; not ended", short(p)))),
        (None, None) => {}
    }
    if let Some(w) = s.window_end {
        out.push((
            "Window",
            match s.within_window {
                Some(true) => format!("within its window (ends {})", time(w)),
                Some(false) => format!("PAST its window's end ({})", time(w)),
                None => format!("ends {}", time(w)),
            },
        ));
    }
    out.extend(incident(r));
    out.push(("Deviations", deviations(r)));
    if let Some(line) = readiness(r) {
        out.push(("Readiness", line));
    }
    if let Some(o) = &s.window_override {
        out.push((
            "Override",
            format!("started outside its window by {}: {}", o.by, o.reason),
        ));
    }
    for k in &s.skipped {
        out.push((
            "Skipped",
            format!("{} by {}: {}", k.steps.join(", "), k.by, k.reason),
        ));
    }
    out
}

/// Time to detect and to mitigate, when there was an impact.
fn incident(r: &Report) -> Option<(&'static str, String)> {
    let i = &r.impact;
    let mut parts = Vec::new();
    if let Some(d) = i.ttd_ms {
        parts.push(format!("detected after {}", short(d)));
    }
    if let Some(m) = i.ttm_ms {
        parts.push(format!("mitigated after {}", short(m)));
    }
    (!parts.is_empty()).then(|| ("Impact", parts.join(", ")))
}

/// `none`, or `3 (paused, resumed, window-override)`: how many, of which kinds.
fn deviations(r: &Report) -> String {
    if r.deviations.is_empty() {
        return "none".into();
    }
    let mut kinds: Vec<&str> = Vec::new();
    for d in &r.deviations {
        if !kinds.contains(&d.kind.as_str()) {
            kinds.push(&d.kind);
        }
    }
    format!("{} ({})", r.deviations.len(), kinds.join(", "))
}

/// `2 of 2 checklists ready`, with overrides named; `None` without any.
fn readiness(r: &Report) -> Option<String> {
    if r.readiness.is_empty() {
        return None;
    }
    let ready = r.readiness.iter().filter(|x| x.ready).count();
    let mut line = format!("{ready} of {} checklists ready", r.readiness.len());
    let overridden: Vec<&str> = r
        .readiness
        .iter()
        .filter(|x| x.overridden)
        .map(|x| x.checklist.as_str())
        .collect();
    if !overridden.is_empty() {
        let _ = write!(line, "; overridden: {}", overridden.join(", "));
    }
    Some(line)
}

/// A time for people: UTC (`2026-12-12T22:00:00Z`), or in `--tz` zone with
/// its abbreviation (`2026-12-12T23:00:00+01:00 CET`).
fn human_time(zone: Option<&crate::schedule::Zone>, t: Ts) -> String {
    match zone.filter(|z| !z.is_utc()) {
        None => crate::describe::schedule::time(t),
        Some(z) => {
            let (offset, abbr) = z.offset_at(t.ms);
            format!(
                "{} {abbr}",
                crate::schedule::format_at(t.ms, offset, t.ms % 1000 != 0)
            )
        }
    }
}

/// `on time` / `4m00s late` / `1m00s early`, for a start.
fn slip_late(ms: i64) -> String {
    if ms.unsigned_abs() < 1000 {
        "on time".into()
    } else if ms > 0 {
        format!("{} late", short(ms.unsigned_abs()))
    } else {
        format!("{} early", short(ms.unsigned_abs()))
    }
}

/// The headline in Markdown: a list, pasteable as is.
pub fn markdown(o: &mut String, r: &Report) {
    let lines = headline(r);
    if lines.is_empty() {
        return;
    }
    o.push_str("## Headline\n\n");
    for (label, text) in lines {
        let _ = writeln!(o, "- **{label}:** {}", crate::text::markdown::line(&text));
    }
    o.push('\n');
}

/// The headline in HTML.
pub fn html(o: &mut String, r: &Report) {
    use super::escape::html as esc;
    let lines = headline(r);
    if lines.is_empty() {
        return;
    }
    o.push_str("<section><h2 id=\"headline\">Headline</h2><ul class=\"headline\">");
    for (label, text) in lines {
        let _ = write!(o, "<li><b>{}:</b> {}</li>", esc(label), esc(&text));
    }
    o.push_str("</ul></section>");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_start_is_late_early_or_on_time() {
        assert_eq!(super::slip_late(240_000), "4m00s late");
        assert_eq!(super::slip_late(-60_000), "1m00s early");
        assert_eq!(super::slip_late(400), "on time");
    }
}
