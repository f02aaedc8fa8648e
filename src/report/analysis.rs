//! The two computations the report's conclusions rest on, as pure functions:
//! the critical path through the step DAG (actual durations over the planned
//! `needs`) and time to detect / time to mitigate.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::model::{CheckKind, Report};
use super::time::Ts;

/// One step as the critical path sees it.
#[derive(Debug, Clone)]
pub struct DagStep {
    pub id: String,
    pub needs: Vec<String>,
    pub duration_ms: u64,
}

/// The longest chain of `needs` by actual duration, first step first, and
/// its length. Unknown needs are ignored; steps on a cycle (which validation
/// forbids, but a journal is external data) are left out rather than looped on.
pub fn critical_path(steps: &[DagStep]) -> (Vec<String>, u64) {
    let index: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let needs: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            s.needs
                .iter()
                .filter_map(|n| index.get(n.as_str()).copied())
                .collect()
        })
        .collect();
    // Kahn's algorithm: a step is finished once all it needs are.
    let mut dependents = vec![Vec::new(); steps.len()];
    let mut missing: Vec<usize> = needs.iter().map(Vec::len).collect();
    for (i, ns) in needs.iter().enumerate() {
        for &n in ns {
            dependents[n].push(i);
        }
    }
    let mut queue: VecDeque<usize> = (0..steps.len()).filter(|&i| missing[i] == 0).collect();
    let mut finish: Vec<Option<u64>> = vec![None; steps.len()];
    let mut via: Vec<Option<usize>> = vec![None; steps.len()];
    while let Some(i) = queue.pop_front() {
        let mut best: Option<(u64, usize)> = None;
        for &n in &needs[i] {
            let f = finish[n].unwrap_or(0);
            // Ties go to the need listed first: stable output.
            if best.is_none_or(|(b, _)| f > b) {
                best = Some((f, n));
            }
        }
        finish[i] = Some(best.map_or(0, |(f, _)| f) + steps[i].duration_ms);
        via[i] = best.map(|(_, n)| n);
        for &d in &dependents[i] {
            missing[d] -= 1;
            if missing[d] == 0 {
                queue.push_back(d);
            }
        }
    }
    // On a tie the later step wins: with equal lengths, the longer chain of
    // steps (e.g. all zero in a dry run) is the more telling path.
    let mut end: Option<(u64, usize)> = None;
    for (i, f) in finish.iter().enumerate() {
        if let Some(f) = *f
            && end.is_none_or(|(b, _)| f >= b)
        {
            end = Some((f, i));
        }
    }
    let Some((total, last)) = end else {
        return (Vec::new(), 0);
    };
    let mut path = vec![steps[last].id.clone()];
    let mut at = last;
    while let Some(prev) = via[at] {
        path.push(steps[prev].id.clone());
        at = prev;
    }
    path.reverse();
    (path, total)
}

/// What time to detect and to mitigate are computed from.
#[derive(Debug, Clone, Default)]
pub struct ImpactInput {
    /// Milestones recorded with `cutover mark` (name, time).
    pub marks: Vec<(String, Ts)>,
    /// The first trigger that fired, when.
    pub trigger_fired: Option<Ts>,
    /// The start of the breaching streak that made it fire.
    pub breach_start: Option<Ts>,
    /// The rollback, if one finished successfully.
    pub rollback_finished: Option<Ts>,
}

/// Time to detect and time to mitigate, each with what it was measured from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Impact {
    pub impact_start: Option<Ts>,
    /// `impact-start mark` or `first breaching measurement`.
    pub start_basis: Option<String>,
    pub detected: Option<Ts>,
    /// `trigger fired` or `impact-detected mark`.
    pub detect_basis: Option<String>,
    pub mitigated: Option<Ts>,
    /// `rollback finished` or `mitigated mark`.
    pub mitigate_basis: Option<String>,
    pub impact_end: Option<Ts>,
    /// Detected minus impact start.
    pub ttd_ms: Option<u64>,
    /// Mitigated minus impact start.
    pub ttm_ms: Option<u64>,
}

fn earliest(
    a: Option<(Ts, &'static str)>,
    b: Option<(Ts, &'static str)>,
) -> Option<(Ts, &'static str)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 < x.0 { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// Impact starts at an `impact-start` mark, else at the first breaching
/// measurement of the trigger that fired. It is detected at the earlier of the
/// trigger firing and an `impact-detected` mark, and mitigated at the earlier
/// of a successful rollback's end and a `mitigated` mark. Without a start there
/// is nothing to measure from, and a time before the start is not counted.
pub fn impact(input: &ImpactInput) -> Impact {
    let mark = |name: &str| {
        input
            .marks
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .min()
    };
    let start = mark("impact-start")
        .map(|t| (t, "impact-start mark"))
        .or(input
            .breach_start
            .map(|t| (t, "first breaching measurement")));
    let detected = earliest(
        input.trigger_fired.map(|t| (t, "trigger fired")),
        mark("impact-detected").map(|t| (t, "impact-detected mark")),
    );
    let mitigated = earliest(
        input.rollback_finished.map(|t| (t, "rollback finished")),
        mark("mitigated").map(|t| (t, "mitigated mark")),
    );
    let since_start = |t: Option<(Ts, &str)>| match (start, t) {
        (Some((s, _)), Some((t, _))) if t >= s => Some(t.since(s)),
        _ => None,
    };
    Impact {
        impact_start: start.map(|s| s.0),
        start_basis: start.map(|s| s.1.to_string()),
        detected: detected.map(|d| d.0),
        detect_basis: detected.map(|d| d.1.to_string()),
        mitigated: mitigated.map(|m| m.0),
        mitigate_basis: mitigated.map(|m| m.1.to_string()),
        impact_end: mark("impact-end").or(mark("all-clear")),
        ttd_ms: since_start(detected),
        ttm_ms: since_start(mitigated),
    }
}

impl ImpactInput {
    pub fn from_report(r: &Report) -> ImpactInput {
        let marks = r
            .milestones
            .iter()
            // What people recorded, by hand or through a step's `milestone`.
            .filter(|m| m.origin == "mark" || m.origin == "step")
            .map(|m| (m.name.clone(), m.at))
            .collect();
        let fired = r
            .checks
            .values()
            .filter(|c| c.kind == CheckKind::Trigger)
            .filter_map(|c| c.fired.as_ref().map(|f| (f.at, c)))
            .min_by_key(|(at, _)| *at);
        let breach_start = fired.and_then(|(at, c)| {
            // The streak of breaching measurements that ended in the fire.
            let mut streak = None;
            for p in c.points.iter().filter(|p| p.ms <= at.ms) {
                if p.breach(CheckKind::Trigger) {
                    streak = streak.or(Some(Ts { ms: p.ms }));
                } else {
                    streak = None;
                }
            }
            streak.or(c.first_breach)
        });
        let rollback_finished = r
            .rollback
            .as_ref()
            .filter(|rb| rb.ok == Some(true))
            .and_then(|rb| rb.finished);
        ImpactInput {
            marks,
            trigger_fired: fired.map(|(at, _)| at),
            breach_start,
            rollback_finished,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, needs: &[&str], ms: u64) -> DagStep {
        DagStep {
            id: id.into(),
            needs: needs.iter().map(|s| (*s).to_string()).collect(),
            duration_ms: ms,
        }
    }

    #[test]
    fn critical_path_takes_the_longest_branch() {
        // a -> {b (10), c (50)} -> d
        let steps = [
            step("a", &[], 5),
            step("b", &["a"], 10),
            step("c", &["a"], 50),
            step("d", &["b", "c"], 7),
        ];
        assert_eq!(
            critical_path(&steps),
            (vec!["a".into(), "c".into(), "d".into()], 62)
        );
    }

    #[test]
    fn critical_path_of_independent_steps_is_the_longest_one() {
        let steps = [step("x", &[], 3), step("y", &[], 9), step("w", &[], 1)];
        assert_eq!(critical_path(&steps), (vec!["y".into()], 9));
        // Zero-length steps (a dry run): the whole chain, not its first step.
        let steps = [step("a", &[], 0), step("b", &["a"], 0)];
        assert_eq!(critical_path(&steps), (vec!["a".into(), "b".into()], 0));
    }

    #[test]
    fn critical_path_survives_cycles_unknown_needs_and_nothing() {
        assert_eq!(critical_path(&[]), (vec![], 0));
        let steps = [
            step("a", &["ghost"], 4),
            step("b", &["c"], 1),
            step("c", &["b"], 1),
        ];
        assert_eq!(critical_path(&steps), (vec!["a".into()], 4));
    }

    #[test]
    fn critical_path_order_does_not_matter() {
        let steps = [
            step("d", &["c"], 1),
            step("c", &["a"], 2),
            step("a", &[], 3),
        ];
        assert_eq!(
            critical_path(&steps),
            (vec!["a".into(), "c".into(), "d".into()], 6)
        );
    }

    fn ts(ms: i64) -> Ts {
        Ts { ms }
    }

    #[test]
    fn ttd_and_ttm_from_a_trigger_and_a_rollback() {
        let i = impact(&ImpactInput {
            marks: vec![],
            trigger_fired: Some(ts(1_500)),
            breach_start: Some(ts(1_000)),
            rollback_finished: Some(ts(4_000)),
        });
        assert_eq!(i.ttd_ms, Some(500));
        assert_eq!(i.ttm_ms, Some(3_000));
        assert_eq!(
            i.start_basis.as_deref(),
            Some("first breaching measurement")
        );
        assert_eq!(i.detect_basis.as_deref(), Some("trigger fired"));
        assert_eq!(i.mitigate_basis.as_deref(), Some("rollback finished"));
    }

    #[test]
    fn marks_win_when_earlier() {
        let i = impact(&ImpactInput {
            marks: vec![
                ("impact-start".into(), ts(200)),
                ("impact-detected".into(), ts(900)),
                ("mitigated".into(), ts(5_000)),
                ("impact-end".into(), ts(6_000)),
            ],
            trigger_fired: Some(ts(1_500)),
            breach_start: Some(ts(1_000)),
            rollback_finished: Some(ts(5_200)),
        });
        assert_eq!(i.impact_start, Some(ts(200)));
        assert_eq!(i.ttd_ms, Some(700));
        assert_eq!(i.detect_basis.as_deref(), Some("impact-detected mark"));
        assert_eq!(i.ttm_ms, Some(4_800));
        assert_eq!(i.mitigate_basis.as_deref(), Some("mitigated mark"));
        assert_eq!(i.impact_end, Some(ts(6_000)));
    }

    #[test]
    fn nothing_to_measure_without_a_start() {
        let i = impact(&ImpactInput {
            rollback_finished: Some(ts(10)),
            ..ImpactInput::default()
        });
        assert_eq!((i.ttd_ms, i.ttm_ms), (None, None));
        assert_eq!(i.mitigated, Some(ts(10)));
        // A mitigation mark before the impact started is not a negative time.
        let i = impact(&ImpactInput {
            marks: vec![
                ("impact-start".into(), ts(100)),
                ("mitigated".into(), ts(50)),
            ],
            ..ImpactInput::default()
        });
        assert_eq!(i.ttm_ms, None);
    }
}
