//! Durations as people read them in the report; timestamps are the
//! journal's [`Ts`].

pub use crate::journal::Ts;

/// `1h 02m 03.4s`, `2.35s`, `120 ms`: durations as people read them.
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let secs = ms as f64 / 1000.0;
    if secs < 60.0 {
        return format!("{secs:.2}s");
    }
    let total = ms / 1000;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else {
        format!("{m}m {s:02}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_ms(120), "120 ms");
        assert_eq!(human_ms(2345), "2.35s");
        assert_eq!(human_ms(125_000), "2m 05s");
        assert_eq!(human_ms(3_723_000), "1h 02m 03s");
    }
}
