//! Measured numbers as people read them. `short` for reading at a glance
//! (the report, the timeline, the terminal's gate lines): four decimals at
//! most. `exact` where the number is the answer being checked (`cutover
//! query`, a readiness item's value): every digit the value has. Both write
//! `NaN`, `+Inf` and `-Inf` as Prometheus does.

/// `0.0213`, `1200`, `1.200e-5`, `NaN`, `+Inf`: four decimals at most,
/// whole numbers without a point, tiny ones in exponent form.
pub fn short(v: f64) -> String {
    if let Some(special) = special(v) {
        return special.into();
    }
    if (v - v.trunc()).abs() < f64::EPSILON && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "0" || s == "-0" {
        format!("{v:.3e}")
    } else {
        s.to_string()
    }
}

/// `3`, `0.02134`, `NaN`, `+Inf`: the shortest text that reads back as the
/// same number.
pub fn exact(v: f64) -> String {
    special(v).map_or_else(|| v.to_string(), str::to_string)
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_read_at_a_glance() {
        assert_eq!(short(1.0), "1");
        assert_eq!(short(1200.0), "1200");
        assert_eq!(short(0.021_34), "0.0213");
        assert_eq!(short(f64::NAN), "NaN");
        assert_eq!(short(f64::INFINITY), "+Inf");
        assert_eq!(short(f64::NEG_INFINITY), "-Inf");
        assert_eq!(short(0.000_012), "1.200e-5");
    }

    #[test]
    fn exact_values_keep_every_digit() {
        assert_eq!(exact(3.0), "3");
        assert_eq!(exact(0.0004), "0.0004");
        assert_eq!(exact(0.021_34), "0.02134");
        assert_eq!(exact(1e20), "100000000000000000000");
        assert_eq!(exact(f64::NAN), "NaN");
        assert_eq!(exact(f64::INFINITY), "+Inf");
        assert_eq!(exact(f64::NEG_INFINITY), "-Inf");
    }
}
