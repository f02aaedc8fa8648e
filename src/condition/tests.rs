//! The condition language: parsing, canonical text, judging; print-then-parse
//! as a property.

use super::parse::REDUCTIONS;
use super::*;

#[test]
fn parses_the_forms_of_the_design() {
    let c = Condition::parse("< 0.300").unwrap();
    assert_eq!(c.reduction, Reduction::All);
    assert_eq!(
        c.predicate,
        Predicate::Compare {
            op: CmpOp::Lt,
            rhs: Operand::Number(0.3)
        }
    );
    let c = Condition::parse("max >= -1.5e3").unwrap();
    assert_eq!(c.reduction, Reduction::Max);
    assert_eq!(
        c.predicate,
        Predicate::Compare {
            op: CmpOp::Ge,
            rhs: Operand::Number(-1500.0)
        }
    );
    let c = Condition::parse("between 0.1 and 0.3").unwrap();
    assert_eq!(
        c.predicate,
        Predicate::Between {
            low: Operand::Number(0.1),
            high: Operand::Number(0.3)
        }
    );
    let c = Condition::parse("<= baseline + 10%").unwrap();
    assert_eq!(
        c.predicate,
        Predicate::Compare {
            op: CmpOp::Le,
            rhs: Operand::Baseline(Some(Adjust::AddPercent(10.0)))
        }
    );
    assert!(c.uses_baseline());
    let c = Condition::parse(">= baseline * 0.9").unwrap();
    assert_eq!(
        c.predicate,
        Predicate::Compare {
            op: CmpOp::Ge,
            rhs: Operand::Baseline(Some(Adjust::Mul(0.9)))
        }
    );
    let c = Condition::parse("any != 0").unwrap();
    assert_eq!(c.reduction, Reduction::Any);
}

#[test]
fn errors_point_at_the_offending_token() {
    let e = Condition::parse("< 0.3 extra").unwrap_err();
    assert_eq!((e.offset, e.len), (6, 5));
    assert!(e.message.contains("expected the end"), "{}", e.message);
    let e = Condition::parse("maxx < 3").unwrap_err();
    assert_eq!((e.offset, e.len), (0, 4));
    assert!(e.message.contains("did you mean `max`"), "{}", e.message);
    let e = Condition::parse("=< 3").unwrap_err();
    assert_eq!(e.offset, 0);
    let e = Condition::parse("between 1 3").unwrap_err();
    assert_eq!((e.offset, e.len), (10, 1));
    let e = Condition::parse("between 5 and 1").unwrap_err();
    assert!(e.message.contains("empty range"));
    let e = Condition::parse("< ").unwrap_err();
    assert!(e.message.contains("found the end"));
    assert!(Condition::parse("").is_err());
    assert!(Condition::parse("< 1.2.3").is_err());
    assert!(Condition::parse("< NaN").is_err());
}

#[test]
fn prints_the_canonical_text() {
    for (text, canonical) in [
        ("< 0.300", "< 0.3"),
        ("all<1", "< 1"),
        ("max >= -1.5e3", "max >= -1500"),
        ("any != 0", "any != 0"),
        ("between 0.1 and 0.3", "between 0.1 and 0.3"),
        ("<= baseline+10%", "<= baseline + 10%"),
        (">= baseline - 5 %", ">= baseline - 5%"),
        ("> baseline * 0.9", "> baseline * 0.9"),
        ("== baseline", "== baseline"),
        ("< baseline + -5", "< baseline + -5"),
        ("< inf", "< inf"),
        ("> -1e400", "> -1e999"),
        ("< baseline * 1e400", "< baseline * 1e999"),
        ("< 1_000_000", "< 1e6"),
        ("< 0.0000001", "< 1e-7"),
        ("< 123456.5", "< 123456.5"),
        ("sum < 1e300", "sum < 1e300"),
    ] {
        let c = Condition::parse(text).unwrap();
        assert_eq!(c.to_string(), canonical, "{text}");
        assert_eq!(Condition::parse(canonical).unwrap(), c, "{text}");
    }
}

/// Fragments of the condition language, and some that are not, so that
/// random texts often come close to valid ones.
fn fragment() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    const TOKENS: &[&str] = &[
        "<", ">", "<=", ">=", "==", "!=", "=", "!", "between", "and", "baseline", "+", "-", "*",
        "%", "all", "any", "max", "min", "avg", "sum", "inf", "-inf", "NaN", "1e", "e", ".", "-.",
        "_", "1_0", "0x10", " ", "\t", "\n", "é", "🙂", "\u{0}", "\u{202e}",
    ];
    prop_oneof![
        4 => proptest::sample::select(TOKENS).prop_map(str::to_string),
        2 => any::<f64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|n| format!("{n:e}")),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\\PC{0,4}",
    ]
}

// Boxed: the nested strategies' unboxed value trees overflow a test
// thread's stack in a debug build.
fn number() -> proptest::strategy::BoxedStrategy<f64> {
    use proptest::prelude::*;
    prop_oneof![
        any::<f64>().prop_filter("the language has no NaN", |n| !n.is_nan()),
        (-1000i32..1000).prop_map(f64::from),
        (-1000i32..1000).prop_map(|n| f64::from(n) / 10.0),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
    .boxed()
}

fn operand() -> proptest::strategy::BoxedStrategy<Operand> {
    use proptest::prelude::*;
    let adjust = prop_oneof![
        number().prop_map(Adjust::AddPercent),
        number().prop_map(Adjust::SubPercent),
        number().prop_map(Adjust::Add),
        number().prop_map(Adjust::Sub),
        number().prop_map(Adjust::Mul),
    ];
    prop_oneof![
        number().prop_map(Operand::Number),
        proptest::option::of(adjust).prop_map(Operand::Baseline),
    ]
    .boxed()
}

/// Every condition the parser can return (a `between` of two numbers
/// is not an empty range).
fn condition() -> proptest::strategy::BoxedStrategy<Condition> {
    use proptest::prelude::*;
    let reduction =
        proptest::sample::select(REDUCTIONS.iter().map(|(_, r)| *r).collect::<Vec<_>>());
    let op = proptest::sample::select(vec![
        CmpOp::Lt,
        CmpOp::Gt,
        CmpOp::Le,
        CmpOp::Ge,
        CmpOp::Eq,
        CmpOp::Ne,
    ]);
    let predicate = prop_oneof![
        (op, operand()).prop_map(|(op, rhs)| Predicate::Compare { op, rhs }),
        (operand(), operand()).prop_map(|(a, b)| match (a, b) {
            (Operand::Number(x), Operand::Number(y)) if x > y =>
                Predicate::Between { low: b, high: a },
            _ => Predicate::Between { low: a, high: b },
        }),
    ];
    (reduction, predicate)
        .prop_map(|(reduction, predicate)| Condition {
            reduction,
            predicate,
        })
        .boxed()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Any text: a condition or an error pointing inside the text, never
    /// a panic; what parses prints to a text that parses the same.
    #[test]
    fn parse_never_panics_and_what_parses_round_trips(
        parts in proptest::collection::vec(fragment(), 0..8),
        spaces in proptest::collection::vec(proptest::bool::ANY, 8),
    ) {
        let text: String = parts
            .iter()
            .zip(&spaces)
            .map(|(p, space)| if *space { format!("{p} ") } else { p.clone() })
            .collect();
        match Condition::parse(&text) {
            Ok(c) => {
                let printed = c.to_string();
                proptest::prop_assert_eq!(Condition::parse(&printed), Ok(c), "{}", printed);
            }
            Err(e) => {
                proptest::prop_assert!(e.offset + e.len <= text.len(), "{:?} in {:?}", e, text);
                proptest::prop_assert!(text.is_char_boundary(e.offset), "{:?} in {:?}", e, text);
                proptest::prop_assert!(text.is_char_boundary(e.offset + e.len), "{:?} in {:?}", e, text);
                proptest::prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,40}") {
        let _ = Condition::parse(&text);
    }

    /// Every condition prints to a text that parses back to it, and
    /// printing that again gives the same text (`-0` stays `-0`).
    #[test]
    fn print_then_parse_gives_the_same_condition(c in condition()) {
        let printed = c.to_string();
        let parsed = Condition::parse(&printed);
        proptest::prop_assert_eq!(parsed.clone(), Ok(c), "{}", printed);
        proptest::prop_assert_eq!(parsed.unwrap().to_string(), printed);
    }
}

fn judge(cond: &str, values: &[f64]) -> Outcome {
    Condition::parse(cond)
        .unwrap()
        .evaluate(values, None)
        .outcome
}

fn judge_b(cond: &str, values: &[f64], baseline: Option<f64>) -> Outcome {
    Condition::parse(cond)
        .unwrap()
        .evaluate(values, baseline)
        .outcome
}

const INF: f64 = f64::INFINITY;

#[test]
fn every_comparison_operator() {
    let cases: &[(&str, f64, bool)] = &[
        ("< 1", 0.5, true),
        ("< 1", 1.0, false),
        ("< 1", 2.0, false),
        ("<= 1", 1.0, true),
        ("<= 1", 1.5, false),
        ("> 1", 1.5, true),
        ("> 1", 1.0, false),
        (">= 1", 1.0, true),
        (">= 1", 0.9, false),
        ("== 1", 1.0, true),
        ("== 1", 1.1, false),
        ("!= 1", 1.1, true),
        ("!= 1", 1.0, false),
        ("between 1 and 2", 1.0, true),
        ("between 1 and 2", 1.5, true),
        ("between 1 and 2", 2.0, true),
        ("between 1 and 2", 0.99, false),
        ("between 1 and 2", 2.01, false),
        ("< -1", -2.0, true),
    ];
    for (cond, v, pass) in cases {
        let want = if *pass { Outcome::Pass } else { Outcome::Fail };
        assert_eq!(judge(cond, &[*v]), want, "{cond} on {v}");
    }
}

#[test]
fn nan_is_inconclusive_for_every_operator_and_reduction() {
    for cond in [
        "< 1",
        "> 1",
        "<= 1",
        ">= 1",
        "== 1",
        "!= 1",
        "between 0 and 1",
        "any < 1",
        "max < 1",
        "min < 1",
        "avg < 1",
        "sum < 1",
        "!= baseline",
    ] {
        let j = Condition::parse(cond)
            .unwrap()
            .evaluate(&[f64::NAN], Some(1.0));
        assert!(
            matches!(j.outcome, Outcome::Inconclusive(_)),
            "{cond}: {j:?}"
        );
        let j = Condition::parse(cond)
            .unwrap()
            .evaluate(&[0.5, f64::NAN], Some(1.0));
        match j.outcome {
            Outcome::Inconclusive(reason) => {
                assert!(reason.contains("series 2 of 2"), "{reason}");
            }
            other => panic!("{cond}: {other:?}"),
        }
    }
}

#[test]
fn infinities_compare_as_numbers() {
    assert_eq!(judge("< 1", &[INF]), Outcome::Fail);
    assert_eq!(judge("> 1", &[INF]), Outcome::Pass);
    assert_eq!(judge("< 1", &[-INF]), Outcome::Pass);
    assert_eq!(judge("== inf", &[INF]), Outcome::Pass);
    assert_eq!(judge("< inf", &[INF]), Outcome::Fail);
    assert_eq!(judge("<= inf", &[INF]), Outcome::Pass);
    assert_eq!(judge("between 0 and 10", &[INF]), Outcome::Fail);
    assert_eq!(judge("max > 5", &[1.0, INF]), Outcome::Pass);
    assert_eq!(judge("sum < 5", &[1.0, INF]), Outcome::Fail);
    // +Inf + -Inf has no value.
    assert!(matches!(
        judge("sum < 5", &[INF, -INF]),
        Outcome::Inconclusive(_)
    ));
    assert!(matches!(
        judge("avg < 5", &[INF, -INF]),
        Outcome::Inconclusive(_)
    ));
    assert_eq!(judge("min < 5", &[INF, -INF]), Outcome::Pass);
}

#[test]
fn empty_results_are_no_data_never_pass() {
    for cond in [
        "< 1",
        "any < 1",
        "max < 1",
        "min < 1",
        "avg < 1",
        "sum < 1",
        "between 0 and 1",
    ] {
        let j = Condition::parse(cond).unwrap().evaluate(&[], Some(1.0));
        assert_eq!(j.outcome, Outcome::NoData, "{cond}");
        assert_eq!(j.value, None);
    }
}

#[test]
fn reductions_over_one_and_many_series() {
    let many = [1.0, 5.0, 3.0];
    assert_eq!(judge("< 6", &many), Outcome::Pass);
    assert_eq!(judge("< 4", &many), Outcome::Fail);
    assert_eq!(judge("all < 4", &many), Outcome::Fail);
    assert_eq!(judge("any > 4", &many), Outcome::Pass);
    assert_eq!(judge("any > 5", &many), Outcome::Fail);
    assert_eq!(judge("max <= 5", &many), Outcome::Pass);
    assert_eq!(judge("max < 5", &many), Outcome::Fail);
    assert_eq!(judge("min >= 1", &many), Outcome::Pass);
    assert_eq!(judge("min > 1", &many), Outcome::Fail);
    assert_eq!(judge("avg == 3", &many), Outcome::Pass);
    assert_eq!(judge("avg > 3", &many), Outcome::Fail);
    assert_eq!(judge("sum == 9", &many), Outcome::Pass);
    assert_eq!(judge("sum < 9", &many), Outcome::Fail);
    // One series: every reduction is that series.
    for r in ["all", "any", "max", "min", "avg", "sum"] {
        assert_eq!(judge(&format!("{r} == 2"), &[2.0]), Outcome::Pass, "{r}");
        assert_eq!(judge(&format!("{r} != 2"), &[2.0]), Outcome::Fail, "{r}");
    }
}

#[test]
fn the_judged_value_is_recorded() {
    let c = Condition::parse("max < 10").unwrap();
    assert_eq!(c.evaluate(&[1.0, 4.0], None).value, Some(4.0));
    let c = Condition::parse("< 3").unwrap();
    assert_eq!(c.evaluate(&[1.0, 4.0, 5.0], None).value, Some(4.0));
    let c = Condition::parse("any > 3").unwrap();
    assert_eq!(c.evaluate(&[1.0, 4.0, 5.0], None).value, Some(4.0));
    let c = Condition::parse("avg < 3").unwrap();
    assert_eq!(c.evaluate(&[1.0, 2.0], None).value, Some(1.5));
}

#[test]
fn baseline_relative_conditions() {
    assert_eq!(
        judge_b("<= baseline + 10%", &[110.0], Some(100.0)),
        Outcome::Pass
    );
    assert_eq!(
        judge_b("<= baseline + 10%", &[110.1], Some(100.0)),
        Outcome::Fail
    );
    assert_eq!(
        judge_b(">= baseline - 10%", &[90.0], Some(100.0)),
        Outcome::Pass
    );
    assert_eq!(
        judge_b(">= baseline - 10%", &[89.0], Some(100.0)),
        Outcome::Fail
    );
    // Percentages are of the magnitude: +10% of -100 is -90.
    assert_eq!(
        judge_b("<= baseline + 10%", &[-90.0], Some(-100.0)),
        Outcome::Pass
    );
    assert_eq!(
        judge_b("<= baseline + 10%", &[-89.0], Some(-100.0)),
        Outcome::Fail
    );
    assert_eq!(
        judge_b(">= baseline * 0.9", &[0.9], Some(1.0)),
        Outcome::Pass
    );
    assert_eq!(
        judge_b(">= baseline * 0.9", &[0.8], Some(1.0)),
        Outcome::Fail
    );
    assert_eq!(
        judge_b("< baseline + 5", &[14.0], Some(10.0)),
        Outcome::Pass
    );
    assert_eq!(judge_b("> baseline - 5", &[4.0], Some(10.0)), Outcome::Fail);
    assert_eq!(judge_b("== baseline", &[3.0], Some(3.0)), Outcome::Pass);
    assert_eq!(
        judge_b("between baseline - 1 and baseline + 1", &[10.5], Some(10.0)),
        Outcome::Pass
    );
    assert_eq!(
        judge_b("between baseline - 1 and baseline + 1", &[11.5], Some(10.0)),
        Outcome::Fail
    );
    assert_eq!(
        judge_b("max <= baseline", &[1.0, 2.0], Some(2.0)),
        Outcome::Pass
    );
    // An infinite baseline compares as a number.
    assert_eq!(judge_b("< baseline", &[1e300], Some(INF)), Outcome::Pass);
}

#[test]
fn a_missing_or_nan_baseline_is_inconclusive_with_a_reason() {
    for baseline in [None, Some(f64::NAN)] {
        match judge_b("<= baseline + 10%", &[1.0], baseline) {
            Outcome::Inconclusive(reason) => assert!(reason.contains("baseline"), "{reason}"),
            other => panic!("{baseline:?}: {other:?}"),
        }
    }
    // Inf * 0 is NaN.
    assert!(matches!(
        judge_b("< baseline * 0", &[1.0], Some(INF)),
        Outcome::Inconclusive(_)
    ));
    // A condition without a baseline does not need one.
    assert_eq!(judge_b("< 2", &[1.0], None), Outcome::Pass);
}
