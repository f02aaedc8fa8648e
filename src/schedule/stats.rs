//! Summaries of measured durations: the median of a step's rehearsals.

/// The median of `values` (the mean of the two middle ones for an even
/// count, rounded down); `None` when there are none.
pub fn median(values: &[u64]) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(u64::midpoint(v[n / 2 - 1], v[n / 2])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[10, 2, 4, 8]), Some(6));
        assert_eq!(median(&[1, 2]), Some(1));
        assert_eq!(median(&[u64::MAX, u64::MAX]), Some(u64::MAX));
    }
}
