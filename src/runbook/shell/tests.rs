//! Every template place: quoted so the value reads back as itself, or refused.

use super::*;
use crate::runbook::template::references;

/// `command` with every template replaced by the quoted `value`.
fn fill(command: &str, value: &str) -> Result<String, String> {
    let refs = references(command).map_err(|e| e.message)?;
    let contexts = contexts(command, &refs).map_err(|e| e.message)?;
    let mut out = String::new();
    let mut last = 0;
    for (r, c) in refs.iter().zip(contexts) {
        out.push_str(&command[last..r.range.start]);
        out.push_str(&quote(value, c));
        last = r.range.end;
    }
    out.push_str(&command[last..]);
    Ok(out)
}

fn sh(script: &str) -> String {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("run /bin/sh");
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn plain_values_print_unchanged() {
    for (command, value, want) in [
        (
            "kubectl -n {{ vars.ns }} scale",
            "payments-eu",
            "kubectl -n payments-eu scale",
        ),
        (
            "deploy --image=repo/app:{{ vars.v }}",
            "1.2.3",
            "deploy --image=repo/app:1.2.3",
        ),
        (
            "echo \"version {{ vars.v }}\"",
            "1.2.3",
            "echo \"version 1.2.3\"",
        ),
        (
            "echo 'version {{ vars.v }}'",
            "1.2.3",
            "echo 'version 1.2.3'",
        ),
        ("run --opt={{ vars.v }}", "a=b,c", "run --opt=a=b,c"),
    ] {
        assert_eq!(fill(command, value).unwrap(), want);
    }
}

#[test]
fn values_that_would_be_syntax_are_quoted() {
    let cases = [
        (
            "echo {{ vars.v }}",
            "x; touch PWNED",
            "echo 'x; touch PWNED'",
        ),
        ("echo {{ vars.v }}", "it's", r"echo 'it'\''s'"),
        ("echo {{ vars.v }}", "", "echo ''"),
        ("echo {{ vars.v }}", "*", "echo '*'"),
        ("{{ vars.v }} x", "A=1", "'A=1' x"),
        ("{{ vars.v }} x", "if", "'if' x"),
        ("echo A{{ vars.v }}", "=1", "echo A'=1'"),
        ("echo {a{{ vars.v }}}", "1,2", "echo {a'1,2'}"),
        (
            "echo \"a {{ vars.v }} b\"",
            "$(id) `id` \"\\",
            r#"echo "a \$(id) \`id\` \"\\ b""#,
        ),
        (
            "echo 'a {{ vars.v }} b'",
            "'; id; '",
            r"echo 'a '\''; id; '\'' b'",
        ),
        (
            "echo $(printf %s {{ vars.v }})",
            "a b",
            "echo $(printf %s 'a b')",
        ),
        (
            "echo \"$(printf %s {{ vars.v }})\"",
            "a b",
            "echo \"$(printf %s 'a b')\"",
        ),
        (
            "echo \"$(printf ')') {{ vars.v }}\"",
            "a b",
            "echo \"$(printf ')') a b\"",
        ),
        (
            "cat <<EOF\nx\nEOF\necho {{ vars.v }}",
            "a b",
            "cat <<EOF\nx\nEOF\necho 'a b'",
        ),
    ];
    for (command, value, want) in cases {
        assert_eq!(fill(command, value).unwrap(), want, "{command}");
    }
}

#[test]
fn templates_where_no_quoting_is_safe_are_refused() {
    for (command, wanted) in [
        ("echo `echo {{ vars.v }}`", "backtick"),
        ("echo \"`echo {{ vars.v }}`\"", "backtick"),
        ("cat <<EOF\n{{ vars.v }}\nEOF", "heredoc"),
        ("cat <<-'EOF'\n\tx {{ vars.v }}\n\tEOF\n", "heredoc"),
        ("cat <<{{ vars.v }}\nx", "delimiter"),
        ("echo ${X:-{{ vars.v }}}", "${...}"),
        ("echo $(( 1 + {{ vars.v }} ))", "$((...))"),
        ("echo $'a {{ vars.v }}'", "$'...'"),
        ("true # {{ vars.v }}", "comment"),
        ("echo \\{{ vars.v }}", "right after `\\`"),
        ("echo ${{ vars.v }}", "right after `$`"),
        ("echo \"${{ vars.v }}\"", "right after `$`"),
        ("x=$(case a in a) echo;; esac) {{ vars.v }}", "case"),
    ] {
        let e = fill(command, "v").unwrap_err();
        assert!(e.contains(wanted), "{command}: {e}");
    }
    // Where `#`, `$` and `\` are no syntax, templates are fine.
    for command in [
        "echo a#{{ vars.v }}",
        "echo '$'{{ vars.v }}",
        "echo '\\{{ vars.v }}'",
        "echo \"# {{ vars.v }}\"",
        "cat <<< {{ vars.v }}",
        "cat <<EOF\nx\nEOF\n{{ vars.v }}",
    ] {
        assert!(fill(command, "v").is_ok(), "{command}");
    }
}

#[test]
fn raw_values_are_shell_text_anywhere() {
    let command = "echo `echo {{ vars.v | raw }}`";
    assert_eq!(fill(command, "a; b").unwrap(), "echo `echo a; b`");
}

#[test]
fn secrets_expand_to_one_word_in_every_context() {
    let script = format!(
        "printf '[%s]' {a} \"x {d} y\" 'x {s} y'",
        a = expand("V", Context::Unquoted(Word::default())),
        d = expand("V", Context::Double),
        s = expand("V", Context::Single),
    );
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env("V", "a  *  b")
        .output()
        .expect("sh");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[a  *  b][x a  *  b y][x a  *  b y]"
    );
}

const CONTEXTS: [&str; 6] = [
    "printf '[%s]' {{ vars.v }}",
    "printf '[%s]' \"{{ vars.v }}\"",
    "printf '[%s]' '{{ vars.v }}'",
    "printf '[%s]' x{{ vars.v }}y",
    "printf '[%s]' \"$(printf %s {{ vars.v }})\"",
    "printf '[%s]' \"a'{{ vars.v }}'b\"",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Any string reaches the command as exactly itself, in every context
    /// (half of the characters drawn from those the shell treats specially).
    #[test]
    fn every_value_round_trips_through_sh(
        value in "([a-z '\"$`\\\\\n\t*?;&|(){}<>#~=!%,.:@+\\[\\]-]|[^\u{0}]){0,16}"
    ) {
        let script = CONTEXTS
            .iter()
            .map(|c| fill(c, &value).unwrap())
            .collect::<Vec<_>>()
            .join("; ");
        let want = format!(
            "[{value}][{value}][{value}][x{value}y][{}][a'{value}'b]",
            value.trim_end_matches('\n')
        );
        proptest::prop_assert_eq!(sh(&script), want);
    }
}
