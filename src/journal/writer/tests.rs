//! Appends: contiguous seq with other processes' lines, judged appends, the
//! drive lock naming its holder, torn tails repaired.

use super::*;
use crate::journal::read_journal;

fn stamp() -> Stamp {
    Stamp::new(None)
}

#[test]
fn writes_contiguous_seq_and_sees_external_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r/journal.jsonl");
    let (mut j, _lock) = Journal::create(&path, "r", stamp()).unwrap();
    j.emit(Event::Note { text: "a".into() });
    j.emit(Event::Note { text: "b".into() });
    let f = j.flush().unwrap();
    assert_eq!(f.written.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    let ext = append_external(&path, &stamp(), Event::Note { text: "x".into() }).unwrap();
    assert_eq!(ext.seq, 3);
    j.emit(Event::Note { text: "c".into() });
    let f = j.flush().unwrap();
    assert_eq!(f.external.len(), 1);
    assert_eq!(f.written[0].seq, 4);
    let read = read_journal(&path).unwrap();
    assert_eq!(
        read.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn a_judged_append_sees_what_was_appended_after_the_read_and_a_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (mut j, _lock) = Journal::create(&path, "r", stamp()).unwrap();
    j.emit(Event::Note { text: "a".into() });
    j.flush().unwrap();
    let before = read_journal(&path).unwrap();
    // Appended after `before` was read, as another voter would.
    append_external(&path, &stamp(), Event::Note { text: "b".into() }).unwrap();
    let mut seen = Vec::new();
    let written = append_judged(&path, &stamp(), &before, |appended, next| {
        seen = appended.iter().map(|r| r.seq).collect();
        assert_eq!(next, 3);
        Ok::<_, ()>(vec![
            Event::Note { text: "c".into() },
            Event::Note { text: "d".into() },
        ])
    })
    .unwrap()
    .unwrap();
    assert_eq!(seen, [2]);
    assert_eq!(written.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    let refused = append_judged(&path, &stamp(), &before, |appended, next| {
        assert_eq!((appended.len(), next), (3, 5));
        Err::<Vec<Event>, _>("no")
    })
    .unwrap();
    assert_eq!(refused.unwrap_err(), "no");
    // The engine's judged flush: others' lines, then its buffered
    // events, are judged before its own are written.
    j.emit(Event::Note { text: "e".into() });
    let flushed = j
        .flush_judged(|seen, next| {
            assert_eq!(seen.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3, 4, 5]);
            assert_eq!(next, 6);
            vec![Event::Note { text: "f".into() }]
        })
        .unwrap();
    assert_eq!(flushed.external.len(), 3);
    assert_eq!(
        flushed.written.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [5, 6]
    );
    let read = read_journal(&path).unwrap();
    assert_eq!(
        read.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn a_judged_append_ends_a_torn_line_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    {
        let (mut j, _lock) = Journal::create(&path, "r", stamp()).unwrap();
        j.emit(Event::Note { text: "a".into() });
        j.flush().unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":2,"ts":"#).unwrap();
    let before = read_journal(&path).unwrap();
    let written = append_judged(&path, &stamp(), &before, |appended, next| {
        assert!(appended.is_empty());
        Ok::<_, ()>(vec![Event::Note {
            text: format!("at {next}"),
        }])
    })
    .unwrap()
    .unwrap();
    assert_eq!(written[0].seq, 2);
    let read = read_journal(&path).unwrap();
    assert_eq!(read.records.len(), 2);
    assert_eq!(
        read.warnings.len(),
        1,
        "the torn line is skipped with a warning"
    );
}

#[test]
fn second_driver_is_told_who_holds_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (_j, _lock) = Journal::create(&path, "r", stamp()).unwrap();
    let err = Journal::open(&path, stamp()).unwrap_err().to_string();
    assert!(err.contains("is being driven by"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

#[test]
fn open_repairs_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    {
        let (mut j, _lock) = Journal::create(&path, "r", stamp()).unwrap();
        j.emit(Event::Note { text: "a".into() });
        j.flush().unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":2,"ts":"#).unwrap();
    let (mut j, _lock, read) = Journal::open(&path, stamp()).unwrap();
    assert_eq!(read.truncated_at, Some(3));
    let f = j.flush().unwrap();
    assert_eq!(f.written[0].seq, 2);
    assert!(matches!(
        f.written[0].event,
        Event::JournalRepaired { line: 3, .. }
    ));
    let read = read_journal(&path).unwrap();
    assert_eq!(read.truncated_at, None);
    assert_eq!(read.records.len(), 2);
}
