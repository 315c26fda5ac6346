//! The live store behind an atomic pointer, and its generations on disk, so the admin API can reset
//! to the seeded baseline or restore a named snapshot in about a second without a restart.
//!
//! Layout of the data directory:
//! - `ACTIVE`: the name of the live generation (`db-N`); a directory holding a store directly
//!   (the layout before generations) is used as it is;
//! - `db-N/`: a store generation; the live one, and old ones awaiting deletion;
//! - `baseline/`: a checkpoint taken right after seeding;
//! - `snapshots/NAME/`: checkpoints taken on request.
//!
//! A checkpoint hard-links the immutable table files, so taking and restoring one copies only the
//! small mutable files. Requests in flight keep the generation they started with (an `Arc`);
//! generations no longer live are deleted at the next swap or start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::seed::{self, SeedError, SeedReport, SeedSpec};
use crate::{Store, StoreError, StoreOptions};

const ACTIVE: &str = "ACTIVE";
const BASELINE: &str = "baseline";
const SNAPSHOTS: &str = "snapshots";

/// The live store and where its generations live.
pub struct StoreHandle {
    root: PathBuf,
    options: StoreOptions,
    live: ArcSwap<Store>,
    /// Serializes swaps (reset, restore) and snapshotting.
    swap: std::sync::Mutex<()>,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle").field("root", &self.root).finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(path.to_owned(), e)
}

/// A snapshot name: letters, digits, `-` and `_`, at most 64.
pub fn valid_snapshot_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl StoreHandle {
    /// Opens the live generation under `root` (creating the first one if there is none).
    pub fn open(root: &Path, options: StoreOptions) -> Result<StoreHandle, StoreError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let active = match std::fs::read_to_string(root.join(ACTIVE)) {
            Ok(name) => root.join(name.trim()),
            // A store written before generations existed lives in the root itself.
            Err(_) if root.join("CURRENT").exists() => root.to_owned(),
            Err(_) => {
                write_active(root, "db-0")?;
                root.join("db-0")
            }
        };
        let store = Store::open(&active, options)?;
        let handle = StoreHandle {
            root: root.to_owned(),
            options,
            live: ArcSwap::from_pointee(store),
            swap: Default::default(),
        };
        handle.remove_stale_generations(None);
        Ok(handle)
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live store. Cheap; hold it for the duration of one request.
    pub fn get(&self) -> Arc<Store> {
        self.live.load_full()
    }

    /// Records the live store as the seeded baseline (replacing an earlier one).
    pub fn save_baseline(&self) -> Result<(), StoreError> {
        let _guard = self.swap.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.root.join(BASELINE);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        self.get().checkpoint(&path)
    }

    /// Seeds the live store (see [`seed::seed`]) and records the seeded state as the baseline
    /// when the seed wrote anything or there is none yet: the one place where a seed and its
    /// baseline go together (serve, the `seed` command and the admin API's Seed).
    pub fn seed_and_baseline(&self, spec: SeedSpec, progress: impl FnMut(u64)) -> Result<SeedReport, SeedError> {
        let report = seed::seed(&self.get(), spec, progress)?;
        if report.wrote || !self.has_baseline() {
            self.save_baseline()?;
        }
        Ok(report)
    }

    pub fn has_baseline(&self) -> bool {
        self.root.join(BASELINE).join("CURRENT").exists()
    }

    /// Takes a named snapshot of the live store (replacing one of the same name).
    pub fn snapshot(&self, name: &str) -> Result<(), StoreError> {
        let _guard = self.swap.lock().unwrap_or_else(|p| p.into_inner());
        let dir = self.root.join(SNAPSHOTS);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        self.get().checkpoint(&path)
    }

    /// The names of the snapshots taken.
    pub fn snapshots(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join(SNAPSHOTS))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Makes the baseline the live store again. `Ok(false)` if there is no baseline.
    pub fn reset(&self) -> Result<bool, StoreError> {
        let path = self.root.join(BASELINE);
        if !path.join("CURRENT").exists() {
            return Ok(false);
        }
        self.restore_from(&path)?;
        Ok(true)
    }

    /// Makes a named snapshot the live store. `Ok(false)` if there is no such snapshot.
    pub fn restore(&self, name: &str) -> Result<bool, StoreError> {
        let path = self.root.join(SNAPSHOTS).join(name);
        if !valid_snapshot_name(name) || !path.join("CURRENT").exists() {
            return Ok(false);
        }
        self.restore_from(&path)?;
        Ok(true)
    }

    fn restore_from(&self, source: &Path) -> Result<(), StoreError> {
        let _guard = self.swap.lock().unwrap_or_else(|p| p.into_inner());
        let previous = std::fs::read_to_string(self.root.join(ACTIVE)).unwrap_or_default();
        let name = self.next_generation_name();
        let target = self.root.join(&name);
        copy_checkpoint(source, &target)?;
        let store = Store::open(&target, self.options)?;
        store.continue_sequences_from(&self.get());
        write_active(&self.root, &name)?;
        self.live.store(Arc::new(store));
        // The generation just replaced may still serve requests in flight: it goes at the next swap.
        self.remove_stale_generations(Some(previous.trim()));
        Ok(())
    }

    fn next_generation_name(&self) -> String {
        let highest = std::fs::read_dir(&self.root)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_prefix("db-")?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        format!("db-{}", highest + 1)
    }

    /// Deletes generations that are neither live nor `keep`.
    fn remove_stale_generations(&self, keep: Option<&str>) {
        let active = std::fs::read_to_string(self.root.join(ACTIVE)).unwrap_or_default();
        let Ok(dir) = std::fs::read_dir(&self.root) else { return };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("db-") && name != active.trim() && Some(name.as_str()) != keep {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn write_active(root: &Path, name: &str) -> Result<(), StoreError> {
    let tmp = root.join("ACTIVE.tmp");
    std::fs::write(&tmp, name).map_err(io(&tmp))?;
    std::fs::rename(&tmp, root.join(ACTIVE)).map_err(io(root))
}

/// Copies a checkpoint: table files are hard-linked (they are never modified), the rest copied.
fn copy_checkpoint(source: &Path, target: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(target).map_err(io(target))?;
    for entry in std::fs::read_dir(source).map_err(io(source))? {
        let entry = entry.map_err(io(source))?;
        let from = entry.path();
        let to = target.join(entry.file_name());
        let is_table = from.extension().is_some_and(|e| e == "sst" || e == "blob");
        if !is_table || std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(io(&from))?;
        }
    }
    Ok(())
}
