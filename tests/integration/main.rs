//! One integration-test binary: every test spawns the real `cutover` binary
//! (`support::cutover`) and, where signals matter, a real Prometheus and
//! pushgateway on loopback (`support::prometheus`). `layers` reads the
//! sources instead: the layering of docs/architecture.md.

#![allow(
    unreachable_pub,
    reason = "support items are `pub` for the test modules of this one binary"
)]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom; the 100-line rule is for src/ (docs/architecture.md)"
)]
#![allow(
    dead_code,
    reason = "each support helper is used by some test files only"
)]

mod support;

mod actions;
mod approvals;
mod checks;
mod ci_outputs;
mod conventions;
mod datadog;
mod engine;
mod engine_crash;
mod engine_detached;
mod engine_fixes;
mod engine_http;
mod engine_orphans;
mod engine_partial;
mod engine_trigger;
mod graph;
mod hardening_files;
mod hardening_text;
mod hypercare;
mod hypercare_detach;
mod init;
mod layers;
mod live_view;
mod plan;
mod probes;
mod report;
mod rollback_views;
mod schedule;
mod secrets;
mod shared_drive;
mod shared_journal;
mod shared_journal_after;
mod shared_journal_tls;
mod signals;
mod signals_cli;
mod summary_kpis;
mod validate;
mod verify;
mod war_room;
mod warroom;
