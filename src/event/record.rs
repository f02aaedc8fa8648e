//! A journal line: the header that opens a journal, the envelope of every
//! record (`seq`, `ts`, `run_id`, `actor`, optional `as`) around its event,
//! and the person behind a record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Event, Identity};

/// Bumped only for incompatible changes (see the module docs).
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    /// Always `cutover-journal`, so a stray JSONL file is not taken for a journal.
    pub journal: String,
    pub run_id: String,
    pub created: String,
}

impl Header {
    pub fn new(run_id: &str, created: &str) -> Self {
        Header {
            format_version: FORMAT_VERSION,
            journal: "cutover-journal".into(),
            run_id: run_id.into(),
            created: created.into(),
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based, contiguous within a journal.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds.
    pub ts: String,
    pub run_id: String,
    /// `user@host` of the process that wrote the event.
    pub actor: String,
    /// The name given with `--as` / `CUTOVER_ACTOR`, recorded next to `actor`.
    pub on_behalf: Option<String>,
    pub event: Event,
}

/// The wire shape of a record; `Record` converts through it so that unknown
/// kinds survive a read and write.
#[derive(Serialize, Deserialize)]
struct WireRecord {
    seq: u64,
    ts: String,
    run_id: String,
    actor: String,
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    on_behalf: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

impl Record {
    /// One JSON line, without the trailing newline.
    pub fn to_line(&self) -> String {
        let (kind, data) = self.event.to_parts();
        let wire = WireRecord {
            seq: self.seq,
            ts: self.ts.clone(),
            run_id: self.run_id.clone(),
            actor: self.actor.clone(),
            on_behalf: self.on_behalf.clone(),
            kind,
            data,
        };
        serde_json::to_string(&wire).unwrap_or_else(|e| {
            // Only non-string map keys can fail here, and events have none.
            format!(
                r#"{{"seq":{},"type":"unserializable","data":"{e}"}}"#,
                self.seq
            )
        })
    }

    /// Parse one journal line. A kind this binary does not know (or a known
    /// kind whose data no longer fits) becomes `Event::Unknown`.
    pub fn from_line(line: &str) -> Result<Record, serde_json::Error> {
        let wire: WireRecord = serde_json::from_str(line)?;
        Ok(Record {
            seq: wire.seq,
            ts: wire.ts,
            run_id: wire.run_id,
            actor: wire.actor,
            on_behalf: wire.on_behalf,
            event: Event::from_parts(wire.kind, wire.data),
        })
    }

    /// The actor as people read it: `alice@host (as bob)`.
    pub fn who(&self) -> String {
        match &self.on_behalf {
            Some(name) => format!("{} (as {name})", self.actor),
            None => self.actor.clone(),
        }
    }

    /// Who cast a vote, as people read it: like [`Record::who`], with a
    /// name that was declared in a production run (not verified) said so:
    /// `ops@jump (as alice, declared)`.
    pub fn voter(&self) -> String {
        match (&self.event, &self.on_behalf) {
            (
                Event::ApprovalGranted {
                    identity: Some(Identity::Declared),
                    ..
                }
                | Event::ApprovalRejected {
                    identity: Some(Identity::Declared),
                    ..
                },
                Some(name),
            ) => format!("{} (as {name}, declared)", self.actor),
            _ => self.who(),
        }
    }
}

/// The person behind a record: the `--as` name, else the login user (the
/// part of `user@host` before the `@`). Shared by the engine's approval
/// rules and the journal's fold, so both count a vote for the same person.
pub fn person(actor: &str, on_behalf: Option<&str>) -> String {
    match on_behalf {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => actor.split('@').next().unwrap_or(actor).to_string(),
    }
}
