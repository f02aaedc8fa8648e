//! The plan's step graph for `cutover plan --format mermaid|dot`: each step
//! a box (Mermaid subgraph, Graphviz cluster) holding what happens in order
//! (before-gates, the go/no-go approval, the action, after-gates) and its
//! rollback on a dashed edge; an edge from each step to every step that
//! `needs` it; rollback triggers beside them, tied to their `from` and
//! `until` steps. One model (`Graph`), two writers.
//!
//! Node ids are stable, for people who post-process the output: a step's
//! box is `step_<id>` (every character but `A-Z a-z 0-9 _` made `_`, and
//! `_2`, `_3`, ... added if two ids then collide), its parts
//! `step_<id>__before_<gate>`, `__approval`, `__action`, `__after_<gate>`,
//! `__rollback`; a trigger is `trigger_<id>`.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::Plan;
use crate::runbook::model::{Action, Gate, GateWhen, Step};

/// Longest text shown for a command, URL or query before it is cut with `…`.
const MAX_TEXT: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Action,
    Gate,
    Approval,
    Rollback,
    Trigger,
}

#[derive(Debug)]
struct Node {
    id: String,
    label: Vec<String>,
    shape: Shape,
}

#[derive(Debug)]
struct Cluster {
    id: String,
    title: String,
    nodes: Vec<Node>,
    /// Consecutive parts in the order they happen.
    flow: Vec<(String, String)>,
    /// (action node, rollback node).
    rollback: Option<(String, String)>,
}

impl Cluster {
    fn first(&self) -> &str {
        &self.nodes[0].id
    }

    /// The last part of the step's flow (not its rollback).
    fn last(&self) -> &str {
        self.flow.last().map_or(self.first(), |(_, to)| to.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    From,
    Until,
}

#[derive(Debug)]
struct Graph {
    title: String,
    clusters: Vec<Cluster>,
    triggers: Vec<Node>,
    /// (from cluster index, to cluster index): `to` needs `from`.
    needs: Vec<(usize, usize)>,
    /// (trigger index, cluster index, from or until).
    watches: Vec<(usize, usize, Link)>,
}

/// The graph as a Mermaid flowchart (no Markdown fence around it).
pub fn mermaid(plan: &Plan) -> String {
    let g = graph(plan);
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {}\n---", mermaid_title(&g.title));
    out.push_str("flowchart TD\n");
    for c in &g.clusters {
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            c.id,
            mermaid_text(std::slice::from_ref(&c.title))
        );
        for n in &c.nodes {
            let _ = writeln!(out, "    {}", mermaid_node(n));
        }
        for (a, b) in &c.flow {
            let _ = writeln!(out, "    {a} --> {b}");
        }
        if let Some((action, rollback)) = &c.rollback {
            let _ = writeln!(out, "    {action} -.->|rollback| {rollback}");
        }
        out.push_str("  end\n");
    }
    for t in &g.triggers {
        let _ = writeln!(out, "  {}", mermaid_node(t));
    }
    for (from, to) in &g.needs {
        let _ = writeln!(out, "  {} --> {}", g.clusters[*from].id, g.clusters[*to].id);
    }
    for (t, c, link) in &g.watches {
        let word = if *link == Link::From { "from" } else { "until" };
        let _ = writeln!(
            out,
            "  {} -.->|{word}| {}",
            g.triggers[*t].id, g.clusters[*c].id
        );
    }
    plan.masker.mask(&out)
}

/// The graph in Graphviz DOT (`dot -Tsvg plan.dot > plan.svg`).
pub fn dot(plan: &Plan) -> String {
    let g = graph(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph \"{}\" {{",
        dot_text(std::slice::from_ref(&g.title))
    );
    out.push_str("  compound=true;\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for c in &g.clusters {
        let _ = writeln!(out, "  subgraph cluster_{} {{", c.id);
        let _ = writeln!(
            out,
            "    label=\"{}\";",
            dot_text(std::slice::from_ref(&c.title))
        );
        out.push_str("    style=rounded;\n");
        for n in &c.nodes {
            let _ = writeln!(out, "    {}", dot_node(n));
        }
        for (a, b) in &c.flow {
            let _ = writeln!(out, "    {a} -> {b};");
        }
        if let Some((action, rollback)) = &c.rollback {
            let _ = writeln!(
                out,
                "    {action} -> {rollback} [style=dashed, label=\"rollback\"];"
            );
        }
        out.push_str("  }\n");
    }
    for t in &g.triggers {
        let _ = writeln!(out, "  {}", dot_node(t));
    }
    for (from, to) in &g.needs {
        let (a, b) = (&g.clusters[*from], &g.clusters[*to]);
        let _ = writeln!(
            out,
            "  {} -> {} [ltail=cluster_{}, lhead=cluster_{}];",
            a.last(),
            b.first(),
            a.id,
            b.id
        );
    }
    for (t, c, link) in &g.watches {
        let word = if *link == Link::From { "from" } else { "until" };
        let c = &g.clusters[*c];
        let _ = writeln!(
            out,
            "  {} -> {} [style=dotted, lhead=cluster_{}, label=\"{word}\"];",
            g.triggers[*t].id,
            c.first(),
            c.id
        );
    }
    out.push_str("}\n");
    plan.masker.mask(&out)
}

fn graph(plan: &Plan) -> Graph {
    let rb = &plan.runbook;
    let mut ids = Ids::default();
    let clusters: Vec<Cluster> = rb
        .steps
        .iter()
        .map(|s| cluster(s, ids.unique(&format!("step_{}", sanitize(&s.id)))))
        .collect();
    let index: HashMap<&str, usize> = rb
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut needs = Vec::new();
    for (to, step) in rb.steps.iter().enumerate() {
        for need in &step.needs {
            if let Some(&from) = index.get(need.as_str()) {
                needs.push((from, to));
            }
        }
    }
    let mut triggers = Vec::new();
    let mut watches = Vec::new();
    for (i, t) in rb.triggers.iter().enumerate() {
        let action = serde_json::to_value(t.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        triggers.push(Node {
            id: ids.unique(&format!("trigger_{}", sanitize(&t.id))),
            label: vec![
                format!("trigger {}", t.id),
                format!("[{}] {}", t.check.source, cut(&t.check.probe.describe())),
                format!(
                    "fire if {} for {} → {action}",
                    t.check.condition_text,
                    humantime::format_duration(t.hold_for)
                ),
            ],
            shape: Shape::Trigger,
        });
        for (step, link) in [(&t.from, Link::From), (&t.until, Link::Until)] {
            if let Some(&c) = step.as_ref().and_then(|s| index.get(s.as_str())) {
                watches.push((i, c, link));
            }
        }
    }
    Graph {
        title: rb.name.clone(),
        clusters,
        triggers,
        needs,
        watches,
    }
}

fn cluster(step: &Step, id: String) -> Cluster {
    let mut nodes = Vec::new();
    let mut part_ids = Ids::default();
    let mut part = |suffix: &str| part_ids.unique(&format!("{id}__{suffix}"));
    for g in step.gates(GateWhen::Before) {
        nodes.push(gate_node(g, part(&format!("before_{}", sanitize(&g.id)))));
    }
    if let Some(a) = &step.approval {
        let who = if a.approvers.is_empty() {
            "anyone".to_string()
        } else {
            a.approvers.join(", ")
        };
        nodes.push(Node {
            id: part("approval"),
            label: vec!["go/no-go".into(), format!("{} of {who}", a.min)],
            shape: Shape::Approval,
        });
    }
    let action_id = part("action");
    nodes.push(Node {
        id: action_id.clone(),
        label: vec![action_text(&step.action)],
        shape: Shape::Action,
    });
    for g in step.gates(GateWhen::After) {
        nodes.push(gate_node(g, part(&format!("after_{}", sanitize(&g.id)))));
    }
    let flow = nodes
        .windows(2)
        .map(|w| (w[0].id.clone(), w[1].id.clone()))
        .collect();
    let rollback = step.rollback.as_ref().map(|r| {
        let node = Node {
            id: part("rollback"),
            label: vec![format!("rollback: {}", action_text(r))],
            shape: Shape::Rollback,
        };
        let ids = (action_id.clone(), node.id.clone());
        nodes.push(node);
        ids
    });
    Cluster {
        id,
        title: step.id.clone(),
        nodes,
        flow,
        rollback,
    }
}

fn gate_node(g: &Gate, id: String) -> Node {
    let when = match g.when {
        GateWhen::Before => "before",
        GateWhen::After => "after",
    };
    Node {
        id,
        label: vec![
            format!(
                "{when} gate {}{}",
                g.id,
                if g.shadow { " (shadow)" } else { "" }
            ),
            format!("[{}] {}", g.check.source, cut(&g.check.probe.describe())),
            format!("pass if {} ×{}", g.check.condition_text, g.count),
        ],
        shape: Shape::Gate,
    }
}

fn action_text(action: &Action) -> String {
    match action {
        Action::Run { command } => format!("run: {}", cut(command)),
        Action::Http(h) => format!("http: {} {}", h.method, cut(&h.url)),
        Action::Manual { instructions } => format!("manual: {}", cut(instructions)),
    }
}

/// One line, control characters visible, at most [`MAX_TEXT`] characters.
fn cut(text: &str) -> String {
    let line = crate::text::one_line(text);
    if line.chars().count() <= MAX_TEXT {
        return line.into_owned();
    }
    let mut s: String = line.chars().take(MAX_TEXT - 1).collect();
    s.push('…');
    s
}

/// Every character but `A-Z a-z 0-9 _` made `_`.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Ids handed out so far, so that two that sanitize alike stay apart.
#[derive(Default)]
struct Ids(HashMap<String, usize>);

impl Ids {
    fn unique(&mut self, base: &str) -> String {
        let n = self.0.entry(base.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        }
    }
}

fn mermaid_node(n: &Node) -> String {
    let text = mermaid_text(&n.label);
    match n.shape {
        Shape::Action => format!("{}[\"{text}\"]", n.id),
        Shape::Gate => format!("{}{{{{\"{text}\"}}}}", n.id),
        Shape::Approval => format!("{}{{\"{text}\"}}", n.id),
        Shape::Rollback => format!("{}[/\"{text}\"/]", n.id),
        Shape::Trigger => format!("{}>\"{text}\"]", n.id),
    }
}

/// Label text inside `"..."`: Mermaid's entity codes for the characters
/// that would end the label or be read as HTML, lines joined by `<br/>`.
fn mermaid_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| {
            let mut out = String::with_capacity(l.len());
            for c in l.chars() {
                match c {
                    '#' => out.push_str("#35;"),
                    '"' => out.push_str("#quot;"),
                    '<' => out.push_str("#lt;"),
                    '>' => out.push_str("#gt;"),
                    '&' => out.push_str("#amp;"),
                    c => out.push(c),
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// A title in Mermaid's front matter (YAML): quoted.
fn mermaid_title(title: &str) -> String {
    format!(
        "\"{}\"",
        crate::text::one_line(title)
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

fn dot_node(n: &Node) -> String {
    let attrs = match n.shape {
        Shape::Action => "shape=box",
        Shape::Gate => "shape=hexagon",
        Shape::Approval => "shape=diamond",
        Shape::Rollback => "shape=box, style=dashed",
        Shape::Trigger => "shape=octagon",
    };
    format!("{} [{attrs}, label=\"{}\"];", n.id, dot_text(&n.label))
}

/// A DOT string's content: `"` and `\` escaped, lines joined by `\n`.
fn dot_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect::<Vec<_>>()
        .join("\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitized_and_kept_apart() {
        let mut ids = Ids::default();
        assert_eq!(ids.unique(&format!("step_{}", sanitize("a-b"))), "step_a_b");
        assert_eq!(
            ids.unique(&format!("step_{}", sanitize("a_b"))),
            "step_a_b_2"
        );
        assert_eq!(sanitize("db.migrate:v2"), "db_migrate_v2");
    }

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            mermaid_text(&["a \"b\" <i>#1 & c".into(), "d".into()]),
            "a #quot;b#quot; #lt;i#gt;#35;1 #amp; c<br/>d"
        );
        assert_eq!(
            dot_text(&[r#"say "hi" \n"#.into(), "x".into()]),
            r#"say \"hi\" \\n\nx"#
        );
        assert_eq!(mermaid_title("a \"b\""), r#""a \"b\"""#);
    }

    #[test]
    fn long_text_is_cut_on_one_line() {
        let long = format!("echo {}\nrm", "x".repeat(100));
        let cut = cut(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT);
        assert!(cut.ends_with('…') && !cut.contains('\n'), "{cut}");
    }
}
