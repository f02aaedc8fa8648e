//! `[schedule]` and `[env.NAME.schedule]`: times with their offsets, a
//! window that ends after it starts, freeze periods (inline, or from freeze
//! files read relative to the runbook) with a reason each; and a step's
//! `expected` against its `timeout`.

use std::path::Path;
use std::time::Duration;

use super::validator::Validator;
use crate::runbook::model::{FreezePeriod, Schedule, Window};
use crate::runbook::raw::{RawFreeze, RawFreezePeriod, RawSchedule, RawStep};
use crate::runbook::spanned::Sp;
use crate::schedule::{TimeError, format_utc, parse_rfc3339};

const TIME_HELP: &str = "write RFC 3339 with its offset, e.g. \"2026-12-12T22:00:00Z\" (UTC) or \"2026-12-12T23:00:00+01:00\"";

impl Validator<'_> {
    /// A time of the schedule, as epoch milliseconds.
    fn schedule_time(&mut self, value: &Sp<String>, what: &str) -> Option<i64> {
        match parse_rfc3339(value.get()) {
            Ok(ms) => Some(ms),
            Err(TimeError::NoOffset) => {
                self.error(
                    format!("{what} `{}` has no UTC offset", value.get()),
                    value.span(),
                )
                .with_label("add `Z` (UTC) or an offset such as `+01:00`")
                .help = Some(
                    "a time without an offset means a different moment on every machine".into(),
                );
                None
            }
            Err(TimeError::Invalid) => {
                self.error(
                    format!("{what} `{}` is not a time", value.get()),
                    value.span(),
                )
                .with_label("expected an RFC 3339 time")
                .help = Some(TIME_HELP.into());
                None
            }
        }
    }

    /// `[schedule]` (or an env's): checked, its times in UTC, freeze files read.
    pub(super) fn schedule(&mut self, raw: &RawSchedule) -> Schedule {
        let start = raw
            .start
            .as_ref()
            .and_then(|s| self.schedule_time(s, "planned start").map(|ms| (ms, s)));
        let window = raw.window.as_ref().and_then(|w| {
            let opens = self.schedule_time(&w.start, "window start");
            let closes = self.schedule_time(&w.end, "window end");
            let (opens, closes) = (opens?, closes?);
            if closes <= opens {
                self.error("the change window ends before it starts", w.end.span())
                    .with_label(format!("`end` is not after `start` ({})", w.start.get()));
                return None;
            }
            Some((opens, closes))
        });
        let mut freeze = Vec::new();
        for entry in &raw.freeze {
            match entry.get() {
                RawFreeze::Period(p) => freeze.extend(self.freeze_period(p, None)),
                RawFreeze::File(path) => freeze.extend(self.freeze_file(path, entry)),
            }
        }
        if let (Some((at, span)), Some((opens, closes))) = (&start, window)
            && (*at < opens || *at >= closes)
        {
            self.warning(
                "the planned start is outside the change window",
                span.span(),
            )
            .help = Some("a run that starts then is refused unless `--override-window`".into());
        }
        Schedule {
            start: start.map(|(ms, _)| format_utc(ms)),
            window: window.map(|(s, e)| Window {
                start: format_utc(s),
                end: format_utc(e),
            }),
            freeze,
        }
    }

    /// A freeze period: two times, the end after the start, and a reason.
    pub(crate) fn freeze_period(
        &mut self,
        p: &RawFreezePeriod,
        file: Option<&str>,
    ) -> Option<FreezePeriod> {
        let start = self.schedule_time(&p.start, "freeze start");
        let end = self.schedule_time(&p.end, "freeze end");
        if p.reason.trim().is_empty() {
            self.error("a freeze period needs a `reason`", p.reason.span())
                .help =
                Some("say why nothing may change then; it is shown when a run is refused".into());
        }
        let (start, end) = (start?, end?);
        if end <= start {
            self.error("the freeze period ends before it starts", p.end.span())
                .with_label(format!("`end` is not after `start` ({})", p.start.get()));
            return None;
        }
        Some(FreezePeriod {
            start: format_utc(start),
            end: format_utc(end),
            reason: p.reason.get().clone(),
            file: file.map(str::to_string),
        })
    }

    /// The periods of the freeze file `path` (relative to the runbook).
    fn freeze_file(&mut self, path: &str, entry: &Sp<RawFreeze>) -> Vec<FreezePeriod> {
        let base = self.file.path.parent().unwrap_or_else(|| Path::new(""));
        let full = base.join(path);
        if !full.is_file() {
            self.error(format!("freeze file `{path}` does not exist"), entry.span())
                .with_label(format!("looked for {}", full.display()))
                .help = Some("freeze files are named relative to the runbook's directory".into());
            return Vec::new();
        }
        let loaded = crate::runbook::freeze::load(&full, Some(path));
        if let Some(periods) = loaded.periods {
            return periods;
        }
        let first = loaded.diagnostics.iter().find(|d| d.is_error());
        let at = first
            .and_then(|d| d.span.as_ref())
            .map(|s| {
                let (line, col) = loaded.file.line_col(s.start);
                format!(" (at {}:{line}:{col})", full.display())
            })
            .unwrap_or_default();
        self.error(
            format!(
                "freeze file `{path}` is invalid: {}{at}",
                first.map_or("it does not read", |d| d.message.as_str())
            ),
            entry.span(),
        )
        .help = Some(format!(
            "`cutover validate {}` shows every error",
            full.display()
        ));
        Vec::new()
    }

    /// A step's `expected`: a duration, with a warning when it is longer
    /// than the step's `timeout` (the step would be killed first).
    pub(super) fn expected(&mut self, s: &RawStep, timeout: Option<Duration>) -> Option<Duration> {
        let expected = self.duration(s.expected.as_ref(), false)?;
        if let (Some(t), Some(raw)) = (timeout, &s.expected)
            && expected > t
        {
            self.warning(
                format!(
                    "step `{}` is expected to take {} but times out after {}",
                    s.id.get(),
                    humantime::format_duration(expected),
                    humantime::format_duration(t)
                ),
                raw.span(),
            )
            .help =
                Some("raise `timeout`, or lower `expected` to what the step really takes".into());
        }
        Some(expected)
    }
}
