//! Ordering things that need other things (steps and their `needs`): the
//! waves a plan runs in, and the cycle that makes ordering impossible. A leaf,
//! so that runbook validation (which reports the cycle) and the plan (which
//! orders the steps) share one algorithm.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Group nodes (`(id, needs)`, in file order) into waves (Kahn's algorithm
/// over `needs`): every node of a wave only needs nodes of earlier waves, and
/// a wave keeps file order. A need naming no node is ignored (validation
/// reports it). On a cycle, give the ids of one cycle in run order, with the
/// first repeated at the end.
pub fn waves(nodes: &[(&str, &[String])]) -> Result<Vec<Vec<String>>, Vec<String>> {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut unmet = vec![0usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, (_, needs)) in nodes.iter().enumerate() {
        for need in *needs {
            if let Some(&j) = index.get(need.as_str()) {
                unmet[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..nodes.len()).filter(|&i| unmet[i] == 0).collect();
    let mut waves = Vec::new();
    let mut placed = 0;
    while !ready.is_empty() {
        // Keep file order within a wave: that is the order people read.
        ready.sort_unstable();
        let mut next = Vec::new();
        for &i in &ready {
            for &d in &dependents[i] {
                unmet[d] -= 1;
                if unmet[d] == 0 {
                    next.push(d);
                }
            }
        }
        placed += ready.len();
        waves.push(ready.iter().map(|&i| nodes[i].0.to_string()).collect());
        ready = next;
    }
    if placed < nodes.len() {
        let remaining: BTreeMap<&str, BTreeSet<&str>> = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| unmet[*i] > 0)
            .map(|(_, (id, needs))| {
                let needs = needs
                    .iter()
                    .map(String::as_str)
                    .filter(|n| index.get(n).is_some_and(|&j| unmet[j] > 0))
                    .collect();
                (*id, needs)
            })
            .collect();
        return Err(find_cycle(&remaining));
    }
    Ok(waves)
}

fn find_cycle(remaining: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<String> {
    // Every remaining node needs another remaining node: walk until a step repeats.
    let start = *remaining.keys().next().expect("non-empty");
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = *remaining[current]
            .iter()
            .next()
            .expect("a blocked node has an unmet need");
        if let Some(pos) = path.iter().position(|s| *s == next) {
            let mut cycle: Vec<String> = path[pos..].iter().map(|s| (*s).to_string()).collect();
            // Show it in dependency order: a -> b means a needs b... people read
            // "a runs before b", so reverse to run order.
            cycle.reverse();
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(list: &[(&'static str, &[&str])]) -> Vec<(&'static str, Vec<String>)> {
        list.iter()
            .map(|(id, needs)| (*id, needs.iter().map(|n| (*n).to_string()).collect()))
            .collect()
    }

    fn order(list: &[(&'static str, &[&str])]) -> Result<Vec<Vec<String>>, Vec<String>> {
        let owned = nodes(list);
        let borrowed: Vec<(&str, &[String])> =
            owned.iter().map(|(id, n)| (*id, n.as_slice())).collect();
        waves(&borrowed)
    }

    #[test]
    fn waves_keep_file_order_and_ignore_unknown_needs() {
        let w = order(&[
            ("c", &["a"]),
            ("a", &[]),
            ("b", &["nope"]),
            ("d", &["c", "b"]),
        ]);
        assert_eq!(
            w,
            Ok(vec![
                vec!["a".into(), "b".into()],
                vec!["c".into()],
                vec!["d".into()]
            ])
        );
    }

    #[test]
    fn a_cycle_is_given_in_run_order_with_its_first_repeated() {
        // c needs b, a needs c, b needs a: b runs before c, c before a.
        let w = order(&[("x", &[]), ("a", &["c"]), ("b", &["a"]), ("c", &["b"])]);
        assert_eq!(w, Err(vec!["b".into(), "c".into(), "a".into(), "b".into()]));
    }
}
