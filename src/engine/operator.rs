//! The person driving the run, as the engine sees them: whether someone here
//! can answer a prompt, and the lines they type. The engine only asks
//! (`Operator::ask`) and reads answers from its inbox; `ui` implements the
//! terminal (a stdin reader), tests a script ([`ScriptedOperator`]).

use tokio::sync::mpsc::UnboundedSender;

use super::step::Msg;

/// A question the run waits on at this terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Step `0` needs its go/no-go: `yes REASON` / `no REASON`.
    Approval(String),
    /// Manual step `0`: `done [NOTE]` once it is done.
    Manual(String),
    /// Step `0` failed (`on_failure = "ask"`): retry, skip, rollback, abort.
    Failure(String),
    /// Resume found step `0` in flight at a crash (not idempotent): rerun,
    /// skip, rollback, abort.
    InFlight(String),
    /// The continue / rollback / abort menu after Ctrl-C.
    Interrupt,
}

impl Prompt {
    /// The step the question is about (none for the Ctrl-C menu).
    pub fn step(&self) -> Option<&str> {
        match self {
            Prompt::Approval(s) | Prompt::Manual(s) | Prompt::Failure(s) | Prompt::InFlight(s) => {
                Some(s)
            }
            Prompt::Interrupt => None,
        }
    }
}

/// Where a person's answers go: the scheduler's inbox. Cloned freely (a
/// reader thread keeps one).
#[derive(Clone)]
pub struct Answers {
    tx: UnboundedSender<Msg>,
}

impl Answers {
    pub(crate) fn new(tx: UnboundedSender<Msg>) -> Self {
        Answers { tx }
    }

    /// A line the person typed (trimmed). `false` once the run is over and
    /// no longer listens: stop reading.
    pub fn line(&self, text: String) -> bool {
        self.tx.send(Msg::Answer(Some(text))).is_ok()
    }

    /// The person's input ended (end of file, a closed terminal): no one can
    /// answer any more, so what was asked pauses the run.
    pub fn closed(&self) {
        let _ = self.tx.send(Msg::Answer(None));
    }
}

/// How the engine reaches the person driving the run.
pub trait Operator: Send {
    /// Someone here can answer prompts (a terminal on stdin and stderr).
    /// Without one, what needs a person pauses the run with instructions.
    fn present(&self) -> bool;

    /// `prompt` is shown (its words went to the `EventSink`) and the run
    /// waits for an answer: pass what the person types to `answers`, now or
    /// later, until their input ends. Called each time a prompt is shown; a
    /// terminal starts reading at the first and keeps reading.
    fn ask(&mut self, prompt: &Prompt, answers: &Answers);
}

/// No one here: every question pauses the run (a `--no-tty` CI job).
pub struct Absent;

impl Operator for Absent {
    fn present(&self) -> bool {
        false
    }

    fn ask(&mut self, _: &Prompt, _: &Answers) {}
}

/// A person at a terminal, played from a script: each answer is typed
/// when its prompt is shown (in script order); `None` ends the input there.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct ScriptedOperator {
    script: std::collections::VecDeque<(Prompt, Option<String>)>,
    /// Every prompt shown, in order.
    pub(crate) asked: std::sync::Arc<std::sync::Mutex<Vec<Prompt>>>,
}

#[cfg(test)]
impl ScriptedOperator {
    /// At `prompt`, type `line`.
    pub(crate) fn answer(mut self, prompt: Prompt, line: &str) -> Self {
        self.script.push_back((prompt, Some(line.to_string())));
        self
    }

    /// At `prompt`, the input ends (Ctrl-D, a closed terminal).
    pub(crate) fn hang_up(mut self, prompt: Prompt) -> Self {
        self.script.push_back((prompt, None));
        self
    }
}

#[cfg(test)]
impl Operator for ScriptedOperator {
    fn present(&self) -> bool {
        true
    }

    fn ask(&mut self, prompt: &Prompt, answers: &Answers) {
        self.asked.lock().unwrap().push(prompt.clone());
        if self.script.front().is_some_and(|(p, _)| p == prompt)
            && let Some((_, line)) = self.script.pop_front()
        {
            match line {
                Some(line) => {
                    answers.line(line);
                }
                None => answers.closed(),
            }
        }
    }
}
