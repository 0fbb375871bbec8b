//! The control room: update and render as pure functions, and end to end in a real terminal (tmux).

#[path = "../common/mod.rs"]
mod common;
#[path = "../ui_fixtures/mod.rs"]
mod fixtures;

mod ui_render;
mod ui_tmux;
mod ui_update;
