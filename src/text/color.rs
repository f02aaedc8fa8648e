//! Whether what goes to a terminal is coloured: `--color auto|always|never`
//! on every command, decided once at start-up. `auto` colours a stream only
//! when it is a terminal and `NO_COLOR` is not set (https://no-color.org:
//! present and not empty).

use std::io::IsTerminal;
use std::sync::OnceLock;

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Choice {
    #[default]
    Auto,
    Always,
    Never,
}

static CHOICE: OnceLock<Choice> = OnceLock::new();

/// Set the process's choice (the first call wins; the default is `auto`).
pub fn set(choice: Choice) {
    let _ = CHOICE.set(choice);
}

/// Colour what goes to stderr (where people read).
pub fn stderr() -> bool {
    decide(choice(), std::io::stderr().is_terminal(), no_color())
}

/// Colour what goes to stdout.
pub fn stdout() -> bool {
    decide(choice(), std::io::stdout().is_terminal(), no_color())
}

/// `text` in the SGR colour `code` (`1` bold, `31` red, `1;31` bold red, ...).
pub fn paint(code: &str, text: &str) -> String {
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn choice() -> Choice {
    CHOICE.get().copied().unwrap_or_default()
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// What a piece of text means, for its colour: failed, fired and rollback
/// red (`Bad`), waiting yellow, done green, shadow and cancelled dim
/// (`Quiet`). Colour only underlines what the words already say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Bad,
    Waiting,
    Good,
    Quiet,
    Plain,
}

/// `text` in the colour of `tone` (unchanged when `on` is false).
pub fn tint(text: &str, tone: Tone, on: bool) -> String {
    let code = match tone {
        Tone::Bad => "1;31",
        Tone::Waiting => "33",
        Tone::Good => "32",
        Tone::Quiet => "2",
        Tone::Plain => return text.to_string(),
    };
    if on && !text.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn decide(choice: Choice, terminal: bool, no_color: bool) -> bool {
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => terminal && !no_color,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_says_not() {
        assert!(decide(Choice::Auto, true, false));
        assert!(!decide(Choice::Auto, true, true));
        assert!(!decide(Choice::Auto, false, false));
        assert!(decide(Choice::Always, false, true));
        assert!(!decide(Choice::Never, true, false));
    }
}
