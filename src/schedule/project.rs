//! Projecting a run on the time axis: when each step starts and ends if it
//! takes its planned time, given what already happened. The rule is the
//! engine's own (runbook order, a step starts once everything it needs is
//! over, at most `max_parallel` at once), so a plan's offsets and a run's
//! projected end are what the engine would do. A step with no planned
//! duration counts as taking no time.
//!
//! Times are milliseconds on one axis: offsets from 0 for a plan, epoch
//! milliseconds for a run in progress.

/// A step as the projection sees it.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub id: &'a str,
    pub needs: &'a [String],
    /// How long it is planned to take; `None`: not known (counted as 0).
    pub planned_ms: Option<u64>,
}

/// What is known about a step so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not started: it starts when it may.
    Pending,
    /// Started at `since` and not over: it ends at `since + planned`, and
    /// not before `now` (the projection's start).
    InFlight { since: i64 },
    /// Over at `at` (done, skipped, or failed and let through).
    Over { at: i64 },
    /// Failed or stopped where the run cannot go on by itself: nothing
    /// that needs it can be projected.
    Blocked,
}

/// When a step starts and ends on the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
}

/// The projection of every step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    /// Per step, in the order given; `None` for a step that cannot be
    /// projected (it waits on a blocked step).
    pub slots: Vec<Option<Slot>>,
    /// When the last step ends; `None` when some step cannot be projected.
    pub end: Option<i64>,
    /// The chain of steps that decides the end, first step first: each
    /// started when the one before it ended (its need, or the step that
    /// freed a place when `max_parallel` was reached).
    pub critical: Vec<usize>,
}

/// Project `nodes` (runbook order) from `now`, given what is `known` of
/// each, with at most `max_parallel` steps in flight.
pub fn project(nodes: &[Node<'_>], known: &[Known], max_parallel: usize, now: i64) -> Projection {
    let n = nodes.len();
    let index: std::collections::HashMap<&str, usize> =
        nodes.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let needs: Vec<Vec<usize>> = nodes
        .iter()
        .map(|s| {
            s.needs
                .iter()
                .filter_map(|x| index.get(x.as_str()).copied())
                .collect()
        })
        .collect();
    let planned =
        |i: usize| i64::try_from(nodes[i].planned_ms.unwrap_or(0)).unwrap_or(i64::MAX / 4);
    let mut slots: Vec<Option<Slot>> = vec![None; n];
    let mut via: Vec<Option<usize>> = vec![None; n];
    let mut pending = Vec::new();
    let mut running: Vec<usize> = Vec::new();
    let mut blocked = vec![false; n];
    for i in 0..n {
        match known.get(i).copied().unwrap_or(Known::Pending) {
            Known::Pending => pending.push(i),
            Known::InFlight { since } => {
                let end = (since.saturating_add(planned(i))).max(now);
                slots[i] = Some(Slot { start: since, end });
                running.push(i);
            }
            Known::Over { at } => slots[i] = Some(Slot { start: at, end: at }),
            Known::Blocked => blocked[i] = true,
        }
    }
    let room = max_parallel.max(1);
    let mut t = now;
    // The step whose end last freed a place in flight.
    let mut freed_by: Option<usize> = None;
    loop {
        let mut started = Vec::new();
        for &i in &pending {
            if running.len() >= room {
                break;
            }
            let ready = needs[i]
                .iter()
                .all(|&x| slots[x].is_some_and(|s| s.end <= t) && !running.contains(&x));
            if !ready || needs[i].iter().any(|&x| blocked[x]) {
                continue;
            }
            slots[i] = Some(Slot {
                start: t,
                end: t.saturating_add(planned(i)),
            });
            via[i] = needs[i]
                .iter()
                .copied()
                .max_by_key(|&x| (slots[x].map_or(i64::MIN, |s| s.end), std::cmp::Reverse(x)))
                .filter(|&x| slots[x].is_some_and(|s| s.end == t))
                .or(freed_by.filter(|&f| slots[f].is_some_and(|s| s.end == t)));
            running.push(i);
            started.push(i);
        }
        pending.retain(|i| !started.contains(i));
        // Steps of no duration end where they start: settle them first.
        let Some(next) = running
            .iter()
            .filter_map(|&i| slots[i])
            .map(|s| s.end)
            .min()
        else {
            break;
        };
        let ended: Vec<usize> = running
            .iter()
            .copied()
            .filter(|&i| slots[i].is_some_and(|s| s.end <= next))
            .collect();
        running.retain(|i| !ended.contains(i));
        freed_by = ended.last().copied();
        t = t.max(next);
    }
    let end = if pending.is_empty() && slots.iter().all(Option::is_some) {
        slots.iter().flatten().map(|s| s.end).max().or(Some(now))
    } else {
        None
    };
    Projection {
        critical: critical(&slots, &via),
        slots,
        end,
    }
}

/// From the step that ends last (the later one on a tie), back along the
/// steps that decided each start.
fn critical(slots: &[Option<Slot>], via: &[Option<usize>]) -> Vec<usize> {
    let mut last: Option<(i64, usize)> = None;
    for (i, s) in slots.iter().enumerate() {
        if let Some(s) = s
            && last.is_none_or(|(e, _)| s.end >= e)
        {
            last = Some((s.end, i));
        }
    }
    let mut path = Vec::new();
    let mut at = last.map(|(_, i)| i);
    while let Some(i) = at {
        if path.contains(&i) {
            break;
        }
        path.push(i);
        at = via[i];
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes<'a>(spec: &'a [(&'a str, Vec<String>, Option<u64>)]) -> Vec<Node<'a>> {
        spec.iter()
            .map(|(id, needs, p)| Node {
                id,
                needs,
                planned_ms: *p,
            })
            .collect()
    }

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| (*s).to_string()).collect()
    }

    fn ids<'a>(n: &[Node<'a>], path: &[usize]) -> Vec<&'a str> {
        path.iter().map(|&i| n[i].id).collect()
    }

    #[test]
    fn a_plan_follows_needs_and_finds_the_longest_chain() {
        // a(5) -> b(10) -> d(1); a -> c(3) -> d
        let spec = [
            ("a", v(&[]), Some(5)),
            ("b", v(&["a"]), Some(10)),
            ("c", v(&["a"]), Some(3)),
            ("d", v(&["b", "c"]), Some(1)),
        ];
        let n = nodes(&spec);
        let p = project(&n, &[Known::Pending; 4], 4, 0);
        assert_eq!(p.slots[1], Some(Slot { start: 5, end: 15 }));
        assert_eq!(p.slots[2], Some(Slot { start: 5, end: 8 }));
        assert_eq!(p.slots[3], Some(Slot { start: 15, end: 16 }));
        assert_eq!(p.end, Some(16));
        assert_eq!(ids(&n, &p.critical), ["a", "b", "d"]);
    }

    #[test]
    fn max_parallel_queues_steps_as_the_engine_does() {
        let spec = [
            ("a", v(&[]), Some(5)),
            ("b", v(&[]), Some(10)),
            ("c", v(&[]), Some(3)),
        ];
        let n = nodes(&spec);
        let one = project(&n, &[Known::Pending; 3], 1, 0);
        assert_eq!(one.end, Some(18));
        assert_eq!(one.slots[2], Some(Slot { start: 15, end: 18 }));
        assert_eq!(ids(&n, &one.critical), ["a", "b", "c"]);
        let two = project(&n, &[Known::Pending; 3], 2, 0);
        // c takes a's place when a ends at 5.
        assert_eq!(two.slots[2], Some(Slot { start: 5, end: 8 }));
        assert_eq!(two.end, Some(10));
        assert_eq!(ids(&n, &two.critical), ["b"]);
    }

    #[test]
    fn unknown_durations_count_as_nothing() {
        let spec = [("a", v(&[]), None), ("b", v(&["a"]), Some(7))];
        let n = nodes(&spec);
        let p = project(&n, &[Known::Pending; 2], 1, 100);
        assert_eq!(
            p.slots[1],
            Some(Slot {
                start: 100,
                end: 107
            })
        );
        assert_eq!(p.end, Some(107));
    }

    #[test]
    fn a_run_in_progress_is_projected_from_now() {
        let spec = [
            ("a", v(&[]), Some(10)),
            ("b", v(&["a"]), Some(10)),
            ("c", v(&["b"]), Some(10)),
        ];
        let n = nodes(&spec);
        // a ended at 12 (2 late), b started at 12 and has run 5 of 10.
        let known = [
            Known::Over { at: 12 },
            Known::InFlight { since: 12 },
            Known::Pending,
        ];
        let p = project(&n, &known, 1, 17);
        assert_eq!(p.slots[1], Some(Slot { start: 12, end: 22 }));
        assert_eq!(p.end, Some(32));
        // b runs over its plan: it ends no earlier than now.
        let late = project(&n, &known, 1, 40);
        assert_eq!(late.slots[1], Some(Slot { start: 12, end: 40 }));
        assert_eq!(late.end, Some(50));
        // Everything over: the end is the last end.
        let over = [
            Known::Over { at: 5 },
            Known::Over { at: 9 },
            Known::Over { at: 30 },
        ];
        assert_eq!(project(&n, &over, 1, 99).end, Some(30));
    }

    #[test]
    fn a_blocked_step_leaves_no_end() {
        let spec = [
            ("a", v(&[]), Some(1)),
            ("b", v(&["a"]), Some(1)),
            ("x", v(&[]), Some(1)),
        ];
        let n = nodes(&spec);
        let p = project(&n, &[Known::Blocked, Known::Pending, Known::Pending], 2, 0);
        assert_eq!(p.end, None);
        assert_eq!(p.slots[1], None);
        assert_eq!(p.slots[2], Some(Slot { start: 0, end: 1 }));
    }

    #[test]
    fn nothing_to_project_ends_now() {
        assert_eq!(project(&[], &[], 1, 7).end, Some(7));
    }
}
