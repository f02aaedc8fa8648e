//! Skipping steps before a run starts (`run --skip STEP`, `--from STEP`):
//! what `--from` skips, and which skips leave a step without something it
//! needs.

use std::collections::{BTreeSet, HashMap};

/// Every step `step` needs, directly or through others (not itself), in
/// the order of `nodes` (runbook order).
pub fn ancestors(nodes: &[(&str, &[String])], step: &str) -> Vec<String> {
    let needs: HashMap<&str, &[String]> = nodes.iter().copied().collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = needs
        .get(step)
        .map_or_else(Vec::new, |n| n.iter().map(String::as_str).collect());
    while let Some(s) = stack.pop() {
        if s == step || !seen.insert(s) {
            continue;
        }
        if let Some(n) = needs.get(s) {
            stack.extend(n.iter().map(String::as_str));
        }
    }
    nodes
        .iter()
        .filter(|(id, _)| seen.contains(id))
        .map(|(id, _)| (*id).to_string())
        .collect()
}

/// A skipped step that a step which still runs needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub skipped: String,
    pub dependent: String,
}

/// The skips (`skipped`: `--skip` steps) that leave a step that still runs
/// without what it needs. What `--from` skips (`done_before`) is taken as
/// done already, so what needs it is fine; a step skipped with `--skip` is
/// not done, so whatever needs it must be skipped too.
pub fn broken(
    nodes: &[(&str, &[String])],
    skipped: &[String],
    done_before: &[String],
) -> Vec<Broken> {
    let mut out = Vec::new();
    for (id, needs) in nodes {
        let runs = !skipped.iter().any(|s| s == id) && !done_before.iter().any(|s| s == id);
        if !runs {
            continue;
        }
        for need in *needs {
            if skipped.contains(need) && !done_before.contains(need) {
                out.push(Broken {
                    skipped: need.clone(),
                    dependent: (*id).to_string(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn from_skips_everything_a_step_needs_transitively() {
        // a -> b -> d, a -> c, x alone
        let needs = [v(&[]), v(&["a"]), v(&["a"]), v(&["b", "c"]), v(&[])];
        let nodes: Vec<(&str, &[String])> = ["a", "b", "c", "d", "x"]
            .iter()
            .zip(&needs)
            .map(|(id, n)| (*id, n.as_slice()))
            .collect();
        assert_eq!(ancestors(&nodes, "d"), ["a", "b", "c"]);
        assert_eq!(ancestors(&nodes, "b"), ["a"]);
        assert!(ancestors(&nodes, "a").is_empty());
        assert!(ancestors(&nodes, "x").is_empty());
        assert!(ancestors(&nodes, "nope").is_empty());
    }

    #[test]
    fn a_skip_must_take_its_dependents_along_unless_from_covers_it() {
        let (a, b, c) = (v(&[]), v(&["a"]), v(&["b"]));
        let nodes: Vec<(&str, &[String])> = vec![("a", &a), ("b", &b), ("c", &c)];
        assert_eq!(
            broken(&nodes, &v(&["a"]), &[]),
            [Broken {
                skipped: "a".into(),
                dependent: "b".into()
            }]
        );
        assert!(broken(&nodes, &v(&["a", "b", "c"]), &[]).is_empty());
        assert!(
            broken(&nodes, &v(&["c"]), &[]).is_empty(),
            "nothing needs c"
        );
        // `--from c` takes a and b as done before: skipping them is fine.
        assert!(broken(&nodes, &v(&["a"]), &v(&["a", "b"])).is_empty());
    }

    #[test]
    fn a_cycle_does_not_loop() {
        let (a, b) = (v(&["b"]), v(&["a"]));
        let nodes: Vec<(&str, &[String])> = vec![("a", &a), ("b", &b)];
        assert_eq!(ancestors(&nodes, "a"), ["b"]);
    }
}
