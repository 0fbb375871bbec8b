//! The control room's runtime: the terminal (raw mode, alternate screen, restored on exit and on
//! panic), the event loop feeding keys, ticks, live data and effect results to [`update`], and a
//! frame drawn after each batch. Logs go to a file in the data dir, never to the screen.

mod describe;
pub mod effects;
pub mod live;
mod logs;
mod rollouts;
mod scalar_edit;

use super::{Action, Clock, Effect, Keymap, Settings, State, render, update};
use crate::fleet::config::{FleetConfig, Paths};
use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event, EventStream, KeyEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Why the control room could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The key overrides of the fleet config do not parse or conflict (the keymap's message).
    #[error("keys: {0}")]
    Keys(String),
    /// The terminal could not be set up or drawn on.
    #[error("terminal: {0}")]
    Terminal(#[source] std::io::Error),
    /// Reading the terminal's input failed.
    #[error("terminal input: {0}")]
    Input(#[source] std::io::Error),
}

/// How the control room is opened.
pub struct Options {
    /// The fleet.
    pub config: FleetConfig,
    /// Where clones, drafts and the log live.
    pub paths: Paths,
    /// `--write`: every ORB writable.
    pub write_all: bool,
    /// Key overrides from the config (action name → keys).
    pub keys: std::collections::BTreeMap<String, String>,
    /// `dark` or `light`.
    pub theme: &'static str,
    /// Drafts are deleted when the program ends (the demo without `--keep`).
    pub drafts_are_temporary: bool,
}

/// Where the UI's log goes.
pub fn log_path(paths: &Paths) -> PathBuf {
    paths.data.join("orbdeck.log")
}

/// Starts logging to the log file (the only subscriber while the UI runs); the guard flushes it.
pub fn start_logging(paths: &Paths) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(&paths.data).ok()?;
    let appender = tracing_appender::rolling::never(&paths.data, "orbdeck.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORBDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

fn clock() -> Clock {
    Clock {
        now: Instant::now(),
        unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    }
}

/// Puts the terminal back: raw mode off, main screen, cursor shown.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal first and says where the log is.
fn install_panic_hook(log: &Path) {
    let log = log.to_path_buf();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!(%info, "panic");
        eprintln!("orbdeck crashed; the log is at {}", log.display());
        previous(info);
    }));
}

/// Runs the control room until the user quits.
pub async fn run(options: Options) -> Result<(), RunError> {
    let keymap = Keymap::from_overrides(&options.keys).map_err(RunError::Keys)?;
    let settings = Settings {
        keymap,
        theme: options.theme,
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        write_all: options.write_all,
        drafts_home: (!options.drafts_are_temporary)
            .then(|| options.paths.drafts_dir().display().to_string()),
    };
    let log = log_path(&options.paths);
    install_panic_hook(&log);
    enable_raw_mode().map_err(RunError::Terminal)?;
    // Bracketed paste: a paste arrives as one event (one undo step in the editor).
    if let Err(e) = execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste
    ) {
        restore();
        return Err(RunError::Terminal(e));
    }
    let result = event_loop(options, settings).await;
    restore();
    result
}

async fn event_loop(options: Options, settings: Settings) -> Result<(), RunError> {
    let mut terminal =
        Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(RunError::Terminal)?;
    let fleet = live::initial_views(&options.config, options.write_all);
    let mut state = State::new(fleet, settings, clock());
    let size = terminal.size().map_err(RunError::Terminal)?;
    update(&mut state, Action::Resize(size.width, size.height));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let (wanted_tx, wanted) = tokio::sync::watch::channel(None);
    live::spawn(
        &options.config,
        &options.paths,
        options.write_all,
        tx.clone(),
        wanted,
        shutdown.clone(),
    );
    // One batch of log lines in flight: a stream outrunning the screen waits (backpressure).
    let (logs_tx, mut logs_rx) = tokio::sync::mpsc::channel(1);
    // `--write`: every ORB writable, for the effects and rollouts as for the views.
    let mut writable = options.config.clone();
    if options.write_all {
        for entry in &mut writable.orbs {
            entry.write = true;
        }
    }
    rollouts::spawn(&writable, &options.paths, tx.clone(), shutdown.clone());
    let env = effects::Env::new(writable, options.paths.clone(), tx, logs_tx);
    // Draft files are read and written by one task, in the order asked: a file reopened right
    // after its last edit reads that edit.
    let (drafts_tx, mut drafts_rx) = tokio::sync::mpsc::unbounded_channel::<Effect>();
    let drafts_env = env.clone();
    tokio::spawn(async move {
        while let Some(effect) = drafts_rx.recv().await {
            effects::run(drafts_env.clone(), effect).await;
        }
    });
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let _guard = shutdown.clone().drop_guard();
    // A frame is drawn when something happened; while idle, once a second (for ages).
    let mut redraw = true;
    let mut drawn = Instant::now();
    loop {
        if redraw || drawn.elapsed() >= IDLE_FRAME {
            terminal
                .draw(|frame| render(&state, frame))
                .map_err(RunError::Terminal)?;
            drawn = Instant::now();
        }
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Action::Key(key),
                Some(Ok(Event::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(Event::Paste(text))) => Action::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(RunError::Input(e)),
                None => return Ok(()),
            },
            Some(action) = rx.recv() => action,
            Some(action) = logs_rx.recv() => action,
            _ = tick.tick() => Action::Tick(clock()),
        };
        let mut batch = vec![action];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        // A tick changes what is seen only when it expires a message or saves a draft.
        let idle = batch.iter().all(|a| matches!(a, Action::Tick(_)));
        let seen = |s: &State| {
            (
                s.message.is_some(),
                s.editor.as_ref().map(|e| (e.dirty, e.drafted)),
            )
        };
        let before = seen(&state);
        redraw = !idle;
        for action in batch {
            for effect in update(&mut state, action) {
                if effect == Effect::Quit {
                    return Ok(());
                }
                match effect {
                    Effect::Watch(watch) => {
                        wanted_tx.send_replace(watch);
                    }
                    Effect::SaveDraft { .. }
                    | Effect::DiscardDraft { .. }
                    | Effect::OpenFile { .. } => {
                        let _ = drafts_tx.send(effect);
                    }
                    _ => {
                        tokio::spawn(effects::run(env.clone(), effect));
                    }
                }
            }
        }
        redraw |= seen(&state) != before;
    }
}

/// How often an idle screen is redrawn (ages in the tables move on).
const IDLE_FRAME: Duration = Duration::from_secs(1);
