//! `cutover plan --format mermaid|dot` on both example runbooks: every step
//! is a box, every `needs` an edge, every gate, approval and rollback a
//! node; the DOT renders with Graphviz's `dot`.

use std::path::Path;

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::tools::require;

/// Both example runbooks, with the secrets the payments one needs.
fn examples() -> Cutover {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect("example runbook");
    Cutover::new()
        .file("runbooks/demo.toml", read("runbooks/demo.toml"))
        .file(
            "runbooks/payments-db-cutover.toml",
            read("runbooks/payments-db-cutover.toml"),
        )
        .file("runbooks/freeze.toml", read("runbooks/freeze.toml"))
        .file("checks/launch.toml", read("checks/launch.toml"))
        .env("PAYMENTS_DB_ADMIN_PASSWORD", "graph-test-password-1")
        .env("FLAGS_API_TOKEN", "graph-test-token-12345")
}

fn node_id(step: &str) -> String {
    let id: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("step_{id}")
}

/// The plan's steps as (id, needs, gate count, has approval, has rollback).
fn steps(c: &Cutover, runbook: &str) -> Vec<(String, Vec<String>, usize, bool, bool)> {
    let out = c.exec(&["plan", runbook, "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan json");
    plan["runbook"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_string(),
                s["needs"]
                    .as_array()
                    .expect("needs")
                    .iter()
                    .map(|n| n.as_str().expect("need").to_string())
                    .collect(),
                s["gates"].as_array().map_or(0, Vec::len),
                !s["approval"].is_null(),
                !s["rollback"].is_null(),
            )
        })
        .collect()
}

#[test]
fn mermaid_of_both_examples_has_every_step_edge_gate_approval_and_rollback() {
    let c = examples();
    for runbook in ["runbooks/demo.toml", "runbooks/payments-db-cutover.toml"] {
        let out = c.exec(&["plan", runbook, "--format", "mermaid"]);
        assert_eq!(out.code, 0, "{out:?}");
        let m = &out.stdout;
        assert!(m.contains("\nflowchart TD\n"), "{m}");
        let steps = steps(&c, runbook);
        assert!(steps.len() >= 6, "{runbook}: {steps:?}");
        let mut edges = 0;
        for (id, needs, gates, approval, rollback) in &steps {
            let node = node_id(id);
            assert!(
                m.contains(&format!("  subgraph {node}[\"{id}\"]\n")),
                "{runbook}: step {id} missing:\n{m}"
            );
            for need in needs {
                edges += 1;
                assert!(
                    m.contains(&format!("\n  {} --> {node}\n", node_id(need))),
                    "{runbook}: edge {need} -> {id} missing:\n{m}"
                );
            }
            let gate_nodes = m
                .lines()
                .filter(|l| {
                    l.starts_with(&format!("    {node}__before_"))
                        || l.starts_with(&format!("    {node}__after_"))
                })
                .filter(|l| l.contains("{{"))
                .count();
            assert_eq!(gate_nodes, *gates, "{runbook}: gates of {id}:\n{m}");
            assert_eq!(
                m.contains(&format!("    {node}__approval{{\"go/no-go")),
                *approval,
                "{runbook}: approval of {id}:\n{m}"
            );
            assert_eq!(
                m.contains(&format!(
                    "    {node}__action -.->|rollback| {node}__rollback\n"
                )),
                *rollback,
                "{runbook}: rollback of {id}:\n{m}"
            );
        }
        // No edge the runbook does not have.
        let drawn = m
            .lines()
            .filter(|l| l.starts_with("  step_") && l.contains(" --> "))
            .count();
        assert_eq!(drawn, edges, "{runbook}:\n{m}");
    }
    // Secrets never reach the graph.
    let out = c.exec(&[
        "plan",
        "runbooks/payments-db-cutover.toml",
        "--format",
        "mermaid",
    ]);
    assert!(
        !out.stdout.contains("graph-test-password-1"),
        "{}",
        out.stdout
    );
}

#[test]
fn dot_of_both_examples_has_every_step_and_edge_and_renders_with_graphviz() {
    let dot = require("dot", "graphviz");
    let c = examples();
    for (i, runbook) in ["runbooks/demo.toml", "runbooks/payments-db-cutover.toml"]
        .iter()
        .enumerate()
    {
        let out = c.exec(&["plan", runbook, "--format", "dot"]);
        assert_eq!(out.code, 0, "{out:?}");
        let d = &out.stdout;
        let steps = steps(&c, runbook);
        let mut edges = 0;
        for (id, needs, _, approval, rollback) in &steps {
            let node = node_id(id);
            assert!(
                d.contains(&format!(
                    "  subgraph cluster_{node} {{\n    label=\"{id}\";\n"
                )),
                "{runbook}: step {id} missing:\n{d}"
            );
            for need in needs {
                edges += 1;
                assert!(
                    d.contains(&format!(
                        " [ltail=cluster_{}, lhead=cluster_{node}];\n",
                        node_id(need)
                    )),
                    "{runbook}: edge {need} -> {id} missing:\n{d}"
                );
            }
            assert_eq!(
                d.contains(&format!("    {node}__approval [shape=diamond")),
                *approval
            );
            assert_eq!(
                d.contains(&format!(
                    "    {node}__action -> {node}__rollback [style=dashed, label=\"rollback\"];"
                )),
                *rollback
            );
        }
        assert_eq!(
            d.matches(" [ltail=cluster_").count(),
            edges,
            "{runbook}:\n{d}"
        );
        let file = c.path(&format!("plan{i}.dot"));
        std::fs::write(&file, d).expect("write dot");
        let rendered = std::process::Command::new(&dot)
            .arg("-Tsvg")
            .arg(&file)
            .output()
            .expect("run dot");
        assert!(
            rendered.status.success() && rendered.stderr.is_empty(),
            "{runbook}: dot said: {}\n{d}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        // Graphviz writes `-` in SVG text as `&#45;`.
        let svg = String::from_utf8_lossy(&rendered.stdout).replace("&#45;", "-");
        for (id, ..) in &steps {
            assert!(
                svg.contains(&format!(">{id}</text>")),
                "{runbook}: {id} not drawn"
            );
        }
    }
}
