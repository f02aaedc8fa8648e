//! Appending to a journal.
//!
//! Two locks live next to the journal:
//! - `journal.lock`, held for the whole run by the process driving it (std
//!   `File::try_lock`); it names its holder so a second operator is told who.
//! - `journal.append.lock`, taken briefly around every append by the engine
//!   *and* by `cutover note`/`mark`/`approve`/`done` from other terminals, so
//!   lines never interleave and `seq` stays contiguous.
//!
//! The engine buffers events and writes them with one `write` + `sync_data`
//! in [`Journal::flush`], which it calls before acting on any decision. Under
//! the append lock, the writer also picks up lines other processes appended
//! since its last write, which is how the engine notices `cutover done`.
//!
//! A judged append ([`append_judged`] for other processes,
//! [`Journal::flush_judged`] for the engine) lets a pure function decide
//! what to write from everything in the journal, under the same lock, so
//! two go/no-go votes are never judged against the same journal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::reader::{parse_header, read_journal, stream_journal};
use super::shared::{SharedJournal, SharedStore};
use super::{JournalError, JournalRead, Stamp, refuse_dir_links, refuse_link, sibling};
use crate::event::{Event, Header, Record};
use crate::files;

/// The driving lock: dropping it releases the run.
#[derive(Debug)]
pub struct DriveLock {
    _file: File,
}

impl DriveLock {
    /// Take the driving lock of the journal at `path`, or say who holds it.
    pub fn acquire(path: &Path, run_id: &str, stamp: &Stamp) -> Result<DriveLock, JournalError> {
        let lock_path = sibling(path, "lock");
        let mut file = files::open_or_create(OpenOptions::new().read(true).write(true), &lock_path)
            .map_err(|e| JournalError::open("open the lock", &lock_path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    run: run_id.to_string(),
                    holder: read_holder(&mut file),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(JournalError::io("lock", path, e));
            }
        }
        let who = format!(
            "{} (pid {}, since {})",
            stamp.actor,
            std::process::id(),
            stamp.clock.rfc3339()
        );
        // Overwrite in place, then cut what is left of a longer old holder:
        // the file is never empty once written, so a reader never sees a gap.
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.write_all(who.as_bytes());
        let _ = file.set_len(who.len() as u64);
        let _ = file.sync_data();
        Ok(DriveLock { _file: file })
    }
}

/// Who holds a lock we could not take. A process that has just taken it
/// writes its name right after: wait a moment for it rather than say
/// "another process".
fn read_holder(file: &mut File) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let mut holder = String::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        if !holder.is_empty() {
            return holder.to_string();
        }
        if std::time::Instant::now() >= deadline {
            return "another process (it did not say who)".into();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// What one flush wrote, and what other processes had appended before it.
#[derive(Debug, Default)]
pub struct Flushed {
    pub written: Vec<Record>,
    pub external: Vec<Record>,
}

/// The engine's writer: the run's records go to a local file or to a
/// shared store ([`SharedStore`], the shared journal in PostgreSQL), with
/// the same rules for both (contiguous `seq`, durable before the next
/// decision, others' appends picked up on the way).
#[derive(Debug)]
pub struct Journal {
    store: Store,
    run_id: String,
    stamp: Stamp,
    last_seq: u64,
    pending: Vec<Event>,
}

#[derive(Debug)]
enum Store {
    File(FileStore),
    Shared(SharedJournal),
}

/// A local journal file and its append lock.
#[derive(Debug)]
struct FileStore {
    path: PathBuf,
    file: File,
    append_lock: File,
    /// File length after our last write (or read): growth beyond it is external.
    known_len: u64,
}

impl Journal {
    /// Start a new journal; fails if one exists at `path`.
    pub fn create(
        path: &Path,
        run_id: &str,
        stamp: Stamp,
    ) -> Result<(Journal, DriveLock), JournalError> {
        create_run_dir(path)?;
        let lock = DriveLock::acquire(path, run_id, &stamp)?;
        let mut file = files::create_new(OpenOptions::new().read(true).append(true), path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    refuse_link(path)
                        .err()
                        .unwrap_or_else(|| JournalError::Exists(path.display().to_string()))
                } else {
                    JournalError::io("create", path, e)
                }
            })?;
        let header = Header::new(run_id, &stamp.clock.rfc3339());
        let mut line = serde_json::to_string(&header).unwrap_or_default();
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| JournalError::io("write", path, e))?;
        // Make the new file's directory entry durable too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        let append_lock = open_append_lock(path)?;
        let store = FileStore {
            path: path.to_path_buf(),
            file,
            append_lock,
            known_len: line.len() as u64,
        };
        Ok((Journal::new(Store::File(store), run_id, stamp, 0), lock))
    }

    fn new(store: Store, run_id: &str, stamp: Stamp, last_seq: u64) -> Journal {
        Journal {
            store,
            run_id: run_id.to_string(),
            stamp,
            last_seq,
            pending: Vec::new(),
        }
    }

    /// A journal kept in a shared store, whose records up to `last_seq`
    /// the caller has read (a new run: 0).
    pub fn shared(
        store: Box<dyn SharedStore>,
        run_id: &str,
        stamp: Stamp,
        last_seq: u64,
    ) -> Journal {
        Journal::new(
            Store::Shared(SharedJournal::new(store)),
            run_id,
            stamp,
            last_seq,
        )
    }

    /// Take over an existing journal (resume): lock it, read it, and cut off
    /// a torn last line so new records start on a clean line. The repair is
    /// journaled as the first new event.
    pub fn open(
        path: &Path,
        stamp: Stamp,
    ) -> Result<(Journal, DriveLock, JournalRead), JournalError> {
        refuse_dir_links(path)?;
        // Only the header (the run id) is needed before the lock: the
        // records are read once, under the append lock below.
        let header = stream_journal(path)?.header;
        let lock = DriveLock::acquire(path, &header.run_id, &stamp)?;
        let append_lock = open_append_lock(path)?;
        append_lock
            .lock()
            .map_err(|e| JournalError::io("lock", path, e))?;
        // Re-read under the append lock: nothing can change it now.
        let read = read_journal(path);
        let result = (|| {
            let read = read?;
            let file = files::open(OpenOptions::new().read(true).append(true), path)
                .map_err(|e| JournalError::open("open", path, e))?;
            let len = file
                .metadata()
                .map_err(|e| JournalError::io("stat", path, e))?
                .len();
            if len > read.valid_len {
                file.set_len(read.valid_len)
                    .and_then(|()| file.sync_data())
                    .map_err(|e| JournalError::io("repair", path, e))?;
            }
            Ok((file, read, len))
        })();
        let _ = append_lock.unlock();
        let (file, read, len) = result?;
        let store = FileStore {
            path: path.to_path_buf(),
            file,
            append_lock,
            known_len: read.valid_len,
        };
        let mut journal = Journal::new(
            Store::File(store),
            &read.header.run_id,
            stamp,
            read.last_seq(),
        );
        if let Some(line) = read.truncated_at {
            journal.emit(Event::JournalRepaired {
                line,
                bytes: len - read.valid_len,
            });
        }
        Ok((journal, lock, read))
    }

    /// The journal file; `None` for a shared store.
    pub fn path(&self) -> Option<&Path> {
        match &self.store {
            Store::File(f) => Some(&f.path),
            Store::Shared(_) => None,
        }
    }

    /// Where the records go, as people read it: the file, or the shared
    /// store (its URL without the password).
    pub fn location(&self) -> String {
        match &self.store {
            Store::File(f) => f.path.display().to_string(),
            Store::Shared(s) => s.describe(),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    /// Buffer an event; it is durable only after the next [`Journal::flush`].
    pub fn emit(&mut self, event: Event) {
        self.pending.push(event);
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Write every buffered event at once, durably (one `write` and
    /// `sync_data` under the append lock; one transaction in a shared
    /// store); return them as records, with whatever other processes
    /// appended since our last write. A failed flush keeps the events
    /// buffered for the next one.
    pub fn flush(&mut self) -> Result<Flushed, JournalError> {
        self.write(None)
    }

    /// Only look for records appended by others (no write).
    pub fn poll_external(&mut self) -> Result<Vec<Record>, JournalError> {
        match &mut self.store {
            // Cheap check first: most polls find nothing.
            Store::File(f) if self.pending.is_empty() && !f.has_news()? => Ok(Vec::new()),
            Store::Shared(s) if self.pending.is_empty() => {
                let news = s.poll(self.last_seq)?;
                self.last_seq = news.last().map_or(self.last_seq, |r| r.seq);
                Ok(news)
            }
            Store::File(_) | Store::Shared(_) => Ok(self.flush()?.external),
        }
    }

    /// Like [`Journal::flush`], with a judgement made under the append lock:
    /// `judge` is given every record other processes appended since our last
    /// write, then the buffered events as the records they become, and the
    /// `seq` its own events will start at; what it returns is written in the
    /// same write, after the buffered events. So a vote the engine casts is
    /// judged against every vote in the journal, and no other process can
    /// append between the judgement and the write.
    pub fn flush_judged(
        &mut self,
        judge: impl FnOnce(&[Record], u64) -> Vec<Event>,
    ) -> Result<Flushed, JournalError> {
        self.write(Some(Box::new(judge)))
    }

    /// [`Journal::flush`], with a judgement when one is given.
    fn write(&mut self, judge: Option<Judge<'_>>) -> Result<Flushed, JournalError> {
        let made = Maker {
            run_id: &self.run_id,
            stamp: &self.stamp,
        };
        let flushed = match &mut self.store {
            Store::File(f) => f.append(self.last_seq, |seen, next| {
                made.judged(std::mem::take(&mut self.pending), seen, next, judge)
            })?,
            Store::Shared(s) => s.append(self.last_seq, &mut self.pending, &made, judge)?,
        };
        if let Some(last) = flushed
            .external
            .iter()
            .chain(&flushed.written)
            .map(|r| r.seq)
            .max()
        {
            self.last_seq = self.last_seq.max(last);
        }
        for r in &flushed.written {
            tracing::debug!(journal = %self.location(), seq = r.seq, kind = %r.event.kind(), "journaled");
        }
        Ok(flushed)
    }
}

/// A judgement made under the append lock ([`Journal::flush_judged`]).
pub(super) type Judge<'a> = Box<dyn FnOnce(&[Record], u64) -> Vec<Event> + 'a>;

/// Makes this writer's records: its run, its actor, the time of the write.
pub(super) struct Maker<'a> {
    run_id: &'a str,
    stamp: &'a Stamp,
}

impl Maker<'_> {
    /// `events` as records numbered from `first`.
    pub(super) fn records(&self, events: Vec<Event>, first: u64) -> Vec<Record> {
        let ts = self.stamp.clock.rfc3339();
        events
            .into_iter()
            .zip(first..)
            .map(|(event, seq)| Record {
                seq,
                ts: ts.clone(),
                run_id: self.run_id.to_string(),
                actor: self.stamp.actor.clone(),
                on_behalf: self.stamp.on_behalf.clone(),
                event,
            })
            .collect()
    }

    /// The buffered `events` as records from `next`, then what `judge`
    /// (if any) decides having seen others' records (`seen`) and those.
    pub(super) fn judged(
        &self,
        events: Vec<Event>,
        seen: &[Record],
        next: u64,
        judge: Option<Judge<'_>>,
    ) -> Vec<Record> {
        let mut written = self.records(events, next);
        // A plain flush (most of them) copies nothing for a judgement.
        let Some(judge) = judge else {
            return written;
        };
        let mut all = seen.to_vec();
        all.extend(written.iter().cloned());
        let after = next + written.len() as u64;
        written.extend(self.records(judge(&all, after), after));
        written
    }
}

impl FileStore {
    /// The file grew since our last read or write.
    fn has_news(&self) -> Result<bool, JournalError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| JournalError::io("stat", &self.path, e))?
            .len();
        Ok(len != self.known_len)
    }

    /// Under the append lock: read what others appended after our last
    /// write, then write what `build` makes of it (given the next `seq`)
    /// with one `write` and `sync_data`.
    fn append(
        &mut self,
        last_seq: u64,
        build: impl FnOnce(&[Record], u64) -> Vec<Record>,
    ) -> Result<Flushed, JournalError> {
        self.append_lock
            .lock()
            .map_err(|e| JournalError::io("lock", &self.path, e))?;
        let result = self.append_locked(last_seq, build);
        let _ = self.append_lock.unlock();
        result
    }

    fn append_locked(
        &mut self,
        last_seq: u64,
        build: impl FnOnce(&[Record], u64) -> Vec<Record>,
    ) -> Result<Flushed, JournalError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| JournalError::io("stat", &self.path, e))?
            .len();
        let external = if len > self.known_len {
            self.read_external(len)?
        } else {
            Vec::new()
        };
        let last_seq = external.last().map_or(last_seq, |r| r.seq.max(last_seq));
        let written = build(&external, last_seq + 1);
        let mut buf = String::new();
        for record in &written {
            buf.push_str(&record.to_line());
            buf.push('\n');
        }
        if !buf.is_empty() {
            self.file
                .write_all(buf.as_bytes())
                .and_then(|()| self.file.sync_data())
                .map_err(|e| JournalError::io("write", &self.path, e))?;
            self.known_len += buf.len() as u64;
        }
        Ok(Flushed { written, external })
    }

    fn read_external(&mut self, len: u64) -> Result<Vec<Record>, JournalError> {
        let mut reader =
            files::open_read(&self.path).map_err(|e| JournalError::open("open", &self.path, e))?;
        reader
            .seek(SeekFrom::Start(self.known_len))
            .map_err(|e| JournalError::io("seek", &self.path, e))?;
        let mut bytes = Vec::new();
        reader
            .take(len - self.known_len)
            .read_to_end(&mut bytes)
            .map_err(|e| JournalError::io("read", &self.path, e))?;
        self.known_len = len;
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| Record::from_line(line).ok())
            .collect())
    }
}

/// The directory of a new journal: created private (0700) when it is not
/// there; a symbolic link there (or in place of `.cutover/runs`) is refused.
fn create_run_dir(path: &Path) -> Result<(), JournalError> {
    refuse_dir_links(path)?;
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if let Some(parent) = dir.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| JournalError::io("create directory of", path, e))?;
    }
    files::create_private_dir(dir)
        .map(drop)
        .map_err(|e| JournalError::open("create directory of", dir, e))
}

fn open_append_lock(path: &Path) -> Result<File, JournalError> {
    let lock_path = sibling(path, "append.lock");
    files::open_or_create(OpenOptions::new().read(true).write(true), &lock_path)
        .map_err(|e| JournalError::open("open the append lock", &lock_path, e))
}

/// Append one event from another process (`note`, `mark`, `approve`, `done`),
/// safely while an engine is writing: same append lock, next `seq`, one
/// write, fsynced.
pub fn append_external(path: &Path, stamp: &Stamp, event: Event) -> Result<Record, JournalError> {
    refuse_dir_links(path)?;
    let append_lock = open_append_lock(path)?;
    append_lock
        .lock()
        .map_err(|e| JournalError::io("lock", path, e))?;
    let result = append_locked(path, stamp, event);
    let _ = append_lock.unlock();
    result
}

/// Append what `judge` decides, judged under the append lock against the
/// whole journal: `since` is the caller's read of it (taken before, without
/// the lock), and `judge` gets the records appended after that read, with
/// the `seq` its events will start at. Its events are written in one write,
/// fsynced, before the lock is let go; a refusal (`Err`) writes nothing.
/// This is how `cutover approve` makes sure two votes are never judged
/// against the same journal.
pub fn append_judged<E>(
    path: &Path,
    stamp: &Stamp,
    since: &JournalRead,
    judge: impl FnOnce(&[Record], u64) -> Result<Vec<Event>, E>,
) -> Result<Result<Vec<Record>, E>, JournalError> {
    let append_lock = open_append_lock(path)?;
    append_lock
        .lock()
        .map_err(|e| JournalError::io("lock", path, e))?;
    let result = append_judged_locked(path, stamp, since, judge);
    let _ = append_lock.unlock();
    result
}

fn append_judged_locked<E>(
    path: &Path,
    stamp: &Stamp,
    since: &JournalRead,
    judge: impl FnOnce(&[Record], u64) -> Result<Vec<Event>, E>,
) -> Result<Result<Vec<Record>, E>, JournalError> {
    let io = |action, e| JournalError::io(action, path, e);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| io("open", e))?;
    let len = file.metadata().map_err(|e| io("stat", e))?.len();
    if len < since.valid_len {
        // Only a resume cuts a journal, and only a torn line past the
        // complete ones any reader saw: this is not the journal we read.
        return Err(io(
            "re-read",
            std::io::Error::other("it got shorter since it was read; try again"),
        ));
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(since.valid_len))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(|e| io("read", e))?;
    // Complete lines only: a torn last line (a crashed writer) is not a record.
    let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let appended: Vec<Record> = String::from_utf8_lossy(&tail[..complete])
        .lines()
        .filter_map(|l| Record::from_line(l).ok())
        .collect();
    let last_seq = appended.last().map_or(since.last_seq(), |r| r.seq);
    let events = match judge(&appended, last_seq + 1) {
        Ok(events) => events,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut line = String::new();
    if complete < tail.len() {
        // A crashed engine left a torn line: end it so ours stays parseable.
        line.push('\n');
    }
    let records: Vec<Record> = events
        .into_iter()
        .zip(last_seq + 1..)
        .map(|(event, seq)| Record {
            seq,
            ts: stamp.clock.rfc3339(),
            run_id: since.header.run_id.clone(),
            actor: stamp.actor.clone(),
            on_behalf: stamp.on_behalf.clone(),
            event,
        })
        .collect();
    if records.is_empty() {
        return Ok(Ok(records));
    }
    for record in &records {
        line.push_str(&record.to_line());
        line.push('\n');
    }
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| io("write", e))?;
    Ok(Ok(records))
}

fn append_locked(path: &Path, stamp: &Stamp, event: Event) -> Result<Record, JournalError> {
    let mut file = files::open(OpenOptions::new().read(true).append(true), path)
        .map_err(|e| JournalError::open("open", path, e))?;
    let (run_id, last_seq, ends_clean) = tail_info(&mut file, path)?;
    let record = Record {
        seq: last_seq + 1,
        ts: stamp.clock.rfc3339(),
        run_id,
        actor: stamp.actor.clone(),
        on_behalf: stamp.on_behalf.clone(),
        event,
    };
    let mut line = String::new();
    if !ends_clean {
        // A crashed engine left a torn line: end it so ours stays parseable
        // (readers skip the torn one with a warning).
        line.push('\n');
    }
    line.push_str(&record.to_line());
    line.push('\n');
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| JournalError::io("write", path, e))?;
    tracing::info!(journal = %path.display(), seq = record.seq, kind = %record.event.kind(), "appended");
    Ok(record)
}

/// Run id (from the header), last seq, and whether the file ends with a newline,
/// reading only the head and the tail of the file.
fn tail_info(file: &mut File, path: &Path) -> Result<(String, u64, bool), JournalError> {
    let io = |e| JournalError::io("read", path, e);
    let len = file.metadata().map_err(io)?.len();
    let mut head = vec![0u8; len.min(4096) as usize];
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.read_exact(&mut head).map_err(io)?;
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    // The checks every reader makes (a cutover journal, of a format version
    // this binary reads), before anything is appended to it.
    let header = parse_header(String::from_utf8_lossy(first).trim_end(), path)?;
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(io)?;
        let ends_clean = tail.ends_with(b"\n");
        let text = String::from_utf8_lossy(&tail);
        let last = text
            .lines()
            .rev()
            .filter_map(|l| Record::from_line(l).ok())
            .map(|r| r.seq)
            .next();
        if let Some(seq) = last {
            return Ok((header.run_id, seq, ends_clean));
        }
        if start == 0 {
            return Ok((header.run_id, 0, ends_clean));
        }
        window *= 8;
    }
}

#[cfg(test)]
mod tests;
