//! The control room's pure core (Elm-like): `State` → [`render`] draws it; input and results
//! become an [`Action`]; [`update`] changes the state and returns [`Effect`]s for the runtime.
//!
//! The runtime (`runtime/`: terminal, event loop, live data, effects) sends `Action::Resize` once
//! and `Action::Tick` every 50 ms, feeds each ORB's view with `OrbUpdated`, runs each `Effect`,
//! and sends its result back as an `Action`.

pub mod action;
pub mod data;
pub mod diff;
pub mod editor;
mod index;
pub mod keymap;
mod kinds;
mod layout;
pub mod logs;
mod order;
mod render;
pub mod runtime;
pub mod state;
pub mod tab;
pub mod templates;
pub mod theme;
mod update;

pub use action::{Action, Clock, Effect, LiveWatch, LogRequest, ObjectRef, UpgradeOp, Watched};
pub use data::{
    AccessRow, AccessTable, ChildRow, DraftKind, DraftRow, DriftRow, EngineInfo, EventRow, Health,
    HistoryRow, LiveRow, LiveTable, NodeRow, OrbView, OwnerKind, ProfileRow, QuotaRow,
    ReplicationRow, RepoInfo, RolloutRow, SyncInfo, UpgradeRow, Upstream, Usage,
};
pub use keymap::{Command, Context, KeySpec, Keymap};
pub use render::render;
pub use state::{Focus, Mode, Scope, Settings, State};
pub use tab::Tab;
pub use theme::Theme;
pub use update::update;
