//! Ctrl-C pauses, never kills. The first SIGINT stops launching steps and
//! lets the running ones finish (or time out); then a terminal gets the
//! continue / rollback / abort menu, and a run without one pauses (exit 4)
//! with resume instructions. A second SIGINT within [`DOUBLE_PRESS`] aborts:
//! in-flight groups get SIGTERM, grace, SIGKILL (a third kills at once).
//! SIGTERM (and SIGHUP) from a supervisor abort at once, journaled.

use std::time::Duration;

use tokio::time::Instant;

use super::operator::Prompt;
use super::process::KillLevel;
use super::scheduler::{After, Effect, Mode, Scheduler};
use crate::event::{Choice, Event, PauseReason, RollbackReason};

/// Two Ctrl-C this close together mean "stop now".
pub(crate) const DOUBLE_PRESS: Duration = Duration::from_secs(3);

/// What an interrupt asks for, given what came before. Pure, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reaction {
    /// Stop launching steps, then offer the menu (or pause).
    Pause,
    /// Stop the in-flight steps: SIGTERM, grace, SIGKILL.
    Abort,
    /// Already aborting: SIGKILL now.
    KillNow,
}

pub(crate) fn react(signal: &str, since_last: Option<Duration>, aborting: bool) -> Reaction {
    let quick = since_last.is_some_and(|d| d < DOUBLE_PRESS);
    match signal {
        "SIGINT" if aborting && quick => Reaction::KillNow,
        "SIGINT" if quick => Reaction::Abort,
        "SIGINT" if aborting => Reaction::Abort,
        "SIGINT" => Reaction::Pause,
        _ if aborting => Reaction::KillNow,
        _ => Reaction::Abort,
    }
}

impl Scheduler {
    pub(super) fn on_interrupt(&mut self, signal: &'static str) {
        let now = Instant::now();
        let since_last = self.interrupts.last.map(|t| now.duration_since(t));
        self.interrupts.last = Some(now);
        self.interrupts.count += 1;
        self.emit(Event::Interrupted {
            signal: signal.into(),
        });
        if matches!(self.mode, Mode::RollingBack(_)) {
            if self.interrupts.count == 1 {
                self.say("rolling back: the rollback goes on; interrupt again to kill it (the run then ends as rollback failed)");
            } else {
                self.effects.push(Effect::Kill(KillLevel::Now));
            }
            return;
        }
        let aborting = matches!(self.mode, Mode::Drain(After::Abort));
        match react(signal, since_last, aborting) {
            Reaction::Pause => {
                self.say(
                    "pausing: no new step starts; running steps finish (or time out), then you choose; press Ctrl-C again within 3s to abort them",
                );
                let hint = format!("interrupted; {}", self.ways_on());
                self.request(After::Pause {
                    reason: PauseReason::Interrupted,
                    step: None,
                    hint,
                });
                if self.interrupts.menu_open {
                    self.show_prompt();
                }
            }
            Reaction::Abort => {
                self.say("aborting: in-flight steps get SIGTERM, then SIGKILL after their grace period; interrupt again to kill them now");
                self.close_menu();
                self.request(After::Abort);
            }
            Reaction::KillNow => self.effects.push(Effect::Kill(KillLevel::Now)),
        }
    }

    /// Nothing runs any more after a Ctrl-C: ask the person at the terminal.
    pub(super) fn open_menu(&mut self) {
        if self.interrupts.menu_open {
            return;
        }
        self.interrupts.menu_open = true;
        self.decision_pending(None, "interrupt", &["continue", "rollback", "abort"]);
        self.prompting.queue.push_front(Prompt::Interrupt);
        self.prompting.due = true;
    }

    fn close_menu(&mut self) {
        self.interrupts.menu_open = false;
        self.prompting.queue.retain(|p| *p != Prompt::Interrupt);
    }

    /// The answer to the menu; `false` if it was not one of the choices.
    pub(super) fn menu_choice(&mut self, word: &str) -> bool {
        let choice = match word {
            "c" | "continue" => Choice::Continue,
            "r" | "rollback" => Choice::Rollback,
            "a" | "abort" => Choice::Abort,
            _ => return false,
        };
        self.emit(Event::Decision {
            step: None,
            choice,
            context: "interrupt".into(),
            reason: None,
        });
        self.close_menu();
        match choice {
            Choice::Rollback => {
                // The Ctrl-C that opened the menu must not count against the
                // rollback: only an interrupt during it may kill it.
                self.interrupts.count = 0;
                self.mode = Mode::Drain(After::Rollback(RollbackReason::Operator));
            }
            Choice::Abort => self.mode = Mode::Drain(After::Abort),
            _ => {
                self.mode = Mode::Run;
                self.say("continuing");
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_ctrl_c_pauses_a_quick_second_aborts() {
        assert_eq!(react("SIGINT", None, false), Reaction::Pause);
        assert_eq!(
            react("SIGINT", Some(Duration::from_secs(10)), false),
            Reaction::Pause
        );
        assert_eq!(
            react("SIGINT", Some(Duration::from_millis(500)), false),
            Reaction::Abort
        );
        assert_eq!(
            react("SIGINT", Some(Duration::from_millis(500)), true),
            Reaction::KillNow
        );
    }

    #[test]
    fn sigterm_aborts_at_once() {
        assert_eq!(react("SIGTERM", None, false), Reaction::Abort);
        assert_eq!(react("SIGHUP", None, false), Reaction::Abort);
        assert_eq!(react("SIGTERM", None, true), Reaction::KillNow);
    }
}
