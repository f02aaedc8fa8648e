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
}
