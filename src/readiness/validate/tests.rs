//! Checklist validation's messages, from checklist text.

use std::path::Path;

use crate::readiness::load_text;

fn errors(text: &str) -> Vec<String> {
    load_text(Path::new("c.toml"), text.to_string())
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

const HEAD: &str = "[checklist]\nname = \"c\"\n\n";

#[test]
fn an_item_has_at_most_one_check() {
    let e = errors(&format!(
        "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nrun = \"true\"\nhttp = {{ url = \"http://x\" }}\n"
    ));
    assert_eq!(
        e,
        vec!["item `a` gives more than one check: `run`, `http`".to_string()]
    );
}

#[test]
fn signal_fields_need_a_source_and_timeouts_need_a_command_or_probe() {
    let e = errors(&format!(
        "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nquery = \"up\"\npass_if = \"> 0\"\n\n[[item]]\nid = \"b\"\ntitle = \"B\"\ntimeout = \"5s\"\n"
    ));
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].contains("`query` needs a `source`"), "{e:?}");
    assert!(e[1].contains("`pass_if` needs a `source`"), "{e:?}");
    assert!(
        e[2].contains("`timeout` is for `run` and `http` items"),
        "{e:?}"
    );
}

#[test]
fn attestations_and_waivers_are_checked() {
    let e = errors(&format!(
        "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nattested = {{ by = \"x\", at = \"2026-11-20\", evidence = \"e\", expires = \"2026-11-01\" }}\n\n[[waiver]]\nitem = \"a\"\nreason = \"\"\napprover = \"p\"\nexpires = \"2026-12-01\"\n\n[[waiver]]\nitem = \"a\"\nreason = \"r\"\napprover = \"p\"\nexpires = \"2026-12-01\"\n"
    ));
    assert!(
        e.contains(&"attestation expires before it was made".to_string()),
        "{e:?}"
    );
    assert!(e.contains(&"waiver `reason` is empty".to_string()), "{e:?}");
    assert!(e.contains(&"item `a` has two waivers".to_string()), "{e:?}");
    assert_eq!(errors(HEAD), vec!["checklist has no items".to_string()]);
}
