//! The TTY progress view: steps done/total, the current step, the last gate value.
//! Every other line still prints above the bar, so nothing is hidden.

use indicatif::{ProgressBar, ProgressStyle};

use crate::describe::live as describe;
use crate::engine::EventSink;
use crate::event::{Event, Record};

pub struct ProgressReporter {
    bar: ProgressBar,
}

impl ProgressReporter {
    pub fn new(total_steps: usize) -> Self {
        let bar = ProgressBar::new(total_steps as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {pos}/{len} steps  {msg}{prefix}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        ProgressReporter { bar }
    }
}

impl EventSink for ProgressReporter {
    fn record(&mut self, record: &Record) {
        match &record.event {
            Event::StepState { step, state, .. } => {
                if state.is_complete() {
                    self.bar.inc(1);
                } else {
                    let step = crate::text::one_line(step);
                    self.bar.set_message(format!("{step}: {}", state.label()));
                }
            }
            Event::GateMeasurement {
                step,
                gate,
                measurement,
            } => {
                let (step, gate) = (crate::text::one_line(step), crate::text::one_line(gate));
                self.bar.set_message(format!(
                    "{step}.{gate}: {} ({})",
                    measurement
                        .value
                        .map_or_else(|| "no value".into(), crate::text::number::exact),
                    crate::event::words(&measurement.verdict)
                ));
            }
            _ => {}
        }
        if let Some(line) = describe(record) {
            let time = record.ts.get(11..19).unwrap_or(&record.ts);
            self.bar.println(format!("{time} {line}"));
        }
    }

    fn notice(&mut self, text: &str) {
        self.bar.println(crate::text::visible(text));
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }

    fn waiting(&mut self, at: crate::journal::Ts, left_ms: u64) {
        self.bar.set_message(format!(
            "scheduled: starts in {} (at {})",
            crate::text::duration::short(left_ms),
            crate::describe::schedule::time(at)
        ));
    }

    fn schedule(&mut self, eta: &crate::journal::Eta) {
        self.bar
            .set_prefix(format!("  | {}", crate::describe::schedule::eta(eta)));
    }
}
