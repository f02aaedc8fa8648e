//! The change window and freeze periods: whether a run that starts at a
//! time and is planned to take so long may start. Pure; the words are
//! `describe`'s.

/// A freeze period: no change from `start` to `end` (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: i64,
    pub end: i64,
    pub reason: String,
}

/// Why a run may not start then, each a fact the operator is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It would start inside a freeze period.
    StartsInFreeze(Period),
    /// Its planned end (`planned_end`) reaches into a freeze period.
    RunsIntoFreeze { period: Period, planned_end: i64 },
    /// The change window opens later.
    BeforeWindow { opens: i64 },
    /// The change window closed already.
    AfterWindow { closed: i64 },
    /// Its planned end falls past the window's end, by `by_ms`.
    Overrun {
        window_end: i64,
        planned_end: i64,
        by_ms: u64,
    },
}

/// What stops a run that starts at `start` and is planned to take
/// `planned_ms`, given the change `window` (start, end) and the `freeze`
/// periods. Empty: it may start.
pub fn check(
    start: i64,
    planned_ms: u64,
    window: Option<(i64, i64)>,
    freeze: &[Period],
) -> Vec<Refusal> {
    let planned_end = start.saturating_add(i64::try_from(planned_ms).unwrap_or(i64::MAX / 4));
    let mut out = Vec::new();
    for p in freeze {
        if start >= p.start && start < p.end {
            out.push(Refusal::StartsInFreeze(p.clone()));
        } else if start < p.start && planned_end > p.start {
            out.push(Refusal::RunsIntoFreeze {
                period: p.clone(),
                planned_end,
            });
        }
    }
    if let Some((opens, closes)) = window {
        if start < opens {
            out.push(Refusal::BeforeWindow { opens });
        } else if start >= closes {
            out.push(Refusal::AfterWindow { closed: closes });
        } else if planned_end > closes {
            out.push(Refusal::Overrun {
                window_end: closes,
                planned_end,
                by_ms: u64::try_from(planned_end - closes).unwrap_or(0),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freeze(start: i64, end: i64) -> Period {
        Period {
            start,
            end,
            reason: "year end".into(),
        }
    }

    #[test]
    fn inside_the_window_and_clear_of_freezes_may_start() {
        assert!(check(100, 50, Some((100, 200)), &[freeze(300, 400)]).is_empty());
        assert!(
            check(100, 100, Some((0, 200)), &[]).is_empty(),
            "ends at the end"
        );
        assert!(check(5, 1000, None, &[]).is_empty());
        assert!(
            check(400, 10, None, &[freeze(300, 400)]).is_empty(),
            "ends are open"
        );
    }

    #[test]
    fn freezes_refuse_a_start_inside_and_a_run_into_them() {
        assert_eq!(
            check(350, 10, None, &[freeze(300, 400)]),
            [Refusal::StartsInFreeze(freeze(300, 400))]
        );
        assert_eq!(
            check(250, 100, None, &[freeze(300, 400)]),
            [Refusal::RunsIntoFreeze {
                period: freeze(300, 400),
                planned_end: 350
            }]
        );
    }

    #[test]
    fn the_window_refuses_early_late_and_overrunning_starts() {
        let w = Some((100, 200));
        assert_eq!(
            check(50, 10, w, &[]),
            [Refusal::BeforeWindow { opens: 100 }]
        );
        assert_eq!(
            check(200, 0, w, &[]),
            [Refusal::AfterWindow { closed: 200 }]
        );
        assert_eq!(
            check(150, 80, w, &[]),
            [Refusal::Overrun {
                window_end: 200,
                planned_end: 230,
                by_ms: 30
            }]
        );
    }
}
