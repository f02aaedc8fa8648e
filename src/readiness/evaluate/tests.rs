//! Judging items against the clock and the run journals: attestations,
//! waivers, dry runs.

use std::time::Duration;

use super::*;
use crate::readiness::time::parse_instant;

fn at(s: &str) -> SystemTime {
    parse_instant(s).expect("valid")
}

fn attestation(expires: Option<&str>) -> Attestation {
    Attestation {
        by: "perf-team".into(),
        at: at("2026-11-01"),
        evidence: "https://jira/PERF-1".into(),
        expires: expires.map(at),
    }
}

#[test]
fn an_expired_attestation_fails_and_says_since_when() {
    let now = at("2026-11-25T12:00:00Z");
    let ok = judge_attestation(&attestation(Some("2026-12-01")), now);
    assert_eq!(ok.status, Status::Pass);
    let old = judge_attestation(&attestation(Some("2026-11-20")), now);
    assert_eq!(old.status, Status::Fail);
    assert!(
        old.detail.contains("expired since 2026-11-20"),
        "{}",
        old.detail
    );
    assert_eq!(
        judge_attestation(&attestation(None), now).status,
        Status::Pass
    );
}

#[test]
fn waivers_cover_failures_until_they_expire() {
    let now = at("2026-11-25");
    let waiver = |expires: &str| Waiver {
        item: "x".into(),
        reason: "known".into(),
        approver: "cto".into(),
        expires: at(expires),
    };
    let failing = || Judged {
        status: Status::Fail,
        value: None,
        target: None,
        detail: "bad".into(),
    };
    let mut j = failing();
    let note = apply_waiver(&mut j, Some(&waiver("2026-12-01")), now).expect("note");
    assert_eq!(j.status, Status::Waived);
    assert!(!note.expired);
    let mut j = failing();
    let note = apply_waiver(&mut j, Some(&waiver("2026-11-24")), now).expect("note");
    assert_eq!(j.status, Status::Fail);
    assert!(note.expired);
    assert!(
        j.detail.contains("expired since 2026-11-24"),
        "{}",
        j.detail
    );
    let mut j = failing();
    assert_eq!(apply_waiver(&mut j, None, now), None);
    assert_eq!(j.status, Status::Fail);
}

#[test]
fn dry_runs_must_be_recent_complete_and_in_the_env() {
    let now = at("2026-11-25");
    let run = |id: &str, env: &str, dry: bool, outcome: &str, finished: &str| RunSummary {
        run_id: id.into(),
        runbook_name: "payments".into(),
        runbook_path: "runbooks/payments.toml".into(),
        env: Some(env.into()),
        dry_run: dry,
        outcome: Some(outcome.into()),
        finished: Some(at(finished)),
        queries_ok: Some(true),
        failed_queries: std::collections::BTreeSet::default(),
    };
    let week = Duration::from_hours(7 * 24);
    let runs = vec![
        run("old", "staging", true, "completed", "2026-11-01"),
        run("real", "staging", false, "completed", "2026-11-24"),
        run("failed", "staging", true, "rolled_back", "2026-11-24"),
        run("prod", "production", true, "completed", "2026-11-24"),
    ];
    let j = judge_dry_run(&runs, "payments", Some("staging"), week, now);
    assert_eq!(j.status, Status::Fail);
    assert!(j.detail.contains("`old`"), "{}", j.detail);
    let j = judge_dry_run(&runs, "payments", None, week, now);
    assert_eq!(j.status, Status::Pass, "{j:?}");
    let j = judge_dry_run(&runs, "orders", None, week, now);
    assert_eq!(j.status, Status::Fail);
    assert_eq!(j.value.as_deref(), Some("none"));
    // Completed, recent, in the env, but its queries did not work.
    let mut broken = run("broken", "staging", true, "completed", "2026-11-24");
    broken.queries_ok = Some(false);
    broken.failed_queries.insert("switch.before-1".into());
    let j = judge_dry_run(&[broken], "payments", Some("staging"), week, now);
    assert_eq!(j.status, Status::Fail);
    assert!(
        j.detail.contains(
            "the dry run `broken` of `payments` on `staging` completed but 1 query (`switch.before-1`) failed"
        ),
        "{}",
        j.detail
    );
}
