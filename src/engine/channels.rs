//! The request body each `[notify.NAME]` kind is sent: a generic webhook's
//! JSON, a Slack message in Block Kit sections (run, step, owner, the
//! command to act), a PagerDuty Events API v2 event (`trigger` on a fired
//! trigger or a failed rollback, `resolve` when the run completes or the
//! rollback finishes, one `dedup_key` per run). The words are
//! `describe::notification`'s.

use serde_json::{Value, json};

use crate::describe::Notification;
use crate::event::{Event, Outcome, Record};
use crate::journal::RunState;
use crate::runbook::model::NotifyKind;

/// PagerDuty caps `payload.summary` at 1024 characters.
const SUMMARY_MAX: usize = 1024;

/// What a PagerDuty channel does with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Trigger,
    Resolve,
}

impl Page {
    fn word(self) -> &'static str {
        match self {
            Page::Trigger => "trigger",
            Page::Resolve => "resolve",
        }
    }
}

/// Page on a fired trigger or a failed rollback; resolve the page when the
/// rollback finishes or the run completes (if this run paged at all);
/// nothing for the rest. `state` has the record folded in.
pub(crate) fn page(record: &Record, state: &RunState) -> Option<Page> {
    match &record.event {
        Event::TriggerFired { .. } | Event::RollbackFinished { ok: false, .. } => {
            Some(Page::Trigger)
        }
        Event::RollbackFinished { ok: true, .. } => paged(state).then_some(Page::Resolve),
        Event::RunFinished(f) if f.outcome == Outcome::Completed => {
            paged(state).then_some(Page::Resolve)
        }
        _ => None,
    }
}

/// This run paged someone: a trigger fired or a rollback failed.
fn paged(state: &RunState) -> bool {
    state.history.iter().any(|e| {
        matches!(
            e.event,
            Event::TriggerFired { .. } | Event::RollbackFinished { ok: false, .. }
        )
    })
}

/// The one PagerDuty alert of a run: every page and resolve of the run
/// names it, so PagerDuty groups them.
pub(crate) fn dedup_key(run_id: &str) -> String {
    format!("cutover/{run_id}")
}

/// The request body for a channel of `kind`, before masking (and before a
/// PagerDuty routing key goes in: the key is a secret the masker knows).
pub(crate) fn payload(
    kind: NotifyKind,
    n: &Notification,
    record: &Record,
    page: Option<Page>,
) -> Value {
    match kind {
        NotifyKind::Slack => slack(n, record),
        NotifyKind::Pagerduty => pagerduty(n, record, page.unwrap_or(Page::Trigger)),
        NotifyKind::Generic => {
            let (_, data) = record.event.to_parts();
            let mut body = json!({
                "event": n.about,
                "text": n.text,
                "run_id": record.run_id,
                "seq": record.seq,
                "ts": record.ts,
                "actor": record.who(),
                "data": data,
            });
            for (key, value) in [
                ("step", &n.step),
                ("owner", &n.owner),
                ("command", &n.command),
            ] {
                if let Some(v) = value {
                    body[key] = json!(v);
                }
            }
            body
        }
    }
}

/// Slack's mrkdwn reserves `&`, `<` and `>`.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` (the notification's line, for clients that show no blocks) and
/// Block Kit sections: the headline, then run / step / owner, then the
/// command to act, as code.
fn slack(n: &Notification, record: &Record) -> Value {
    let mut fields = vec![json!({
        "type": "mrkdwn",
        "text": format!("*Run*\n`{}`", mrkdwn(&record.run_id)),
    })];
    if let Some(step) = &n.step {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Step*\n`{}`", mrkdwn(step))}));
    }
    if let Some(owner) = &n.owner {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Owner*\n{}", mrkdwn(owner))}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", mrkdwn(&n.headline))}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(command) = &n.command {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*To act*\n```{}```", mrkdwn(command))},
        }));
    }
    json!({ "text": n.text, "blocks": blocks })
}

/// An Events API v2 event: a `trigger` with the summary, severity and the
/// run's details, or a `resolve` of the run's alert.
fn pagerduty(n: &Notification, record: &Record, page: Page) -> Value {
    let key = dedup_key(&record.run_id);
    if page == Page::Resolve {
        return json!({
            "event_action": page.word(),
            "dedup_key": key,
        });
    }
    let summary: String = n.text.chars().take(SUMMARY_MAX).collect();
    let host = record
        .actor
        .split_once('@')
        .map_or(record.actor.as_str(), |(_, h)| h);
    let mut details = json!({
        "run_id": record.run_id,
        "event": n.about,
        "seq": record.seq,
        "actor": record.who(),
    });
    for (k, v) in [
        ("step", &n.step),
        ("owner", &n.owner),
        ("command", &n.command),
    ] {
        if let Some(v) = v {
            details[k] = json!(v);
        }
    }
    json!({
        "event_action": page.word(),
        "dedup_key": key,
        "client": "cutover",
        "payload": {
            "summary": summary,
            "source": if host.is_empty() { "cutover" } else { host },
            "severity": n.severity.word(),
            "timestamp": record.ts,
            "component": n.step.clone().unwrap_or_else(|| record.run_id.clone()),
            "group": record.run_id,
            "class": n.about,
            "custom_details": details,
        },
    })
}
