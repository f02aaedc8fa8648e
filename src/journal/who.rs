//! Who wrote a record: the process's `user@host` (`actor`) and the name
//! given with `--as` / `CUTOVER_ACTOR`, and the person behind them.

use crate::event::{Event, Identity, Record};

/// The writer of a record, as the fold keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    /// `user@host` of the process that wrote the record.
    pub actor: String,
    /// The name given with `--as` / `CUTOVER_ACTOR`, if any.
    pub on_behalf: Option<String>,
    /// A vote in a production run that took that name as declared, not
    /// verified (`identity: "declared"`).
    pub declared: bool,
}

impl Who {
    pub fn of(record: &Record) -> Who {
        let declared = matches!(
            record.event,
            Event::ApprovalGranted {
                identity: Some(Identity::Declared),
                ..
            } | Event::ApprovalRejected {
                identity: Some(Identity::Declared),
                ..
            }
        );
        Who {
            actor: record.actor.clone(),
            on_behalf: record.on_behalf.clone(),
            declared,
        }
    }

    /// As people read it: `alice@host (as bob)`; a name a production run
    /// took as declared says so: `ops@jump (as alice, declared)`.
    pub fn label(&self) -> String {
        match &self.on_behalf {
            Some(name) if self.declared => format!("{} (as {name}, declared)", self.actor),
            Some(name) => format!("{} (as {name})", self.actor),
            None => self.actor.clone(),
        }
    }

    /// The person for approvals: the `--as` name, else the login user.
    pub fn person(&self) -> String {
        person(&self.actor, self.on_behalf.as_deref())
    }

    /// The `--as` name if one was given, else `user@host`: who skipped a
    /// rollback, who marked a step done.
    pub fn name_or_actor(&self) -> String {
        match self.on_behalf.as_deref() {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => self.actor.clone(),
        }
    }
}

pub use crate::event::person;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_prefer_the_name_given() {
        assert_eq!(person("ops@jump", Some("alice")), "alice");
        assert_eq!(person("ops@jump", None), "ops");
        assert_eq!(person("ops", Some("")), "ops");
        let who = Who {
            actor: "ops@jump".into(),
            on_behalf: Some("alice".into()),
            declared: false,
        };
        assert_eq!(who.label(), "ops@jump (as alice)");
        assert_eq!(who.name_or_actor(), "alice");
    }
}
