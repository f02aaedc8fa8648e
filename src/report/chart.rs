//! Inline SVG for the HTML report: the Gantt chart of steps (planned vs
//! actual, rollback steps distinct) and a small time-series chart per gate
//! and trigger with its threshold line. No script, no external reference:
//! the SVG is styled by the page's inline CSS classes, so it prints.

use std::fmt::Write as _;

use super::escape::html as esc;
use super::model::{CheckKind, CheckReport, Point, Report, RollbackStepReport, StepReport};
use super::view::PARTIAL;
use crate::condition::{Adjust, Condition, Operand, Predicate};
use crate::text::{duration, number};

/// At most `max` points, keeping each bucket's lowest and highest value (so
/// spikes survive) and every breach-coloured verdict's first occurrence order.
pub fn downsample(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max < 4 {
        return points.to_vec();
    }
    let buckets = max / 2;
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(max);
    for chunk in points.chunks(size) {
        let key = |p: &&Point| p.value.filter(|v| v.is_finite());
        let lo = chunk
            .iter()
            .filter(|p| key(p).is_some())
            .min_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
        let hi = chunk
            .iter()
            .filter(|p| key(p).is_some())
            .max_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)));
        match (lo, hi) {
            (Some(l), Some(h)) if l.ms <= h.ms && l != h => out.extend([*l, *h]),
            (Some(l), Some(h)) if l != h => out.extend([*h, *l]),
            (Some(l), _) => out.push(*l),
            // No number in the bucket (errors, no data): keep one to show the gap.
            _ => out.push(chunk[0]),
        }
    }
    out
}

/// The numbers a condition compares against (one, or two for `between`).
pub fn thresholds(condition: &str, baseline: Option<f64>) -> Vec<f64> {
    let Ok(c) = Condition::parse(condition) else {
        return Vec::new();
    };
    let resolve = |o: Operand| match o {
        Operand::Number(n) => Some(n),
        Operand::Baseline(adjust) => {
            let b = baseline?;
            Some(match adjust {
                None => b,
                Some(Adjust::AddPercent(p)) => b + b.abs() * p / 100.0,
                Some(Adjust::SubPercent(p)) => b - b.abs() * p / 100.0,
                Some(Adjust::Add(n)) => b + n,
                Some(Adjust::Sub(n)) => b - n,
                Some(Adjust::Mul(n)) => b * n,
            })
        }
    };
    let v = match c.predicate {
        Predicate::Compare { rhs, .. } => vec![resolve(rhs)],
        Predicate::Between { low, high } => vec![resolve(low), resolve(high)],
    };
    v.into_iter().flatten().filter(|x| x.is_finite()).collect()
}

const GANTT_W: f64 = 960.0;
const LABEL_W: f64 = 190.0;
const ROW_H: f64 = 22.0;

/// One row per step that started (`rect.bar.step`), one per rollback step
/// (`rect.bar.rollback`; pale and dashed, `rect.bar.rollback.partial`, for a step rolled
/// back although it did not finish); the planned timeout is an outline behind the bar.
pub fn gantt(r: &Report) -> String {
    let Some(start) = r.started else {
        return "<p>No step started.</p>".into();
    };
    let scale = Scale {
        start: start.ms,
        span: gantt_span(r, start.ms),
    };
    let mut rows = String::new();
    let mut y = 24.0;
    for s in r.steps.values() {
        let planned = planned_bar(r, &s.id);
        let Some(started) = s.started else {
            // Never started (skipped, not reached): its planned bar alone.
            if let Some(p) = planned {
                label(&mut rows, &s.id, y);
                planned_rect(&mut rows, &scale, p, y);
                y += ROW_H;
            }
            continue;
        };
        step_row(&mut rows, &scale, s, started.ms, planned, y);
        y += ROW_H;
    }
    if let Some(rb) = &r.rollback {
        for id in &rb.steps {
            // Skipped before its action ever ran (`--skip-rollback`): no bar.
            let Some(x_rb) = r
                .steps
                .get(id)
                .and_then(|s| s.rollback.as_ref())
                .filter(|x| x.attempts > 0)
            else {
                continue;
            };
            rollback_row(&mut rows, &scale, id, x_rb, y);
            y += ROW_H;
        }
    }
    let h = y + 10.0;
    let mut svg = format!(
        r#"<svg class="gantt" viewBox="0 0 {GANTT_W} {h:.0}" width="{GANTT_W}" height="{h:.0}" role="img" aria-label="Gantt chart of the steps">"#
    );
    // Axis: start, middle, end.
    for frac in [0.0, 0.5, 1.0] {
        let ms = (scale.span * frac) as u64;
        let px = LABEL_W + frac * (GANTT_W - LABEL_W - 10.0);
        let anchor = if frac >= 1.0 { "end" } else { "start" };
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{px:.1}" y1="16" x2="{px:.1}" y2="{h:.0}"/><text class="tick" x="{px:.1}" y="12" text-anchor="{anchor}">+{}</text>"#,
            duration::precise(ms)
        );
    }
    pause_bands(&mut svg, r, &scale, h);
    svg.push_str(&rows);
    svg.push_str("</svg>");
    svg
}

/// The time the Gantt chart's axis covers, in ms. Planned timeouts may reach
/// past the end; the axis covers them, up to twice the run's length so a
/// generous timeout does not squash the bars (a clipped outline ends open,
/// and its tooltip gives the full figure).
fn gantt_span(r: &Report, start: i64) -> f64 {
    let end = r.ended.map_or(start + 1, |e| e.ms.max(start + 1));
    let actual = (end - start) as f64;
    if let Some(total) = r.schedule.as_ref().and_then(|s| s.planned_total_ms) {
        // A run with a plan: one axis for the planned and the actual bars,
        // scaled to the run (the scheduled start may come after `started`).
        let began = r
            .schedule
            .as_ref()
            .and_then(|s| s.began)
            .map_or(start, |b| b.ms);
        return actual.max((began - start) as f64 + total as f64).max(1.0);
    }
    let mut span = actual;
    for s in r.steps.values() {
        if let (Some(a), Some(t)) = (s.started, s.planned_timeout_ms) {
            span = span.max((a.ms - start) as f64 + t as f64);
        }
    }
    span.min(actual * 2.0)
}

/// Times on the Gantt chart as pixels: the run's start at the edge of the
/// label column, `span` ms across the rest.
struct Scale {
    start: i64,
    span: f64,
}

impl Scale {
    const MAX_X: f64 = GANTT_W - 10.0;

    /// Where an instant is drawn.
    fn x(&self, ms: i64) -> f64 {
        LABEL_W + ((ms - self.start) as f64 / self.span) * (GANTT_W - LABEL_W - 10.0)
    }

    /// How wide a duration is drawn (2 px at least, so it shows).
    fn w(&self, ms: u64) -> f64 {
        ((ms as f64 / self.span) * (GANTT_W - LABEL_W - 10.0)).max(2.0)
    }
}

/// The times no process drove the run, as shaded bands across the chart.
fn pause_bands(svg: &mut String, r: &Report, scale: &Scale, h: f64) {
    let Some(s) = &r.schedule else { return };
    for p in &s.pauses {
        let left = scale.x(p.from.ms).clamp(LABEL_W, Scale::MAX_X);
        let right = scale.x(p.to.ms).clamp(LABEL_W, Scale::MAX_X);
        let _ = write!(
            svg,
            r#"<rect class="pause" x="{left:.1}" y="16" width="{:.1}" height="{:.0}"><title>paused {}</title></rect>"#,
            (right - left).max(2.0),
            h - 16.0,
            duration::precise(p.to.since(p.from))
        );
    }
}

/// A step's planned bar on the schedule: from (epoch ms), how long, and
/// where the duration comes from; `None` without a planned duration.
#[derive(Clone, Copy)]
struct Planned {
    from: i64,
    ms: u64,
    source: &'static str,
}

fn planned_bar(r: &Report, id: &str) -> Option<Planned> {
    let s = r.schedule.as_ref()?;
    let step = s.steps.iter().find(|p| p.step == id)?;
    let ms = step.planned_ms?;
    let from = s.began?.ms + i64::try_from(step.planned_offset_ms?).ok()?;
    Some(Planned {
        from,
        ms,
        source: step.planned_source.label(),
    })
}

fn label(rows: &mut String, id: &str, y: f64) {
    let _ = write!(
        rows,
        r#"<text class="label" x="4" y="{:.1}">{}</text>"#,
        y + 15.0,
        esc(id)
    );
}

/// The planned bar: a dashed outline where the plan put the step.
fn planned_rect(rows: &mut String, scale: &Scale, p: Planned, y: f64) {
    let left = scale.x(p.from).min(Scale::MAX_X - 2.0);
    let width = scale.w(p.ms).min(Scale::MAX_X - left);
    let _ = write!(
        rows,
        r#"<rect class="planned" x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"><title>planned {} ({})</title></rect>"#,
        y + 2.0,
        ROW_H - 4.0,
        duration::precise(p.ms),
        p.source
    );
}

/// A step's row: its label, its planned bar (else its planned timeout's
/// outline), the wait for its go/no-go, its bar.
fn step_row(
    rows: &mut String,
    scale: &Scale,
    s: &StepReport,
    started: i64,
    planned: Option<Planned>,
    y: f64,
) {
    label(rows, &s.id, y);
    if let Some(wait) = s.waited_for_approval_ms.filter(|w| *w > 0) {
        let from = started - i64::try_from(wait).unwrap_or(0);
        let _ = write!(
            rows,
            r#"<rect class="bar wait" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: waited {} for its go/no-go</title></rect>"#,
            scale.x(from),
            y + 7.0,
            scale.w(wait),
            ROW_H - 14.0,
            esc(&s.id),
            duration::precise(wait)
        );
    }
    if let Some(p) = planned {
        planned_rect(rows, scale, p, y);
    } else if let Some(t) = s.planned_timeout_ms {
        let left = scale.x(started);
        let width = scale.w(t).min(Scale::MAX_X - left);
        let clipped = if left + scale.w(t) > Scale::MAX_X {
            " clipped"
        } else {
            ""
        };
        let _ = write!(
            rows,
            r#"<rect class="planned{clipped}" x="{left:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"><title>planned timeout {}</title></rect>"#,
            y + 2.0,
            ROW_H - 4.0,
            duration::precise(t)
        );
    }
    let dur = s.duration_ms.unwrap_or(0);
    let state = s.state.replace([' ', '(', ')'], "-");
    let cp = if s.on_critical_path { " critical" } else { "" };
    let _ = write!(
        rows,
        r#"<rect class="bar step {}{cp}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {} ({})</title></rect>"#,
        esc(&state),
        scale.x(started),
        y + 5.0,
        scale.w(dur),
        ROW_H - 10.0,
        esc(&s.id),
        esc(&s.state),
        duration::precise(dur)
    );
}

/// A rolled-back step's row: `↩ id` and the rollback's bar (red if it
/// failed; pale and dashed for a step that did not finish).
fn rollback_row(rows: &mut String, scale: &Scale, id: &str, x_rb: &RollbackStepReport, y: f64) {
    let dur = x_rb
        .duration_ms
        .unwrap_or_else(|| x_rb.ended.map_or(0, |e| e.since(x_rb.started)));
    let failed = if x_rb.ok == Some(false) {
        " failed"
    } else {
        ""
    };
    // A step rolled back although it did not finish (`rollback_partial`):
    // a pale, dashed bar.
    let (partial, note) = if x_rb.partial {
        (" partial", format!(" {PARTIAL}"))
    } else {
        ("", String::new())
    };
    let _ = write!(
        rows,
        r#"<text class="label rollback" x="4" y="{:.1}">↩ {}</text>"#,
        y + 15.0,
        esc(id)
    );
    let _ = write!(
        rows,
        r#"<rect class="bar rollback{partial}{failed}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>rollback of {}{note} ({})</title></rect>"#,
        scale.x(x_rb.started.ms),
        y + 5.0,
        scale.w(dur),
        ROW_H - 10.0,
        esc(id),
        duration::precise(dur)
    );
}

const CW: f64 = 460.0;
const CH: f64 = 140.0;
const PAD: f64 = 36.0;

/// A small chart of one check's values with its threshold line(s); breaching
/// points in the alarm colour, the fire time as a vertical line.
pub fn series(c: &CheckReport) -> String {
    let pts = downsample(&c.points, 240);
    let vals: Vec<f64> = pts
        .iter()
        .filter_map(|p| p.value)
        .filter(|v| v.is_finite())
        .collect();
    if vals.is_empty() {
        return r#"<p class="muted">No numeric measurements.</p>"#.into();
    }
    let th = thresholds(&c.condition, c.baseline);
    let mut lo = vals
        .iter()
        .chain(&th)
        .copied()
        .fold(f64::INFINITY, f64::min);
    let mut hi = vals
        .iter()
        .chain(&th)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if (hi - lo).abs() < f64::EPSILON {
        lo -= 1.0;
        hi += 1.0;
    }
    let margin = (hi - lo) * 0.08;
    lo -= margin;
    hi += margin;
    let t0 = pts.first().map_or(0, |p| p.ms);
    let t1 = pts.last().map_or(1, |p| p.ms).max(t0 + 1);
    let t1 = c.fired.as_ref().map_or(t1, |f| f.at.ms.max(t1));
    let px = |ms: i64| PAD + ((ms - t0) as f64 / (t1 - t0) as f64) * (CW - PAD - 8.0);
    let py = |v: f64| 8.0 + (1.0 - (v - lo) / (hi - lo)) * (CH - 28.0);
    let mut svg = format!(
        r#"<svg class="series" viewBox="0 0 {CW} {CH}" width="{CW}" height="{CH}" role="img" aria-label="measurements of {}">"#,
        esc(&c.key)
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{PAD}" y1="8" x2="{PAD}" y2="{:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text class="tick" x="{PAD}" y="{:.1}">+0</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">+{}</text>"#,
        CH - 20.0,
        PAD - 3.0,
        py(hi) + 8.0,
        esc(&number::short(hi)),
        PAD - 3.0,
        py(lo),
        esc(&number::short(lo)),
        CH - 6.0,
        CW - 8.0,
        CH - 6.0,
        duration::precise(u64::try_from(t1 - t0).unwrap_or(0))
    );
    for t in &th {
        let _ = write!(
            svg,
            r#"<line class="threshold" x1="{PAD}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"><title>threshold {}</title></line><text class="tick threshold-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            CW - 8.0,
            esc(&number::short(*t)),
            CW - 8.0,
            py(*t) - 3.0,
            esc(&format!(
                "{} {}",
                if c.kind == CheckKind::Trigger {
                    "fire if"
                } else {
                    "pass if"
                },
                c.condition
            )),
            y = py(*t)
        );
    }
    let mut path = String::new();
    for p in &pts {
        if let Some(v) = p.value.filter(|v| v.is_finite()) {
            let cmd = if path.is_empty() { 'M' } else { 'L' };
            let _ = write!(path, "{cmd}{:.1},{:.1} ", px(p.ms), py(v));
        }
    }
    let _ = write!(svg, r#"<path class="line" d="{}"/>"#, path.trim_end());
    for p in &pts {
        if let Some(v) = p.value.filter(|v| v.is_finite()) {
            let class = if p.breach(c.kind) { "pt breach" } else { "pt" };
            let _ = write!(
                svg,
                r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="2.2"/>"#,
                px(p.ms),
                py(v)
            );
        }
    }
    if let Some(f) = &c.fired {
        let x = px(f.at.ms);
        let _ = write!(
            svg,
            r#"<line class="fired" x1="{x:.1}" y1="8" x2="{x:.1}" y2="{:.1}"><title>fired</title></line>"#,
            CH - 20.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Verdict;

    #[test]
    fn thresholds_from_conditions() {
        assert_eq!(thresholds("> 0.02", None), vec![0.02]);
        assert_eq!(thresholds("between 0.1 and 0.3", None), vec![0.1, 0.3]);
        assert_eq!(thresholds("<= baseline + 10%", Some(200.0)), vec![220.0]);
        assert!(thresholds("<= baseline + 10%", None).is_empty());
        assert!(thresholds("nonsense", None).is_empty());
    }

    #[test]
    fn downsampling_keeps_spikes_and_bounds_size() {
        let mut pts: Vec<Point> = (0..10_000)
            .map(|i| Point {
                ms: i,
                value: Some(1.0),
                verdict: Verdict::Pass,
            })
            .collect();
        pts[5_555].value = Some(99.0);
        let d = downsample(&pts, 100);
        assert!(d.len() <= 100, "{}", d.len());
        assert!(d.iter().any(|p| p.value == Some(99.0)));
        assert!(d.windows(2).all(|w| w[0].ms <= w[1].ms));
    }
}
