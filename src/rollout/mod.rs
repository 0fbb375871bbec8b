//! Fleet-wide rollouts: one change made to many ORBs, canary first, in waves, halting by itself
//! on the first ORB that goes bad, resumable, skippable, abortable and revertible. Called by
//! `orbdeck rollout` and read by the control room's Rollouts view.
//!
//! [`change`] says what one edit does to a file, [`options`] what a plan is asked with, [`waves`] groups ORBs and resolves limits,
//! [`plan`] plans the change on every selected ORB (its diff and server-side dry run),
//! [`step`] is the pure loop, [`run`] carries it out through the normal write path, and
//! [`state`] keeps it all in a file under the data dir; [`report`] puts it in words.

pub mod change;
pub mod options;
pub mod plan;
pub mod report;
pub mod run;
pub mod state;
pub mod step;
pub mod waves;

pub use state::{OrbState, Phase, Rollout, Store};

/// Why a rollout could not be planned, changed or run; each names the ORB or file.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The selector matched no ORB of the fleet.
    #[error("the selector {0:?} matches no ORB of the fleet (see `orbdeck orb list`)")]
    NoOrbs(String),
    /// Some ORBs could not be planned; nothing was saved.
    #[error("the change cannot be planned on every ORB; nothing was saved:\n{}", .0.join("\n"))]
    Plan(Vec<String>),
    /// The rollout file could not be read or written.
    #[error(transparent)]
    Store(#[from] state::StoreError),
    /// The operator asked for something the rollout's phase does not allow.
    #[error("rollout {id} is {phase}: {message}")]
    Phase {
        /// The rollout.
        id: String,
        /// Its phase.
        phase: String,
        /// What cannot be done, and what can.
        message: String,
    },
    /// Another process runs this rollout's loop.
    #[error(
        "rollout {0} is already being run by another process; `orbdeck rollout status {0}` shows where it is"
    )]
    Busy(String),
    /// A blocking task did not finish.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}
