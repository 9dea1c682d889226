//! A bounded cache of small files: content, validators and ready header values, keyed by the
//! normalized request path, re-validated on every hit with one `stat`.
//!
//! An entry is made only after the full path checks passed for that request path. A hit is used
//! only if (when last checked more than the re-validation interval ago) `stat` of the same path (relative to a handle on the root, so the kernel walks only the
//! part below it) still names the same file (device, inode) with the same size, mtime and ctime, so
//! a changed file, a swapped symlink or a removed file falls back to the full, checked path at once.

use std::collections::HashMap;
use std::ffi::CStr;
use std::ffi::CString;
use std::fs::{File, Metadata};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::FileMeta;

/// Largest file kept in the cache (larger ones are streamed from disk).
pub(crate) const MAX_CACHED_FILE: u64 = 128 * 1024;

/// Bookkeeping bytes charged per entry besides its content and key.
const ENTRY_OVERHEAD: usize = 512;

/// Identity and version of a file as `stat` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub(crate) fn of(m: &Metadata) -> Self {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// The stamp of the regular file at `relative` under the directory `dir` (symlinks followed).
    #[allow(clippy::unnecessary_cast)] // libc's stat field types differ between targets
    fn at(dir: &File, relative: &CStr) -> Option<Self> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `relative` is NUL-terminated, `st` is valid for one `stat`, and the fd is open.
        let rc = unsafe { libc::fstatat(dir.as_raw_fd(), relative.as_ptr(), st.as_mut_ptr(), 0) };
        if rc != 0 {
            return None;
        }
        // SAFETY: fstatat returned 0, so it filled `st`.
        let st = unsafe { st.assume_init() };
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return None;
        }
        Some(Stamp {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            len: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        })
    }
}

/// One cached file.
#[derive(Debug)]
pub(crate) struct CachedFile {
    /// The path `stat`ed to re-validate, relative to the root (the request's segments and index name).
    pub relative: CString,
    pub stamp: Stamp,
    pub meta: FileMeta,
    pub content: Bytes,
    /// When the entry was last found current, in milliseconds since the cache's epoch.
    pub checked_ms: AtomicU64,
}

/// The cache: a map under a read-write lock, charged against a byte budget.
#[derive(Debug)]
pub(crate) struct Cache {
    budget: usize,
    /// Hits within this many milliseconds of the last check are not `stat`ed again.
    revalidate_ms: u64,
    epoch: Instant,
    /// The root directory, opened once (`O_PATH`): hits are re-validated relative to it.
    root: Option<File>,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    map: HashMap<String, Arc<CachedFile>>,
    used: usize,
}

fn cost(key: &str, file: &CachedFile) -> usize {
    key.len() + file.content.len() + file.relative.as_bytes().len() + ENTRY_OVERHEAD
}

impl Cache {
    /// A cache of files under the directory `root` holding at most `budget` bytes (0: none).
    pub(crate) fn new(budget: usize, revalidate_after: Duration, root: &Path) -> Self {
        let root =
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_DIRECTORY).open(root).ok();
        // Without a handle on the root nothing can be re-validated, so nothing is cached.
        let budget = if root.is_some() { budget } else { 0 };
        let revalidate_ms = u64::try_from(revalidate_after.as_millis()).unwrap_or(u64::MAX);
        Cache { budget, revalidate_ms, epoch: Instant::now(), root, state: RwLock::new(State::default()) }
    }

    /// Milliseconds since the cache was made (the clock of `checked_ms`).
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `path` (under the root) relative to it, as `fstatat` takes it; None if it cannot be.
    pub(crate) fn relative(root: &Path, path: &Path) -> Option<CString> {
        use std::os::unix::ffi::OsStrExt;
        let relative = path.strip_prefix(root).ok()?;
        if relative.as_os_str().is_empty() {
            return None;
        }
        CString::new(relative.as_os_str().as_bytes()).ok()
    }

    /// Whether a file of `len` bytes may be cached.
    pub(crate) fn admits(&self, len: u64) -> bool {
        len <= MAX_CACHED_FILE && (len as usize).saturating_add(ENTRY_OVERHEAD) <= self.budget / 4
    }

    /// The entry for `key` if the file on disk is still the one cached.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<CachedFile>> {
        let root = self.root.as_ref()?;
        if self.budget == 0 {
            return None;
        }
        let entry = self.state.read().ok()?.map.get(key).cloned()?;
        let now = self.now_ms();
        if self.revalidate_ms > 0 && now.saturating_sub(entry.checked_ms.load(Ordering::Relaxed)) < self.revalidate_ms {
            return Some(entry);
        }
        match Stamp::at(root, &entry.relative) {
            Some(stamp) if stamp == entry.stamp => {
                entry.checked_ms.store(now, Ordering::Relaxed);
                Some(entry)
            }
            _ => {
                self.remove(key, &entry);
                None
            }
        }
    }

    /// Keeps `file` under `key`, evicting other entries if the budget requires.
    pub(crate) fn insert(&self, key: &str, file: Arc<CachedFile>) {
        let need = cost(key, &file);
        if need > self.budget {
            return;
        }
        let Ok(mut state) = self.state.write() else { return };
        if let Some(old) = state.map.remove(key) {
            state.used = state.used.saturating_sub(cost(key, &old));
        }
        // Eviction order is the map's (effectively random): no bookkeeping on the hit path.
        while state.used + need > self.budget {
            let Some(victim) = state.map.keys().next().cloned() else { break };
            if let Some(old) = state.map.remove(&victim) {
                state.used = state.used.saturating_sub(cost(&victim, &old));
            }
        }
        state.used += need;
        state.map.insert(key.to_owned(), file);
    }

    /// Drops `key` if it still holds `stale`.
    fn remove(&self, key: &str, stale: &Arc<CachedFile>) {
        let Ok(mut state) = self.state.write() else { return };
        if state.map.get(key).is_some_and(|current| Arc::ptr_eq(current, stale)) {
            state.map.remove(key);
            state.used = state.used.saturating_sub(cost(key, stale));
        }
    }

    /// Number of entries and bytes charged (for tests and statistics).
    pub(crate) fn usage(&self) -> (usize, usize) {
        self.state.read().map(|s| (s.map.len(), s.used)).unwrap_or((0, 0))
    }
}
