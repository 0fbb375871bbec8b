//! A rollout as it is kept on disk: its plan (the change, the waves, every ORB's planned file and
//! diff) and where each ORB is, in one YAML file per rollout under `<data dir>/rollouts/`,
//! written atomically (temp file, fsync, rename) under a lock, so that a killed process never
//! leaves half a file and two processes never interleave their steps.

use super::change::FleetChange;
use super::waves::{Limit, Wave};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where one ORB of a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OrbState {
    /// The change leaves its file as it is: nothing to push.
    Unchanged,
    /// Not pushed yet.
    Waiting,
    /// The commit is on the ORB's remote.
    Pushed,
    /// The ORB's engine reports that commit (or a later one) applied.
    Applying,
    /// Healthy at that commit (done once held for the bake time).
    Healthy,
    /// The health roll-up went Degraded (or the sync failed) at that commit.
    Degraded,
    /// The write path stopped on a same-key conflict.
    Conflict,
    /// Not Healthy within the progress deadline.
    Timeout,
    /// The ORB's repo could not be reached.
    Unreachable,
    /// The operator skipped it.
    Skipped,
    /// Its rollout commit was reverted.
    Reverted,
}

impl OrbState {
    /// The name as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrbState::Unchanged => "Unchanged",
            OrbState::Waiting => "Waiting",
            OrbState::Pushed => "Pushed",
            OrbState::Applying => "Applying",
            OrbState::Healthy => "Healthy",
            OrbState::Degraded => "Degraded",
            OrbState::Conflict => "Conflict",
            OrbState::Timeout => "Timeout",
            OrbState::Unreachable => "Unreachable",
            OrbState::Skipped => "Skipped",
            OrbState::Reverted => "Reverted",
        }
    }

    /// A failure: the rollout halts on it.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            OrbState::Degraded | OrbState::Conflict | OrbState::Timeout | OrbState::Unreachable
        )
    }

    /// Pushed and not yet Healthy (what `maxUnavailable` counts).
    pub fn is_unavailable(self) -> bool {
        matches!(self, OrbState::Pushed | OrbState::Applying)
    }
}

/// Where the whole rollout is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "phase")]
pub enum Phase {
    /// Planned; `rollout start` starts it.
    Planned,
    /// Pushing wave by wave.
    Running,
    /// Stopped on a failure; only the operator moves it on (resume, skip, abort, revert).
    Halted {
        /// The ORB it stopped on.
        orb: String,
        /// Why.
        reason: String,
    },
    /// Every wave is done.
    Completed,
    /// Stopped by the operator; nothing is undone.
    Aborted,
    /// Revert commits are being pushed, last wave first.
    Reverting,
    /// Every pushed ORB got its revert commit.
    Reverted,
}

impl Phase {
    /// The name as shown (`Halted` without its details).
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Planned => "Planned",
            Phase::Running => "Running",
            Phase::Halted { .. } => "Halted",
            Phase::Completed => "Completed",
            Phase::Aborted => "Aborted",
            Phase::Reverting => "Reverting",
            Phase::Reverted => "Reverted",
        }
    }

    /// Nothing more will happen to it.
    pub fn is_final(&self) -> bool {
        matches!(self, Phase::Completed | Phase::Aborted | Phase::Reverted)
    }
}

/// How the waves proceed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// ORBs of a wave in flight at once (pushed, not yet healthy for the bake time).
    pub max_concurrent: Limit,
    /// ORBs of a wave pushed and not yet Healthy at once.
    pub max_unavailable: Limit,
    /// How long an ORB must stay Healthy before it counts as done, in seconds.
    pub bake_seconds: u64,
    /// How long an ORB may take from its push to Healthy, in seconds.
    pub progress_deadline_seconds: u64,
}

/// One ORB of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrbRollout {
    /// ORB name.
    pub name: String,
    /// Index of its wave.
    pub wave: usize,
    /// The commit (hex) the change was planned against (None: an empty repo).
    pub base: Option<String>,
    /// The planned text of the file.
    pub content: String,
    /// The plan's counts (`1 to update`) and notes.
    pub plan: String,
    /// The unified diffs of the plan (server-side dry run).
    pub diff: String,
    /// Where it is.
    pub state: OrbState,
    /// When it entered that state.
    #[serde(with = "time")]
    pub since: DateTime<Utc>,
    /// The rollout's commit on its remote, once pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// When it was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub pushed_at: Option<DateTime<Utc>>,
    /// When it last became Healthy (None while it is not).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub healthy_at: Option<DateTime<Utc>>,
    /// The commit the engine last reported applied (current/status.yaml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
    /// The engine's health roll-up, as last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The revert commit, once reverted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_commit: Option<String>,
    /// The last thing said about it.
    #[serde(default)]
    pub message: String,
}

/// One line of a rollout's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    #[serde(with = "time")]
    pub time: DateTime<Utc>,
    /// The ORB, or empty for the rollout itself.
    #[serde(default)]
    pub orb: String,
    /// What happened.
    pub message: String,
}

/// A whole rollout: the plan and every ORB's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// Its id, named in every commit it makes.
    pub id: String,
    /// When it was planned.
    #[serde(with = "time")]
    pub created: DateTime<Utc>,
    /// The fleet selector it was planned with.
    pub selector: String,
    /// The change.
    pub change: FleetChange,
    /// How the waves proceed.
    pub strategy: Strategy,
    /// The waves, canary first.
    pub waves: Vec<Wave>,
    /// ORBs the selector matched that no wave takes: never pushed.
    #[serde(default)]
    pub unassigned: Vec<String>,
    /// Every ORB in a wave.
    pub orbs: Vec<OrbRollout>,
    /// Where it is.
    #[serde(flatten)]
    pub phase: Phase,
    /// What happened, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
}

impl Rollout {
    /// The ORB called `name`.
    pub fn orb(&self, name: &str) -> Option<&OrbRollout> {
        self.orbs.iter().find(|o| o.name == name)
    }

    /// The ORB called `name`, to change it.
    pub fn orb_mut(&mut self, name: &str) -> Option<&mut OrbRollout> {
        self.orbs.iter_mut().find(|o| o.name == name)
    }

    /// Records `message` in the history.
    pub fn log(&mut self, now: DateTime<Utc>, orb: &str, message: impl Into<String>) {
        self.events.push(Event {
            time: now,
            orb: orb.to_string(),
            message: message.into(),
        });
    }

    /// Moves `orb` to `state` with `message`, noting the time and the history.
    pub fn set_state(&mut self, orb: &str, state: OrbState, message: &str, now: DateTime<Utc>) {
        let Some(o) = self.orb_mut(orb) else {
            return;
        };
        if o.state != state {
            o.since = now;
        }
        if state == OrbState::Healthy && o.state != OrbState::Healthy {
            o.healthy_at = Some(now);
        } else if state != OrbState::Healthy {
            o.healthy_at = None;
        }
        o.state = state;
        o.message = message.to_string();
        let line = if message.is_empty() {
            state.as_str().to_string()
        } else {
            format!("{}: {message}", state.as_str())
        };
        self.log(now, orb, line);
    }

    /// Whether `orb` is done with its wave: Healthy for the bake time, Unchanged or Skipped.
    pub fn is_done(&self, orb: &OrbRollout, now: DateTime<Utc>) -> bool {
        match orb.state {
            OrbState::Unchanged | OrbState::Skipped => true,
            OrbState::Healthy => orb.healthy_at.is_some_and(|t| {
                (now - t).num_milliseconds() >= self.strategy.bake_seconds as i64 * 1000
            }),
            _ => false,
        }
    }

    /// Wave `wave`'s (maxConcurrent, maxUnavailable): its own where it has them, else the
    /// rollout's.
    pub fn limits(&self, wave: usize) -> (Limit, Limit) {
        let own = self.waves.get(wave);
        (
            own.and_then(|w| w.max_concurrent)
                .unwrap_or(self.strategy.max_concurrent),
            own.and_then(|w| w.max_unavailable)
                .unwrap_or(self.strategy.max_unavailable),
        )
    }

    /// The first wave with an ORB not done (None: all are done).
    pub fn current_wave(&self, now: DateTime<Utc>) -> Option<usize> {
        (0..self.waves.len()).find(|w| {
            self.orbs
                .iter()
                .any(|o| o.wave == *w && !self.is_done(o, now))
        })
    }

    /// (ready, total) ORBs, (wave shown, waves), (unavailable, allowed) in the current wave:
    /// the figures of the header `ready 7/20 · wave 2/4 · unavailable 1/2`.
    pub fn summary(&self, now: DateTime<Utc>) -> Summary {
        let ready = self.orbs.iter().filter(|o| self.is_done(o, now)).count();
        let wave = self.current_wave(now);
        let shown = wave.unwrap_or(self.waves.len().saturating_sub(1));
        let members = self.orbs.iter().filter(|o| o.wave == shown);
        let size = members.clone().count();
        let unavailable = members.filter(|o| o.state.is_unavailable()).count();
        Summary {
            ready,
            total: self.orbs.len(),
            wave: shown + 1,
            waves: self.waves.len(),
            unavailable,
            max_unavailable: self.limits(shown).1.resolve(size),
        }
    }
}

/// The header figures of a rollout (see [`Rollout::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// ORBs done.
    pub ready: usize,
    /// ORBs in waves.
    pub total: usize,
    /// The wave in progress, 1-based (the last when all are done).
    pub wave: usize,
    /// Waves.
    pub waves: usize,
    /// ORBs of that wave pushed and not yet Healthy.
    pub unavailable: usize,
    /// How many may be.
    pub max_unavailable: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ready {}/{} · wave {}/{} · unavailable {}/{}",
            self.ready, self.total, self.wave, self.waves, self.unavailable, self.max_unavailable
        )
    }
}

/// A new rollout id: `r` and the time to the second, with four random hex digits.
pub fn new_id(now: DateTime<Utc>) -> String {
    use rand::Rng as _;
    format!(
        "r{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        rand::rng().random_range(0..0x10000u32)
    )
}

/// Why a rollout file could not be read or written; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such rollout.
    #[error("no rollout {id} in {dir} (see `orbdeck rollout list`)")]
    NotFound {
        /// The id asked for.
        id: String,
        /// The rollouts directory.
        dir: String,
    },
    /// Reading, writing or locking failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a rollout.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
}

/// The rollouts directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// An exclusive hold on one rollout's file; released when dropped.
pub struct Locked {
    _file: std::fs::File,
}

impl Store {
    /// Rollouts kept in `dir` (`<data dir>/rollouts`).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of rollout `id`.
    pub fn file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.yaml"))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Refuses an id that is not one [`new_id`] makes (letters, digits, `-`): never a path.
    fn known(&self, id: &str) -> Result<(), StoreError> {
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(());
        }
        Err(StoreError::NotFound {
            id: crate::text::sanitize(id).into_owned(),
            dir: self.dir.display().to_string(),
        })
    }

    fn lock_file(&self, id: &str, suffix: &str) -> Result<std::fs::File, StoreError> {
        self.known(id)?;
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let path = self.dir.join(format!("{id}.{suffix}"));
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Self::io(&path))
    }

    /// Waits for the exclusive hold on rollout `id`'s file (every change to it is made holding it).
    pub fn lock(&self, id: &str) -> Result<Locked, StoreError> {
        let file = self.lock_file(id, "lock")?;
        file.lock().map_err(Self::io(&self.dir))?;
        Ok(Locked { _file: file })
    }

    /// The hold of the one process running rollout `id`'s loop, or None when another holds it.
    pub fn try_lock_runner(&self, id: &str) -> Result<Option<Locked>, StoreError> {
        let file = self.lock_file(id, "run.lock")?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Locked { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Self::io(&self.dir)(e)),
        }
    }

    /// Reads rollout `id`.
    pub fn load(&self, id: &str) -> Result<Rollout, StoreError> {
        self.known(id)?;
        let path = self.file(id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    id: id.to_string(),
                    dir: self.dir.display().to_string(),
                });
            }
            Err(e) => return Err(Self::io(&path)(e)),
        };
        serde_saphyr::from_str(&text).map_err(|e| StoreError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Writes `rollout` atomically (temp file, fsync, rename).
    pub fn save(&self, rollout: &Rollout) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let path = self.file(&rollout.id);
        let text = serde_saphyr::to_string(rollout).map_err(|e| StoreError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let tmp = path.with_extension(format!("yaml.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(Self::io(&path))
    }

    /// Every rollout, newest first; unreadable files are skipped.
    pub fn list(&self) -> Vec<Rollout> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Rollout> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".yaml")?;
                self.load(id).ok()
            })
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        out
    }
}

/// RFC 3339 times in the file.
mod time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Optional RFC 3339 times in the file.
mod opt_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::time::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
