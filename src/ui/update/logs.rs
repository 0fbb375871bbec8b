//! The log view's keys and its stream's results: `l` opens it on the selected pod or workload of
//! the Live tab; follow, wrap, timestamps, previous, container, tail and search change it; lines
//! arriving from the runtime are appended to its bounded buffer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::moved;
use crate::ui::action::{Effect, LogRequest};
use crate::ui::keymap::{Command, Context};
use crate::ui::layout;
use crate::ui::logs::{LogLine, LogStatus, LogView, TAILS};
use crate::ui::state::{Level, Mode, State};
use crate::ui::tab::Tab;

/// `l` in the tables: the log of the selected pod, or of the selected workload's first pod.
pub(super) fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let row = state.selected_row().filter(|_| state.tab == Tab::Live);
    let Some((orb, row)) = row else {
        return state.say(
            Level::Info,
            "l shows the log of a pod or workload: open :pods or :deploy first.",
        );
    };
    let view = &state.fleet[orb as usize];
    let r = &view.live.rows[row as usize];
    let mut logs = LogView::new(&view.name, &r.namespace, &r.name, r.containers.clone());
    if view.live.kind != "Pod" {
        if r.selector.is_empty() {
            let text = format!(
                "{} {} runs no pods: l shows logs of pods and workloads.",
                view.live.kind, r.name
            );
            return state.say(Level::Info, text);
        }
        logs.workload = Some(format!("{} {}", view.live.kind, r.name));
        logs.selector = r.selector.clone();
        logs.pod = String::new();
    }
    state.logs = Some(logs);
    state.mode = Mode::Logs;
    restart(state, fx);
}

/// Starts the view's stream again (after a change of container, tail or previous).
fn restart(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(v) = state.logs.as_mut() else { return };
    v.restart();
    fx.push(Effect::Logs(LogRequest {
        stream: v.stream,
        orb: v.orb.clone(),
        namespace: v.namespace.clone(),
        pod: v.pod.clone(),
        selector: if v.pod.is_empty() {
            v.selector.clone()
        } else {
            String::new()
        },
        container: v.container_name().map(str::to_owned),
        tail: v.tail,
        previous: v.previous,
    }));
}

/// Lines the view shows at the terminal's size.
pub(crate) fn page(state: &State) -> usize {
    layout::log_rows(state.size)
}

/// Keys while the log view is open.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let page = page(state);
    let Some(v) = state.logs.as_mut() else {
        state.mode = Mode::Normal;
        return;
    };
    if v.typing {
        match key.code {
            KeyCode::Esc => {
                v.typing = false;
                v.search.clear();
            }
            KeyCode::Enter => {
                v.typing = false;
                jump(v, page, true);
            }
            KeyCode::Backspace => {
                v.search.pop();
            }
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                v.search.push(c);
            }
            _ => {}
        }
        return;
    }
    let Some(cmd) = state.keymap.command(Context::Logs, &key) else {
        return;
    };
    let len = v.lines.len();
    let top = if v.follow {
        len.saturating_sub(page)
    } else {
        v.scroll
    };
    if let Some(pos) = moved(cmd, top, len.saturating_sub(page) + 1, page) {
        v.scroll = pos;
        // Up and away from the end stops following; the end (G) follows again.
        v.follow = cmd == Command::Bottom || (v.follow && pos >= top);
        return;
    }
    match cmd {
        Command::Back => {
            state.logs = None;
            state.mode = Mode::Normal;
            fx.push(Effect::StopLogs);
        }
        Command::LogFollow => {
            v.follow = !v.follow;
            v.scroll = top;
        }
        Command::LogWrap => v.wrap = !v.wrap,
        Command::LogTimestamps => v.timestamps = !v.timestamps,
        Command::LogPrevious => {
            v.previous = !v.previous;
            restart(state, fx);
        }
        Command::LogContainer if v.containers.len() > 1 => {
            v.container = (v.container + 1) % v.containers.len();
            restart(state, fx);
        }
        Command::LogContainer => {
            state.say(Level::Info, "The pod has one container.");
        }
        Command::LogTail => {
            let next = TAILS.iter().position(|&t| t == v.tail).map_or(0, |i| i + 1);
            v.tail = TAILS[next % TAILS.len()];
            restart(state, fx);
        }
        Command::LogSearch => {
            v.typing = true;
            v.search.clear();
        }
        Command::LogNext => jump(v, page, true),
        Command::LogPrev => jump(v, page, false),
        _ => {}
    }
}

/// Scrolls to the next (or previous) line matching the search after the window's top line,
/// around the end of the buffer.
fn jump(v: &mut LogView, page: usize, forward: bool) {
    if v.search.is_empty() {
        return;
    }
    let len = v.lines.len();
    let top = if v.follow {
        len.saturating_sub(page)
    } else {
        v.scroll
    };
    // Around the buffer, the window's top line last.
    let found = if forward {
        (top + 1..len)
            .chain(0..=top.min(len))
            .find(|&i| v.matches(i))
    } else {
        (0..top)
            .rev()
            .chain((top..len).rev())
            .find(|&i| v.matches(i))
    };
    if let Some(i) = found {
        v.follow = false;
        v.scroll = i;
    }
}

/// Lines of stream `stream` arrived.
pub(super) fn on_lines(state: &mut State, stream: u64, lines: Vec<LogLine>) {
    if let Some(v) = state.logs.as_mut().filter(|v| v.stream == stream) {
        v.push(lines);
    }
}

/// The pod a workload's stream reads.
pub(super) fn on_pod(state: &mut State, stream: u64, pod: String, containers: Vec<String>) {
    if let Some(v) = state.logs.as_mut().filter(|v| v.stream == stream) {
        v.pod = pod;
        v.containers = containers;
    }
}

/// The stream ended.
pub(super) fn on_ended(state: &mut State, stream: u64, why: String) {
    if let Some(v) = state.logs.as_mut().filter(|v| v.stream == stream) {
        v.status = LogStatus::Ended(why);
    }
}
