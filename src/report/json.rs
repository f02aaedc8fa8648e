//! The report as JSON for dashboards: the model as is, inside a versioned
//! envelope (`docs/report-format.md` documents the shape), plus each check's
//! measurements downsampled for plotting.

use indexmap::IndexMap;
use serde::Serialize;

use super::chart::downsample;
use super::model::Report;

/// Bumped when a field is renamed or removed; new fields do not bump it.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// Points per check in `series` at most.
const SERIES_POINTS: usize = 200;

/// `[time, value, verdict]`: compact for long series.
type SeriesPoint = (super::time::Ts, Option<f64>, crate::event::Verdict);

#[derive(Serialize)]
struct Envelope<'a> {
    report_format: &'static str,
    format_version: u32,
    #[serde(flatten)]
    report: &'a Report,
    /// Check key → `[time, value, verdict]`.
    series: IndexMap<&'a str, Vec<SeriesPoint>>,
}

pub fn render(r: &Report) -> String {
    let series = r
        .checks
        .values()
        .map(|c| {
            let pts = downsample(&c.points, SERIES_POINTS)
                .into_iter()
                .map(|p| {
                    (
                        super::time::Ts { ms: p.ms },
                        p.value.filter(|v| v.is_finite()),
                        p.verdict,
                    )
                })
                .collect();
            (c.key.as_str(), pts)
        })
        .collect();
    let env = Envelope {
        report_format: "cutover-report",
        format_version: REPORT_FORMAT_VERSION,
        report: r,
        series,
    };
    // NaN/Inf never reach here as numbers (min/max/last keep finite values; serde_json writes
    // any other non-finite f64 as null), so serialization cannot fail on the data.
    serde_json::to_string_pretty(&env).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
