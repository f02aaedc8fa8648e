//! JUnit XML: a small model (suites of cases, each passed, failed, errored or
//! skipped) and the one writer, whose output is valid against the JUnit
//! schema Jenkins reads (`tests/fixtures/junit/jenkins-junit.xsd`): no
//! `skipped` count on `<testsuites>`, a `<skipped>` with text only, children
//! in the schema's order, and only characters XML 1.0 can hold.

use std::fmt::Write as _;

/// What became of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Checked, and not true: `<failure>`.
    Failed(Problem),
    /// Could not be checked: `<error>`.
    Errored(Problem),
    /// Not counted (a waived readiness item): `<skipped>` with this text.
    Skipped(String),
}

/// The `message` and `type` attributes and the text of a `<failure>` or `<error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub kind: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub outcome: Outcome,
    /// Shown as the case's `<system-out>`, when not empty.
    pub output: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    /// RFC 3339, when known.
    pub timestamp: Option<String>,
    /// `<property name value>` pairs.
    pub properties: Vec<(String, String)>,
    pub cases: Vec<Case>,
    /// The suite's `<system-out>`, when not empty.
    pub output: String,
}

impl Suite {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }

    fn failures(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    fn errors(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Errored(_)))
    }

    fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }
}

/// The whole document: `<testsuites name=...>` holding `suites`.
pub fn render(name: &str, suites: &[Suite]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        escape(name),
        total(|s| s.cases.len()),
        total(Suite::failures),
        total(Suite::errors),
    );
    for suite in suites {
        suite_xml(&mut out, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite_xml(out: &mut String, suite: &Suite) {
    let _ = write!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
        escape(&suite.name),
        suite.cases.len(),
        suite.failures(),
        suite.errors(),
        suite.skipped(),
    );
    if let Some(at) = &suite.timestamp {
        let _ = write!(out, " timestamp=\"{}\"", escape(at));
    }
    out.push_str(">\n");
    if !suite.properties.is_empty() {
        out.push_str("    <properties>\n");
        for (name, value) in &suite.properties {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                escape(name),
                escape(value)
            );
        }
        out.push_str("    </properties>\n");
    }
    for case in &suite.cases {
        case_xml(out, case);
    }
    if !suite.output.is_empty() {
        let _ = writeln!(
            out,
            "    <system-out>{}</system-out>",
            escape(&suite.output)
        );
    }
    out.push_str("  </testsuite>\n");
}

fn case_xml(out: &mut String, case: &Case) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\"",
        escape(&case.name),
        escape(&case.classname)
    );
    if case.outcome == Outcome::Passed && case.output.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    match &case.outcome {
        Outcome::Passed => {}
        Outcome::Skipped(why) => {
            let _ = writeln!(out, "      <skipped>{}</skipped>", escape(why));
        }
        Outcome::Failed(p) => problem_xml(out, "failure", p),
        Outcome::Errored(p) => problem_xml(out, "error", p),
    }
    if !case.output.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&case.output)
        );
    }
    out.push_str("    </testcase>\n");
}

fn problem_xml(out: &mut String, tag: &str, p: &Problem) {
    let _ = writeln!(
        out,
        "      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>",
        escape(&p.message),
        escape(&p.kind),
        escape(&p.body)
    );
}

/// Escape text for XML content and attribute values; characters XML 1.0
/// cannot hold at all (most control characters) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#10;"
        );
    }

    fn case(name: &str, outcome: Outcome) -> Case {
        Case {
            name: name.into(),
            classname: "c".into(),
            outcome,
            output: String::new(),
        }
    }

    #[test]
    fn counts_and_the_shape_jenkins_reads() {
        let problem = Problem {
            message: "m".into(),
            kind: "blocker".into(),
            body: "b".into(),
        };
        let suite = Suite {
            name: "s".into(),
            timestamp: Some("2026-01-01T00:00:00Z".into()),
            properties: vec![("path".into(), "p".into())],
            cases: vec![
                case("ok", Outcome::Passed),
                case("bad", Outcome::Failed(problem.clone())),
                case("broken", Outcome::Errored(problem)),
                case("waived", Outcome::Skipped("why".into())),
            ],
            output: String::new(),
        };
        let xml = render("all", &[suite]);
        assert!(
            xml.contains(r#"<testsuites name="all" tests="4" failures="1" errors="1">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"tests="4" failures="1" errors="1" skipped="1" timestamp="#),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"ok\" classname=\"c\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<skipped>why</skipped>"), "{xml}");
        assert!(
            xml.contains(r#"<error message="m" type="blocker">b</error>"#),
            "{xml}"
        );
    }
}
