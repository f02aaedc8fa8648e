//! Milestones: named moments of a cutover that the report places on its
//! timeline. Recorded with `cutover mark`, or by the engine when a step that
//! declares `milestone = "..."` is done.

/// Milestones the report understands (impact timeline, time to detect and
/// to mitigate); any other valid name is a free milestone it lists as is.
pub const WELL_KNOWN: &[&str] = &[
    "go-decision",
    "traffic-switched",
    "impact-start",
    "impact-detected",
    "mitigated",
    "impact-end",
    "all-clear",
];

/// A letter, then letters, digits, `-` or `_` (at most 64 characters).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64
}

/// The well-known milestone `name` is probably a typo of: one edit away, or
/// two for a name of the same length (`impact-strat`). A name that merely
/// extends or shortens one (`all-clear-eu`, `impact-started`, `traffic`) is a
/// deliberate free milestone, not a typo.
pub fn near_miss(name: &str) -> Option<&'static str> {
    if WELL_KNOWN.contains(&name) {
        return None;
    }
    WELL_KNOWN
        .iter()
        .copied()
        .filter(|w| !name.starts_with(w) && !w.starts_with(name))
        .map(|w| (strsim::damerau_levenshtein(name, w), w))
        .filter(|(d, w)| *d <= 1 || (*d <= 2 && w.len() == name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestone_names() {
        for ok in WELL_KNOWN.iter().copied().chain(["db_ready", "Phase2"]) {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", "2go", "a b", "a/b", "ü"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn near_misses_are_typos_but_extensions_are_free_names() {
        for (typo, meant) in [
            ("impact-strat", "impact-start"),
            ("go-decison", "go-decision"),
            ("trafic-switched", "traffic-switched"),
            ("mitigatd", "mitigated"),
            ("all_clear", "all-clear"),
        ] {
            assert_eq!(near_miss(typo), Some(meant), "{typo}");
        }
        for free in [
            "all-clear-eu",
            "mitigated-eu",
            "go-decision-2",
            "impact-started",
            "impact-end2",
            "traffic",
            "db-ready",
            "impact-start",
        ] {
            assert_eq!(near_miss(free), None, "{free}");
        }
    }
}
