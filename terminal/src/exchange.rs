//! The folder exchange: requests the EHR drops into `req/` are taken, answered and written to
//! `res/`, the way the real terminal serves them.
//!
//! - A file is *taken* once it is complete: its writer closed it (inotify IN_CLOSE_WRITE) or it
//!   was renamed into `req/` (IN_MOVED_TO), and it parses to the end of its root element. A file
//!   that is still being written parses as incomplete and stays where it is; a rescan every
//!   second (the fallback for lost or overflowed events, and for file systems without inotify)
//!   looks again. Dot-files and `*.tmp` are never touched.
//! - Taking a file renames it into `work/` (same file system, so atomic): from then on it is the
//!   terminal's, and it stays in `work/` until its answer has been renamed into `res/`. What a
//!   killed terminal leaves in `work/` is answered at the next start, so no request is lost.
//! - The answer is written as a dot-temp file and renamed to the request's name with `req` →
//!   `res`. A file the terminal cannot read at all is moved to `res/` under its own name, beside
//!   `<stem>.err` holding one line: why.
//!
//! One dispatcher task owns the set of files in flight; each file is handled by its own task,
//! at most `concurrency` at once, over one shared HTTP/2 connection.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{Semaphore, mpsc};

use crate::files::write_atomically;
use crate::ops::{self, Context, Operation};
use crate::stats::{Outcome, Stats};
use crate::xml_in::{self, MAX_REQUEST_BYTES, ReadError};

/// How long a file may stay incomplete, unchanged, before it is answered as broken.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// The folders under the terminal's root.
#[derive(Debug, Clone)]
pub struct Folders {
    pub root: PathBuf,
    pub req: PathBuf,
    pub res: PathBuf,
    pub face: PathBuf,
    pub work: PathBuf,
    pub state: PathBuf,
}

impl Folders {
    pub fn under(root: &Path) -> Folders {
        Folders {
            root: root.to_owned(),
            req: root.join("req"),
            res: root.join("res"),
            face: root.join("face"),
            work: root.join("work"),
            state: root.join("state"),
        }
    }

    /// Creates the folders that are missing.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [&self.req, &self.res, &self.face, &self.work, &self.state] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// Whether a name in `req/` is a request candidate at all.
fn is_candidate(name: &str) -> bool {
    !name.starts_with('.') && !name.ends_with(".tmp") && !name.ends_with(".TMP")
}

/// What the dispatcher hears.
enum Message {
    /// A file in `req/` may be complete now.
    Arrived(String),
    /// A handler finished with a file; `again` if it was left in `req/` (incomplete).
    Done { name: String, left: bool },
}

/// Serves the exchange under `folders` until `shutdown` completes, then lets the files in
/// flight finish (up to 10 s).
pub async fn serve(
    folders: Folders,
    ctx: Arc<Context>,
    stats: Arc<Stats>,
    concurrency: usize,
    rescan: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    folders.create()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let events = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Errors (an overflowed queue among them): the next rescan finds what the events missed.
        let Ok(event) = event else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write)) | EventKind::Modify(ModifyKind::Name(_))
        );
        if relevant {
            for path in event.paths {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    let _ = events.send(Message::Arrived(name.to_owned()));
                }
            }
        }
    })
    .map_err(std::io::Error::other)?;
    watcher.watch(&folders.req, RecursiveMode::NonRecursive).map_err(std::io::Error::other)?;

    // Half-written answers of a killed terminal (dot-temp files readers skip anyway).
    for dir in [&folders.res, &folders.face] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let folders = Arc::new(folders);
    // What a killed terminal left in work/ first: those were taken and never answered.
    for name in list(&folders.work) {
        let (ctx, stats, folders, limit) = (ctx.clone(), stats.clone(), folders.clone(), limit.clone());
        tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let bytes = std::fs::read(folders.work.join(&name));
            let parsed = match bytes {
                Ok(b) => xml_in::read(&b),
                Err(_) => return,
            };
            answer_taken(&folders, &ctx, &stats, &name, parsed).await;
        });
    }
    // Flight: name → whether it arrived again while being handled.
    let mut in_flight: HashMap<String, bool> = HashMap::new();
    let mut tick = tokio::time::interval(rescan);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        let arrived: Vec<String> = tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => list(&folders.req),
            m = rx.recv() => match m {
                Some(Message::Arrived(name)) => vec![name],
                Some(Message::Done { name, left }) => {
                    let again = in_flight.remove(&name).unwrap_or(false);
                    if left && again { vec![name] } else { Vec::new() }
                }
                None => break,
            },
        };
        for name in arrived {
            if !is_candidate(&name) {
                continue;
            }
            if let Some(again) = in_flight.get_mut(&name) {
                *again = true;
                continue;
            }
            in_flight.insert(name.clone(), false);
            let (ctx, stats, folders, limit, tx) =
                (ctx.clone(), stats.clone(), folders.clone(), limit.clone(), tx.clone());
            tokio::spawn(async move {
                let left = match limit.acquire_owned().await {
                    Ok(_permit) => take(&folders, &ctx, &stats, &name).await,
                    Err(_) => true,
                };
                let _ = tx.send(Message::Done { name, left });
            });
        }
    }
    drop(watcher);
    // Let what is in flight finish: every permit back means every handler is done.
    let _ = tokio::time::timeout(Duration::from_secs(10), limit.acquire_many(concurrency.max(1) as u32)).await;
    Ok(())
}

/// The regular files in a folder that are request candidates.
fn list(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_candidate(n))
        .collect();
    names.sort();
    names
}

/// Takes `req/name` if it is complete. Returns true when the file was left in `req/`.
async fn take(folders: &Folders, ctx: &Context, stats: &Stats, name: &str) -> bool {
    let path = folders.req.join(name);
    let Ok(meta) = std::fs::metadata(&path) else { return false };
    if !meta.is_file() {
        return false;
    }
    let parsed = if meta.len() > MAX_REQUEST_BYTES {
        Err(ReadError::TooLarge(meta.len()))
    } else {
        match std::fs::read(&path) {
            Ok(bytes) => xml_in::read(&bytes),
            Err(_) => return false,
        }
    };
    if parsed.as_ref().err() == Some(&ReadError::Incomplete) {
        let unchanged_for = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok());
        if unchanged_for.is_none_or(|d| d < STALE_AFTER) {
            return true;
        }
    }
    if std::fs::rename(&path, folders.work.join(name)).is_err() {
        // Someone else moved or removed it.
        return false;
    }
    answer_taken(folders, ctx, stats, name, parsed).await;
    false
}

/// Answers a request that is in `work/`, then lets it go.
async fn answer_taken(
    folders: &Folders,
    ctx: &Context,
    stats: &Stats,
    name: &str,
    parsed: Result<xml_in::Document, ReadError>,
) {
    let taken = folders.work.join(name);
    let Some(op) = Operation::of_file_name(name) else {
        let prefixes: Vec<&str> = Operation::ALL.iter().map(|o| o.prefix()).collect();
        let reason = format!(
            "unknown request: a request is named <prefix>req_<suffix>.xml with a prefix among {}",
            prefixes.join(", ")
        );
        return reject(folders, stats, name, None, &reason);
    };
    let doc = match parsed {
        Ok(doc) => doc,
        Err(e) => return reject(folders, stats, name, Some(op), &e.to_string()),
    };
    let answer = ctx.answer(op, &doc).await;
    let answer_path = folders.res.join(ops::answer_name(name, op, answer.pdf));
    match write_atomically(&answer_path, &answer.bytes) {
        Ok(()) => {
            let _ = std::fs::remove_file(&taken);
            if let Some(journal) = &ctx.journal
                && op == Operation::Single
            {
                journal.record(crate::screen::journal::Source::Folder, name, &answer.bytes);
            }
            stats.count(op, if answer.refused { Outcome::Refused } else { Outcome::Answered });
            tracing::debug!(request = name, answer = %answer_path.display(), "answered");
        }
        // Left in work/: answered at the next start.
        Err(e) => tracing::warn!(request = name, "cannot write the answer {}: {e}", answer_path.display()),
    }
}

/// Moves an unreadable request into `res/` beside `<stem>.err`.
fn reject(folders: &Folders, stats: &Stats, name: &str, op: Option<Operation>, reason: &str) {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let line = format!("{}\n", reason.replace(['\n', '\r'], " "));
    let moved = std::fs::rename(folders.work.join(name), folders.res.join(name));
    if let Err(e) = moved.and_then(|()| write_atomically(&folders.res.join(format!("{stem}.err")), line.as_bytes())) {
        tracing::warn!(request = name, "cannot move the unreadable request to res/: {e}");
        return;
    }
    stats.count_unreadable(op);
    tracing::info!(request = name, reason, "unreadable request moved to res/ with an .err file");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_and_dot_files_are_not_requests() {
        assert!(is_candidate("OQSsiquc01req_1.xml"));
        assert!(!is_candidate(".OQSsiquc01req_1.xml"));
        assert!(!is_candidate("OQSsiquc01req_1.xml.tmp"));
    }
}
