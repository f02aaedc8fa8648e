//! The person at this terminal, an `engine::Operator`: present when stdin
//! and stderr are terminals; what they type is read from stdin, one line
//! at a time, from the first prompt on.

use std::io::IsTerminal;

use crate::engine::{Answers, Operator, Prompt};

pub struct Terminal {
    present: bool,
    reading: bool,
}

impl Terminal {
    /// A person can answer prompts: stdin and stderr are terminals.
    pub fn detect() -> Self {
        Terminal {
            present: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            reading: false,
        }
    }
}

impl Operator for Terminal {
    fn present(&self) -> bool {
        self.present
    }

    fn ask(&mut self, _prompt: &Prompt, answers: &Answers) {
        if self.reading {
            return;
        }
        self.reading = true;
        let answers = answers.clone();
        // A blocking reader thread: stdin cannot be read asynchronously
        // portably, and this one starts only once a prompt is open (a run
        // that never asks leaves the terminal's input alone).
        std::thread::spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                match std::io::stdin().read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        answers.closed();
                        return;
                    }
                    Ok(_) => {
                        super::live::typed(&line);
                        if !answers.line(line.trim().to_string()) {
                            return;
                        }
                    }
                }
            }
        });
    }
}
