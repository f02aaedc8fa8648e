//! Reading a run's journal: every record, records of one type, step states.

use serde_json::Value;

use super::cutover::Cutover;

/// The text of run `id`'s journal (empty when it does not exist yet).
fn text(c: &Cutover, id: &str) -> std::io::Result<String> {
    std::fs::read_to_string(c.path(&format!(".cutover/runs/{id}/journal.jsonl")))
}

fn parse(lines: &str) -> Vec<Value> {
    lines
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad journal line {l}: {e}")))
        .collect()
}

/// The records of run `id` (header left out); panics on any line that does
/// not parse.
pub fn journal(c: &Cutover, id: &str) -> Vec<Value> {
    parse(&text(c, id).expect("read journal"))
}

/// Like `journal`, but a torn last line (a crash mid-write) is left out, and
/// a journal not yet written is empty.
pub fn journal_tolerant(c: &Cutover, id: &str) -> Vec<Value> {
    let text = text(c, id).unwrap_or_default();
    parse(text.rfind('\n').map_or("", |i| &text[..=i]))
}

pub fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// The first `step_state` record of `step` entering `state`.
pub fn state_record<'a>(records: &'a [Value], step: &str, state: &str) -> &'a Value {
    records
        .iter()
        .find(|r| {
            r["type"] == "step_state" && r["data"]["step"] == step && r["data"]["state"] == state
        })
        .unwrap_or_else(|| panic!("no `{state}` for `{step}`"))
}

/// `seq` of the first `step_state` record of `step` entering `state`.
pub fn seq_of(records: &[Value], step: &str, state: &str) -> u64 {
    state_record(records, step, state)["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq on `{state}` for `{step}`"))
}

/// `seq` of a record.
pub fn seq(record: &Value) -> u64 {
    record["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq: {record}"))
}

/// Steps in `records` list of `kind` (e.g. `rollback_step_finished`), in order.
pub fn steps_of<'a>(records: &'a [Value], kind: &str) -> Vec<&'a str> {
    of_type(records, kind)
        .iter()
        .map(|r| r["data"]["step"].as_str().unwrap())
        .collect()
}

pub fn assert_seq_contiguous(records: &[Value]) {
    let seqs: Vec<u64> = records
        .iter()
        .map(|r| r["seq"].as_u64().expect("seq"))
        .collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "seq must be 1..=n with no gap or duplicate");
}

/// The outcome of the last `run_finished` ("" when the run never finished).
pub fn outcome(records: &[Value]) -> String {
    of_type(records, "run_finished")
        .last()
        .map(|r| {
            r["data"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}
