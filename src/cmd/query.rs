//! `cutover query SOURCE QUERY --runbook F`: run one query against a named
//! source of a runbook, print the value(s), and judge them against an
//! optional `--condition`. Also the measurement printing shared with `gate`.
//!
//! QUERY is the source's language: PromQL, a Datadog metric query (or
//! `monitor:ID` for a monitor's state), a command line, or a URL for an http
//! source (its status is the value).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{QueryArgs, TextOrJson};
use crate::condition::Condition;
use crate::error::{Error, exit};
use crate::plan::Plan;
use crate::runbook::model::{Check, CommandRead, HttpRead, NoData, Probe, SourceKind};
use crate::signals::{Measurement, SourceSet, Verdict};
use crate::text::number;

/// Version of `query --format json`'s shape (the measurement's fields, as
/// journaled, with `format_version`) and of each line of `gate --format json`.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(serde::Serialize)]
struct Versioned<'a> {
    format_version: u32,
    #[serde(flatten)]
    measurement: &'a Measurement,
}

pub fn exec(args: &QueryArgs) -> Result<ExitCode, Error> {
    let plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    let Some(source) = plan.runbook.sources.get(&args.source) else {
        return Err(unknown_source(&args.source, plan.runbook.sources.keys()));
    };
    let condition = match &args.condition {
        Some(text) => Some(
            Condition::parse(text)
                .map_err(|e| Error::Usage(format!("invalid `--condition {text}`: {e}")))?,
        ),
        None => None,
    };
    let command = matches!(source.kind, SourceKind::Command { .. });
    let text = resolve_templates(&plan, &args.query, command)?;
    let probe = probe_for(&source.kind, &text)?;
    let monitor = matches!(probe, Probe::Monitor { .. });
    if monitor && let Some(c) = &args.condition {
        // A monitor answers with its state, judged by Datadog itself: a
        // condition would be silently ignored, so refuse it.
        return Err(Error::Usage(format!(
            "`--condition {c}` does not apply to `{}`: a monitor passes when its state is OK",
            args.query
        )));
    }
    let check = Check {
        source: args.source.clone(),
        probe,
        command_read: CommandRead::Stdout,
        condition_text: args.condition.clone().unwrap_or_default(),
        condition: condition.unwrap_or_else(crate::signals::any_value_condition),
        interval: Duration::from_secs(1),
        no_data: NoData::Inconclusive,
    };
    let sources = SourceSet::new(&plan.runbook.sources, plan.masker.clone(), &plan.secret_env);
    let mut m = super::runtime()?.block_on(sources.measure(&check, None));
    if monitor {
        // The monitor's state is the verdict: OK passes, Warn and Alert fail,
        // No Data is inconclusive; there is no condition to show.
        m.condition = None;
    } else if args.condition.is_none() {
        // Without a condition the question is only "did it answer with a value?".
        m.condition = None;
        let read = m.state.is_some() || m.samples.iter().any(|s| !s.value.is_nan());
        if m.verdict != Verdict::Error {
            m.verdict = if read {
                Verdict::Pass
            } else {
                Verdict::Inconclusive
            };
        }
    }
    match args.format {
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&Versioned {
                format_version: JSON_FORMAT_VERSION,
                measurement: &m,
            })
            .map_err(|e| Error::Internal(e.to_string()))?
        ),
        TextOrJson::Text => print!("{}", crate::text::visible(&render_measurement(&m))),
    }
    Ok(ExitCode::from(if m.verdict == Verdict::Pass {
        exit::PASS
    } else {
        exit::FAIL
    }))
}

/// Fill `{{ vars.* }}`, `{{ env.* }}` and `{{ secrets.* }}` in a query typed
/// on the command line, as the plan does for a gate's query: in a command
/// line every value is quoted for the shell and a secret becomes a
/// reference to its environment variable.
fn resolve_templates(plan: &Plan, text: &str, command: bool) -> Result<String, Error> {
    plan.fill_query(text, command, &|name| std::env::var(name).ok())
        .map_err(|e| Error::Usage(e.to_string()))
}

/// What QUERY means for a source of this kind.
fn probe_for(kind: &SourceKind, query: &str) -> Result<Probe, Error> {
    Ok(match kind {
        SourceKind::Datadog { .. } => match query.strip_prefix("monitor:") {
            Some(id) => Probe::Monitor {
                id: id.trim().parse().map_err(|_| {
                    Error::Usage(format!(
                        "`{query}`: a monitor id is a number, e.g. `monitor:123`"
                    ))
                })?,
            },
            None => Probe::Query {
                query: query.to_string(),
            },
        },
        SourceKind::Http { .. } => Probe::Http {
            url: query.to_string(),
            method: "GET".into(),
            read: HttpRead::Status,
        },
        SourceKind::Prometheus { .. } | SourceKind::Command { .. } => Probe::Query {
            query: query.to_string(),
        },
    })
}

pub(crate) fn unknown_source<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a String> + Clone,
) -> Error {
    let mut message = format!("unknown source `{name}`");
    if let Some(best) = crate::diag::suggest(name, known.clone().into_iter().map(String::as_str)) {
        let _ = write!(message, " (did you mean `{best}`?)");
    } else {
        let names = crate::diag::code_list(known);
        if names.is_empty() {
            message.push_str(": the runbook declares no `[sources.*]`");
        } else {
            let _ = write!(message, ", expected one of {names}");
        }
    }
    Error::Usage(message)
}

/// A measurement as people read it: the series, then one verdict line.
pub(crate) fn render_measurement(m: &Measurement) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}): {}", m.source, m.source_kind, m.query);
    for s in &m.samples {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let _ = writeln!(
            out,
            "  {{{}}} {}",
            labels.join(", "),
            number::exact(s.value)
        );
    }
    let _ = writeln!(out, "{}", verdict_line(m));
    out
}

/// `pass  value 0.25 < 0.3  (12 ms)` (or `fail  state Alert  (4 ms)` for a
/// monitor) plus the detail, if any.
pub(crate) fn verdict_line(m: &Measurement) -> String {
    let mut line = crate::event::words(&m.verdict);
    if let Some(state) = &m.state {
        let _ = write!(line, "  state {state}");
    }
    if let Some(v) = m.value {
        let _ = write!(line, "  value {}", number::exact(v));
    }
    if let Some(c) = m.condition.as_deref().filter(|c| !c.is_empty()) {
        let _ = write!(line, "  condition `{c}`");
    }
    if let Some(b) = m.baseline {
        let _ = write!(line, " (baseline {})", number::exact(b));
    }
    let _ = write!(line, "  ({:.0} ms)", m.latency_ms);
    if let Some(d) = &m.detail {
        // A detail may quote a response body: shown on this line, visibly.
        let _ = write!(line, ": {}", crate::text::one_line(d));
    }
    line
}
