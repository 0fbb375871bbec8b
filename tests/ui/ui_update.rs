//! Behaviour of `update`: keys and results in, state and effects out, as an operator would
//! drive the control room.

use crate::fixtures as common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orbdeck::ui::action::PushResult;
use orbdeck::ui::editor::EditorPane;
use orbdeck::ui::state::{Confirm, Level, Viewer};
use orbdeck::ui::{
    Action, Command, Context, Effect, Keymap, Mode, ObjectRef, Scope, Settings, State, Tab,
    UpgradeOp, Watched,
};

fn names(s: &State) -> Vec<String> {
    s.rows
        .iter()
        .map(|&(o, r)| s.fleet[o as usize].profiles[r as usize].name.clone())
        .collect()
}

fn cpu(s: &State) -> Vec<f64> {
    s.rows
        .iter()
        .map(|&(o, r)| {
            s.fleet[o as usize].profiles[r as usize]
                .cpu
                .as_ref()
                .unwrap()
                .used
        })
        .collect()
}

fn message(s: &State) -> String {
    s.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

#[test]
fn filter_narrows_rows_and_esc_clears_it() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "2");
    assert_eq!(s.rows.len(), 12);
    type_text(&mut s, "/");
    assert_eq!(s.mode, Mode::Filter);
    type_text(&mut s, "ALI");
    assert_eq!(names(&s), ["alice"], "case-insensitive, live while typing");
    send(&mut s, key(KeyCode::Backspace));
    send(&mut s, key(KeyCode::Backspace));
    assert!(s.rows.len() > 1, "deleting widens the filter again");
    type_text(&mut s, "li");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(names(&s), ["alice"], "enter keeps the filter");
    send(&mut s, key(KeyCode::Esc));
    assert_eq!(s.rows.len(), 12, "esc clears the kept filter");
    assert!(s.view().filter.is_empty());
    type_text(&mut s, "/geo");
    assert_eq!(s.rows.len(), 1);
    send(&mut s, key(KeyCode::Esc));
    assert_eq!(
        (s.rows.len(), &s.mode),
        (12, &Mode::Normal),
        "esc while typing clears too"
    );
}

#[test]
fn a_kept_filter_holds_across_sorts_in_the_new_order() {
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, "2");
    let all = names(&s);
    type_text(&mut s, "/-");
    send(&mut s, key(KeyCode::Enter));
    let kept: Vec<String> = all.iter().filter(|n| n.contains('-')).cloned().collect();
    assert!(kept.len() > 1 && kept.len() < all.len(), "{kept:?}");
    assert_eq!(names(&s), kept);
    send(&mut s, key(KeyCode::Char('o')));
    let mut reversed = kept.clone();
    reversed.reverse();
    assert_eq!(names(&s), reversed, "the same rows, reversed");
    send(&mut s, key(KeyCode::Char('s')));
    let mut again = names(&s);
    again.sort();
    assert_eq!(again, kept, "sorted by another column: the same rows");
    // The filter grows after the sort: searched in the new order.
    let narrower: Vec<String> = names(&s).into_iter().filter(|n| n.contains("-s")).collect();
    type_text(&mut s, "/s");
    assert_eq!(s.view().filter, "-s");
    assert_eq!(narrower.len(), 2, "{narrower:?}");
    assert_eq!(names(&s), narrower);
}

#[test]
fn sorting_by_a_column_and_reversing() {
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, "2");
    let by_name = names(&s);
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted, "profiles start sorted by name");
    type_text(&mut s, "sss");
    assert_eq!(s.view().sort_column, 3, "fourth column: CPU");
    let up = cpu(&s);
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "ascending CPU: {up:?}");
    assert_ne!(names(&s), by_name);
    type_text(&mut s, "o");
    let down = cpu(&s);
    assert!(
        down.windows(2).all(|w| w[0] >= w[1]),
        "o reverses: {down:?}"
    );
    assert!(message(&s).contains("CPU, descending"));
    type_text(&mut s, "ssssss");
    assert_eq!(
        s.view().sort_column,
        0,
        "s wraps around to the first column"
    );
}

#[test]
fn command_line_completes_orb_names() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, ":orb b");
    let Mode::Command(line) = &s.mode else {
        panic!("command line open")
    };
    assert_eq!(line.candidates, ["orb beta"]);
    send(&mut s, key(KeyCode::Tab));
    let Mode::Command(line) = &s.mode else {
        panic!()
    };
    assert_eq!(line.input, "orb beta");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        (s.selected_orb, s.scope, &s.mode),
        (1, Scope::Orb, &Mode::Normal)
    );

    type_text(&mut s, ":pro");
    send(&mut s, key(KeyCode::Tab));
    let Mode::Command(line) = &s.mode else {
        panic!()
    };
    assert_eq!(line.input, "profiles");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.tab, Tab::Profiles);
    assert_eq!(names(&s), ["beta-team-0", "beta-team-1", "beta-team-2"]);

    type_text(&mut s, ":all");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.scope, Scope::Fleet);
    assert_eq!(s.rows.len(), 15, "profiles of every ORB");

    type_text(&mut s, ":orb nope");
    send(&mut s, key(KeyCode::Enter));
    assert!(message(&s).contains("No ORB named `nope`"));
}

#[test]
fn quit_asks_only_when_drafts_exist() {
    let mut s = state(fleet(), 80, 24);
    assert_eq!(type_text(&mut s, "q"), [Effect::Quit]);

    let mut s = state(fleet(), 80, 24);
    updated(&mut s, 0, |v| {
        v.drafts = vec![draft("desired/profiles/alice.yaml")]
    });
    assert!(type_text(&mut s, "q").is_empty());
    assert_eq!(s.mode, Mode::Confirm(Confirm::Quit));
    assert!(type_text(&mut s, "n").is_empty());
    assert_eq!(s.mode, Mode::Normal);
    type_text(&mut s, "q");
    assert_eq!(type_text(&mut s, "y"), [Effect::Quit]);

    // The drafts turn out pushed (a read started before the push showed them): quit, as asked.
    type_text(&mut s, "n");
    type_text(&mut s, "q");
    assert_eq!(s.mode, Mode::Confirm(Confirm::Quit));
    assert_eq!(updated(&mut s, 0, |v| v.drafts.clear()), [Effect::Quit]);
}

fn open_file(s: &mut State, orb: &str, path: &str) {
    send(
        s,
        Action::FileOpened {
            orb: orb.into(),
            path: path.into(),
            text: PROFILE_YAML.into(),
            from_draft: false,
            base: Some(BASE.into()),
            base_text: Some(PROFILE_YAML.into()),
        },
    );
    assert_eq!(s.mode, Mode::Editor);
}

#[test]
fn typing_saves_one_draft_after_300ms_of_quiet() {
    let base = Instant::now();
    let mut s = State::new(fleet(), Settings::default(), clock(base, 0));
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    assert!(
        send(&mut s, Action::Tick(clock(base, 1000))).is_empty(),
        "nothing typed, nothing saved"
    );
    type_text(&mut s, "x");
    send(&mut s, Action::Tick(clock(base, 1100)));
    type_text(&mut s, "y");
    assert!(
        send(&mut s, Action::Tick(clock(base, 1399))).is_empty(),
        "299 ms after the last key"
    );
    let fx = send(&mut s, Action::Tick(clock(base, 1400)));
    let [
        Effect::SaveDraft {
            orb,
            path,
            text,
            base: sbase,
            ..
        },
    ] = fx.as_slice()
    else {
        panic!("one SaveDraft, got {fx:?}")
    };
    assert_eq!(
        (orb.as_str(), path.as_str()),
        ("alpha", "desired/profiles/alice.yaml")
    );
    assert!(
        text.starts_with("xy# Alice's team profile\n"),
        "new text: {text}"
    );
    assert!(
        send(&mut s, Action::Tick(clock(base, 2000))).is_empty(),
        "saved once only"
    );
    assert_eq!(
        sbase.as_deref(),
        Some(BASE),
        "the draft keeps the base it was opened from"
    );
    assert_eq!(
        s.fleet[0]
            .drafts
            .iter()
            .map(|d| d.path.as_str())
            .collect::<Vec<_>>(),
        ["desired/profiles/alice.yaml"],
        "the ORB shows the draft marker"
    );
    assert!(s.has_drafts());
}

#[test]
fn undo_redo_and_search_in_the_editor() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    type_text(&mut s, "z");
    assert!(s.editor.as_ref().unwrap().text().starts_with('z'));
    send(&mut s, ctrl('z'));
    assert!(
        s.editor.as_ref().unwrap().text().starts_with('#'),
        "ctrl-z undoes"
    );
    send(&mut s, ctrl('y'));
    assert!(
        s.editor.as_ref().unwrap().text().starts_with('z'),
        "ctrl-y redoes"
    );
    send(&mut s, ctrl('f'));
    type_text(&mut s, "owner");
    send(&mut s, key(KeyCode::Enter));
    let e = s.editor.as_ref().unwrap();
    assert_eq!(
        (e.cursor().0, &e.pane),
        (8, &EditorPane::Editing),
        "cursor on the `owner:` line"
    );
}

/// The first line of the open file.
fn first_line(s: &State) -> String {
    s.editor.as_ref().unwrap().area.lines()[0].clone()
}

/// Undo steps are runs, as in other editors: a word with the blanks typed after it, backspaces
/// likewise; a cursor move or a pause of a second ends a run; a paste is one step.
#[test]
fn editor_undo_takes_back_the_last_word_not_the_last_character() {
    let base = Instant::now();
    let mut s = State::new(fleet(), Settings::default(), clock(base, 0));
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    let original = first_line(&s);
    type_text(&mut s, "hello world");
    send(&mut s, ctrl('z'));
    assert_eq!(
        first_line(&s),
        format!("hello {original}"),
        "`world` undone"
    );
    assert_eq!(
        s.editor.as_ref().unwrap().cursor(),
        (0, 6),
        "cursor where `world` began"
    );
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), original, "`hello ` undone");
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), original, "nothing left to undo");
    send(&mut s, ctrl('y'));
    assert_eq!(
        first_line(&s),
        format!("hello {original}"),
        "redo: `hello `"
    );
    send(&mut s, ctrl('y'));
    assert_eq!(
        first_line(&s),
        format!("hello world{original}"),
        "redo: `world`"
    );

    // Backspacing over `hello world`: two steps, `world` then `hello `.
    for _ in 0..11 {
        send(&mut s, key(KeyCode::Backspace));
    }
    assert_eq!(first_line(&s), original);
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), format!("hello {original}"));
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), format!("hello world{original}"));
    send(&mut s, ctrl('z'));
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), original);

    // A cursor move (there and back) ends a run.
    type_text(&mut s, "ab");
    send(&mut s, key(KeyCode::Left));
    send(&mut s, key(KeyCode::Right));
    type_text(&mut s, "cd");
    send(&mut s, ctrl('z'));
    assert_eq!(
        first_line(&s),
        format!("ab{original}"),
        "a move ends the run"
    );
    send(&mut s, ctrl('z'));

    // So does a pause.
    type_text(&mut s, "ab");
    send(&mut s, Action::Tick(clock(base, 2000)));
    type_text(&mut s, "cd");
    send(&mut s, ctrl('z'));
    assert_eq!(
        first_line(&s),
        format!("ab{original}"),
        "a pause ends the run"
    );
    send(&mut s, ctrl('z'));

    // A new line is a blank: `a: 1⏎b` is `a: `, `1⏎` and `b`.
    type_text(&mut s, "a: 1");
    send(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "b");
    send(&mut s, ctrl('z'));
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.area.lines()[..2], ["a: 1".to_string(), original.clone()]);
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), format!("a: {original}"));
    send(&mut s, ctrl('z'));
    assert_eq!(first_line(&s), original);

    // A paste is one step, however many lines and words.
    send(&mut s, Action::Paste("x: 1\r\ny: two words\n".into()));
    let e = s.editor.as_ref().unwrap();
    assert_eq!(
        e.area.lines()[..3],
        ["x: 1".to_string(), "y: two words".into(), original.clone()]
    );
    send(&mut s, ctrl('z'));
    assert_eq!(s.editor.as_ref().unwrap().text(), PROFILE_YAML, "one undo");
}

/// Outside the editor's text a paste is typed key by key (here into the row filter).
#[test]
fn a_paste_outside_the_editor_is_typed() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "2/");
    send(&mut s, Action::Paste("alice".into()));
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(names(&s), ["alice"]);
}

#[test]
fn ctrl_s_validates_and_errors_move_the_cursor() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    let fx = send(&mut s, ctrl('s'));
    assert!(
        matches!(fx.as_slice(), [Effect::Validate { orb, path, text }] if orb == "alpha" && path.ends_with("alice.yaml") && text == PROFILE_YAML),
        "{fx:?}"
    );
    send(
        &mut s,
        Action::Validated {
            errors: vec![(11, "bad owner".into()), (14, "cpu too high".into())],
        },
    );
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.cursor().0, 10, "cursor on line 11");
    assert_eq!(e.pane, EditorPane::Errors { selected: 0 });
    type_text(&mut s, "n");
    assert_eq!(s.editor.as_ref().unwrap().cursor().0, 13, "n: next error");
    type_text(&mut s, "p");
    assert_eq!(
        s.editor.as_ref().unwrap().cursor().0,
        10,
        "p: previous error"
    );
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        s.editor.as_ref().unwrap().pane,
        EditorPane::Editing,
        "enter returns to the text at the error"
    );
    assert_eq!(
        s.editor.as_ref().unwrap().text(),
        PROFILE_YAML,
        "n/p did not type"
    );
}

#[test]
fn plan_then_commit_message_then_commit() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    send(&mut s, ctrl('s'));
    let fx = send(&mut s, Action::Validated { errors: vec![] });
    assert!(
        matches!(fx.as_slice(), [Effect::Plan { orb, .. }] if orb == "alpha"),
        "{fx:?}"
    );
    send(
        &mut s,
        Action::Planned("~ update Profile alice\n-  cpu: 4\n+  cpu: 8\n".into()),
    );
    assert!(
        matches!(&s.editor.as_ref().unwrap().pane, EditorPane::Plan { lines, .. } if lines.len() == 3)
    );
    type_text(&mut s, "c");
    type_text(&mut s, "Raise CPU");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Commit {
            orb: "alpha".into(),
            path: "desired/profiles/alice.yaml".into(),
            text: PROFILE_YAML.into(),
            base: Some(BASE.into()),
            message: "Raise CPU".into(),
        }]
    );
    send(&mut s, Action::PushProgress("pushing".into()));
    assert_eq!(
        s.editor.as_ref().unwrap().pane,
        EditorPane::Pushing(vec!["pushing".into()])
    );
    s.fleet[0].drafts = vec![draft("desired/profiles/alice.yaml")];
    send(
        &mut s,
        Action::Pushed(PushResult::Committed("4f3e2d1".into())),
    );
    assert!(
        s.fleet[0].drafts.is_empty(),
        "Pushed(Ok) clears the draft marker"
    );
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        (s.editor.is_none(), &s.mode, s.tab),
        (true, &Mode::Normal, Tab::Desired)
    );
}

#[test]
fn push_conflict_keeps_the_draft() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    type_text(&mut s, "x");
    send(&mut s, ctrl('s'));
    send(&mut s, Action::Validated { errors: vec![] });
    send(&mut s, Action::Planned("+ x".into()));
    type_text(&mut s, "cfix");
    send(&mut s, key(KeyCode::Enter));
    send(
        &mut s,
        Action::Pushed(PushResult::Rejected("rejected: fetch first".into())),
    );
    assert!(
        s.fleet[0]
            .drafts
            .iter()
            .any(|d| d.path == "desired/profiles/alice.yaml")
    );
    send(&mut s, key(KeyCode::Esc));
    let e = s.editor.as_ref().unwrap();
    assert_eq!(
        (&e.pane, e.text().starts_with('x')),
        (&EditorPane::Editing, true),
        "back in the file, edit intact"
    );
}

#[test]
fn read_only_orb_refuses_commit_and_upgrade_control() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "beta", "desired/profiles/beta-team-0.yaml");
    send(&mut s, ctrl('s'));
    send(&mut s, Action::Validated { errors: vec![] });
    send(&mut s, Action::Planned("+ x".into()));
    assert!(type_text(&mut s, "c").is_empty());
    assert!(
        matches!(s.editor.as_ref().unwrap().pane, EditorPane::Plan { .. }),
        "no commit message input"
    );
    let m = s.message.clone().unwrap();
    assert_eq!(m.level, Level::Warn);
    assert!(
        m.text.contains("beta is read-only")
            && m.text.contains("--write")
            && m.text.contains("write: true"),
        "{}",
        m.text
    );

    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, ":orb beta");
    send(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "5");
    for k in ["p", "r", "x"] {
        assert!(type_text(&mut s, k).is_empty(), "{k} refused");
        assert!(message(&s).contains("read-only"));
        assert_eq!(s.mode, Mode::Normal);
    }
    let settings = Settings {
        write_all: true,
        ..Default::default()
    };
    let mut s = state_with(fleet(), 80, 24, settings);
    type_text(&mut s, ":orb beta");
    send(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "5");
    assert!(type_text(&mut s, "r").is_empty(), "asks first");
    let fx = type_text(&mut s, "y");
    assert_eq!(
        fx,
        [Effect::UpgradeControl {
            orb: "beta".into(),
            name: "to-1.33".into(),
            op: UpgradeOp::Resume
        }],
        "--write enables it"
    );
}

#[test]
fn upgrade_controls_ask_first_and_refuse_what_changes_nothing() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "5");
    assert!(
        type_text(&mut s, "r").is_empty(),
        "resume of a running upgrade"
    );
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("Nothing to resume")),
        "{:?}",
        s.message
    );
    assert_eq!(s.mode, Mode::Normal, "no prompt for nothing");
    assert!(type_text(&mut s, "p").is_empty(), "pause asks first");
    assert!(matches!(
        s.mode,
        Mode::Confirm(Confirm::Upgrade {
            op: UpgradeOp::Pause,
            ..
        })
    ));
    let fx = type_text(&mut s, "y");
    assert_eq!(
        fx,
        [Effect::UpgradeControl {
            orb: "alpha".into(),
            name: "to-1.33".into(),
            op: UpgradeOp::Pause
        }]
    );
    assert!(type_text(&mut s, "x").is_empty(), "abort asks first");
    assert!(matches!(
        s.mode,
        Mode::Confirm(Confirm::Upgrade {
            op: UpgradeOp::Abort,
            ..
        })
    ));
    let fx = type_text(&mut s, "y");
    assert_eq!(
        fx,
        [Effect::UpgradeControl {
            orb: "alpha".into(),
            name: "to-1.33".into(),
            op: UpgradeOp::Abort
        }]
    );
}

#[test]
fn enter_y_d_e_on_a_profile() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "2j");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Children {
            orb: "alpha".into(),
            profile: "bob-ml".into()
        }]
    );
    assert!(matches!(
        s.mode,
        Mode::Viewer(Viewer::Children { rows: None, .. })
    ));
    send(&mut s, key(KeyCode::Esc));
    let target = ObjectRef {
        kind: "Profile".into(),
        namespace: None,
        name: "bob-ml".into(),
    };
    assert_eq!(
        type_text(&mut s, "y"),
        [Effect::FetchLiveYaml {
            orb: "alpha".into(),
            target: target.clone()
        }]
    );
    send(&mut s, Action::LiveYaml("a: 1\nb: 2".into()));
    assert!(matches!(&s.mode, Mode::Viewer(Viewer::Yaml { lines: Some(l), .. }) if l.len() == 2));
    send(&mut s, key(KeyCode::Esc));
    assert_eq!(
        type_text(&mut s, "d"),
        [Effect::Diff {
            orb: "alpha".into(),
            what: orbdeck::ui::action::DiffTarget::Object {
                target,
                api_version: None
            }
        }]
    );
    send(&mut s, key(KeyCode::Esc));
    let fx = type_text(&mut s, "e");
    assert_eq!(
        fx,
        [Effect::OpenFile {
            orb: "alpha".into(),
            path: "desired/profiles/bob-ml.yaml".into()
        }]
    );
    let text: String = (1..=40).map(|i| format!("k{i}: v\n")).collect();
    send(
        &mut s,
        Action::FileOpened {
            orb: "alpha".into(),
            path: "desired/profiles/bob-ml.yaml".into(),
            text,
            from_draft: false,
            base: Some(BASE.into()),
            base_text: Some(PROFILE_YAML.into()),
        },
    );
    assert_eq!(
        s.editor.as_ref().unwrap().cursor().0,
        20,
        "cursor on the profile's line 21"
    );
}

#[test]
fn new_file_asks_for_a_name_and_is_saved_as_a_draft() {
    let base = Instant::now();
    let mut s = State::new(fleet(), Settings::default(), clock(base, 0));
    type_text(&mut s, "6n");
    assert_eq!(s.mode, Mode::NewFile { selected: 0 });
    type_text(&mut s, "jjj");
    send(&mut s, key(KeyCode::Enter));
    assert!(s.editor.is_none(), "no file before it has a name");
    type_text(&mut s, "To_1.34");
    send(&mut s, key(KeyCode::Enter));
    assert!(s.editor.is_none(), "a bad name is refused");
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("lowercase"))
    );
    for _ in 0.."To_1.34".len() {
        send(&mut s, key(KeyCode::Backspace));
    }
    type_text(&mut s, "to-1-34");
    send(&mut s, key(KeyCode::Enter));
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.path, "desired/upgrades/to-1-34.yaml");
    assert!(e.text().contains("kind: ClusterUpgrade") && e.text().contains("  name: to-1-34\n"));
    assert!(
        s.fleet[0].desired_files.contains(&e.path)
            && s.fleet[0]
                .drafts
                .iter()
                .any(|d| d.path == e.path && d.kind == orbdeck::ui::DraftKind::New)
    );
    let fx = send(&mut s, Action::Tick(clock(base, 300)));
    assert!(
        matches!(fx.as_slice(), [Effect::SaveDraft { path, base_text: None, base: Some(b), .. }] if path.ends_with("to-1-34.yaml") && b == BASE),
        "{fx:?}"
    );
    let fx = send(&mut s, key(KeyCode::Esc));
    assert!(fx.is_empty(), "already saved");
    assert_eq!((&s.mode, s.tab), (&Mode::Normal, Tab::Desired));
    assert!(s.has_drafts(), "the new file is an unpushed draft");
}

#[test]
fn esc_from_the_editor_flushes_unsaved_edits() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    type_text(&mut s, "q");
    let fx = send(&mut s, key(KeyCode::Esc));
    assert!(
        matches!(fx.as_slice(), [Effect::SaveDraft { text, .. }] if text.starts_with('q')),
        "{fx:?}"
    );
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn stale_results_are_ignored() {
    let mut s = state(fleet(), 80, 24);
    assert!(
        send(
            &mut s,
            Action::Validated {
                errors: vec![(1, "x".into())]
            }
        )
        .is_empty()
    );
    send(&mut s, Action::LiveYaml("a: 1".into()));
    send(&mut s, Action::Pushed(PushResult::Committed("abc".into())));
    assert_eq!(s.mode, Mode::Normal);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    assert!(send(&mut s, Action::Planned("+ x".into())).is_empty());
    assert_eq!(
        s.editor.as_ref().unwrap().pane,
        EditorPane::Editing,
        "a plan nobody asked for is dropped"
    );
}

/// Sorting again by a column reuses the order computed for it, until the rows change: after a
/// data update, the same column sorts the new rows, both ways, with ties kept in row order.
#[test]
fn a_data_update_sorts_the_new_rows_again() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "2");
    type_text(&mut s, "s");
    assert_eq!(s.view().sort_column, 1, "by OWNER");
    let rows = vec![
        profile("zed", 0),
        profile("amy", 1),
        profile("bob", 2),
        profile("cat", 3),
    ];
    let owners = ["m", "z", "a", "m"];
    updated(&mut s, 0, |v| {
        v.profiles = rows;
        for (p, o) in v.profiles.iter_mut().zip(owners) {
            p.owner = o.into();
        }
    });
    assert_eq!(
        names(&s),
        ["bob", "zed", "cat", "amy"],
        "by owner, ties in row order"
    );
    type_text(&mut s, "o");
    assert_eq!(
        names(&s),
        ["amy", "zed", "cat", "bob"],
        "descending, ties in row order"
    );
    type_text(&mut s, "ssssssss");
    assert_eq!(s.view().sort_column, 0);
    assert_eq!(
        names(&s),
        ["amy", "bob", "cat", "zed"],
        "by name again, new rows"
    );
    updated(&mut s, 0, |v| v.profiles[1].name = "zzz".into());
    assert_eq!(
        names(&s),
        ["bob", "cat", "zed", "zzz"],
        "a changed key re-sorts"
    );
    type_text(&mut s, "o");
    assert_eq!(names(&s), ["zzz", "zed", "cat", "bob"]);
}

#[test]
fn data_updates_replace_one_orbs_rows() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "2");
    assert_eq!(s.rows.len(), 12);
    let rows = vec![profile("zed", 0), profile("amy", 1)];
    updated(&mut s, 0, |v| v.profiles = rows);
    assert_eq!(names(&s), ["amy", "zed"], "reindexed and sorted");
    let mut view = big_orb("alpha", 50);
    view.name = "alpha".into();
    send(&mut s, Action::OrbUpdated(0, Box::new(view)));
    assert_eq!(s.rows.len(), 50);
    updated(&mut s, 0, |v| {
        v.health = orbdeck::ui::Health::Unreachable {
            reason: "timeout".into(),
        }
    });
    assert_eq!(s.rows.len(), 50, "health alone keeps the cached rows");
}

#[test]
fn navigation_moves_and_pages() {
    let mut s = state(vec![big_orb("alpha", 1000)], 80, 24);
    type_text(&mut s, "2");
    let page = s.page_rows();
    send(&mut s, key(KeyCode::PageDown));
    assert_eq!(s.view().selected, page);
    type_text(&mut s, "G");
    assert_eq!(s.view().selected, 999);
    assert_eq!(s.view().offset, 1000 - page, "selection kept on screen");
    type_text(&mut s, "gjjk");
    assert_eq!(s.view().selected, 1);
    type_text(&mut s, "]");
    assert_eq!(s.tab, Tab::Quotas);
    type_text(&mut s, "[[");
    assert_eq!(s.tab, Tab::Overview);
    send(&mut s, key(KeyCode::Tab));
    assert_eq!(s.focus, orbdeck::ui::Focus::OrbList);
}

#[test]
fn keymap_overrides_parse_and_errors_are_clear() {
    let map = |pairs: &[(&str, &str)]| {
        Keymap::from_overrides(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let km = map(&[
        ("quit", "ctrl-q"),
        ("down", "j, ctrl-n"),
        ("next-tab", "shift-tab"),
        ("help", "f1"),
    ])
    .unwrap();
    let ev = |code, mods| KeyEvent::new(code, mods);
    assert_eq!(
        km.command(
            Context::Main,
            &ev(KeyCode::Char('q'), KeyModifiers::CONTROL)
        ),
        Some(Command::Quit)
    );
    assert_eq!(
        km.command(Context::Main, &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
        None,
        "q no longer quits"
    );
    assert_eq!(
        km.command(
            Context::Main,
            &ev(KeyCode::Char('n'), KeyModifiers::CONTROL)
        ),
        Some(Command::Down)
    );
    assert_eq!(
        km.command(Context::Main, &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Command::NextTab)
    );
    assert_eq!(
        km.command(Context::Main, &ev(KeyCode::F(1), KeyModifiers::NONE)),
        Some(Command::Help)
    );
    assert_eq!(km.keys_of(Command::Down), "j/ctrl-n");

    let err = map(&[("quitt", "q")]).unwrap_err();
    assert!(
        err.contains("unknown action `quitt`") && err.contains("quit"),
        "{err}"
    );
    let err = map(&[("quit", "ctrl-")]).unwrap_err();
    assert!(
        err.contains("key binding for `quit`") && err.contains("`ctrl-` is not a key"),
        "{err}"
    );
    let err = map(&[("quit", "hyper-x")]).unwrap_err();
    assert!(err.contains("`hyper-x` is not a key"), "{err}");
    let err = map(&[("quit", "f99")]).unwrap_err();
    assert!(err.contains("`f99` is not a key"), "{err}");
    let err = map(&[("quit", "")]).unwrap_err();
    assert!(err.contains("no key given"), "{err}");
    let err = map(&[("quit", "j")]).unwrap_err();
    assert!(
        err.contains("key `j` is bound to both `quit` and `down`"),
        "{err}"
    );
    let err = map(&[("save", "s")]).unwrap_err();
    assert!(
        err.contains("would stop that character being typed"),
        "{err}"
    );
    assert!(
        map(&[("next-error", "j")]).is_err(),
        "conflicts are per context: errors list uses j for down"
    );
    assert!(
        map(&[("commit", "y")]).is_ok(),
        "y is free in the plan view"
    );
}

#[test]
fn overridden_keys_drive_update_and_help() {
    let overrides = BTreeMap::from([("quit".to_string(), "ctrl-q".to_string())]);
    let settings = Settings {
        keymap: Keymap::from_overrides(&overrides).unwrap(),
        ..Default::default()
    };
    let mut s = state_with(fleet(), 200, 60, settings);
    assert!(type_text(&mut s, "q").is_empty());
    assert_eq!(send(&mut s, ctrl('q')), [Effect::Quit]);
    type_text(&mut s, "?");
    // Help scrolls: read it page by page.
    let mut text = screen(&s);
    for _ in 0..20 {
        send(&mut s, key(KeyCode::PageDown));
        text.push_str(&screen(&s));
    }
    assert!(
        text.contains("ctrl-q") && text.contains("[quit]"),
        "help lists the overridden key"
    );
    for ctx in [
        Context::Main,
        Context::Editor,
        Context::Errors,
        Context::Plan,
        Context::List,
        Context::Logs,
    ] {
        for (keys, name, _) in s.keymap.bindings(ctx, true) {
            assert!(
                text.contains(&format!("{keys:<18}")) || text.contains(&keys),
                "{keys} shown"
            );
            assert!(
                text.contains(&format!("[{name}]")),
                "[{name}] shown in help"
            );
        }
    }
}

#[test]
fn theme_switches_and_no_color_stays_plain() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, ":theme light");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.theme.name, "light");
    let settings = Settings {
        no_color: true,
        ..Default::default()
    };
    let mut s = state_with(fleet(), 80, 24, settings);
    assert_eq!(s.theme.name, "plain");
    type_text(&mut s, ":theme dark");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.theme.name, "plain");
    assert!(message(&s).contains("NO_COLOR"));
}

#[test]
fn fleet_wide_tables_act_on_the_rows_orb() {
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, ":all");
    send(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "2G");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Children {
            orb: "beta".into(),
            profile: "beta-team-2".into()
        }]
    );
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, "/beta");
    assert_eq!(s.rows.len(), 3, "the filter matches the ORB column too");
}

#[test]
fn a_read_only_file_takes_no_typing_and_offers_no_write_key() {
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, ":orb beta");
    send(&mut s, key(KeyCode::Enter));
    open_file(&mut s, "beta", "desired/profiles/beta-team-0.yaml");
    let e = s.editor.as_ref().unwrap();
    assert!(e.read_only);
    let fx = type_text(&mut s, "zz");
    assert!(fx.is_empty());
    assert_eq!(
        s.editor.as_ref().unwrap().text(),
        PROFILE_YAML,
        "nothing typed"
    );
    assert!(message(&s).contains("beta is read-only"), "{}", message(&s));
    send(&mut s, key(KeyCode::Down));
    assert_eq!(
        s.editor.as_ref().unwrap().cursor().0,
        1,
        "the cursor still moves"
    );
    let shown = screen(&s);
    assert!(shown.contains("[READ-ONLY]"), "{shown}");
    assert!(!shown.contains("undo"), "{shown}");
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, "?");
    let help = screen(&s);
    for name in [
        "[commit]",
        "[new-file]",
        "[upgrade-pause]",
        "[discard-draft]",
    ] {
        assert!(
            !help.contains(name),
            "{name} hidden in help on a read-only ORB"
        );
    }
    assert!(help.contains("read-only"), "{help}");
}

#[test]
fn an_upstream_change_shows_a_banner_and_merges_with_per_key_choices() {
    let mut s = state(fleet(), 200, 60);
    let path = "desired/profiles/alice.yaml";
    open_file(&mut s, "alpha", path);
    type_text(&mut s, "x");
    let mut row = draft(path);
    row.upstream = Some(orbdeck::ui::Upstream {
        commit: "abcdef12".into(),
        author: "Second Person".into(),
    });
    updated(&mut s, 0, |v| v.drafts = vec![row]);
    let shown = screen(&s);
    assert!(
        shown.contains("changed upstream by Second Person in abcdef12: alt-m to merge now, alt-d to see their change"),
        "{shown}"
    );
    let fx = send(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::ALT)),
    );
    assert!(
        matches!(fx.as_slice(), [Effect::Merge { base: Some(b), resolutions, .. }] if b == BASE && resolutions.is_empty()),
        "{fx:?}"
    );
    let conflict = |p: &str| orbdeck::ui::action::ConflictRow {
        doc: "kubeflow.org/v1 Profile alice".into(),
        path: p.into(),
        ours: Some("\"8\"".into()),
        theirs: Some("\"6\"".into()),
    };
    send(
        &mut s,
        Action::Conflicts {
            orb: "alpha".into(),
            path: path.into(),
            conflicts: vec![conflict("spec.a"), conflict("spec.b")],
        },
    );
    assert!(screen(&s).contains("kubeflow.org/v1 Profile alice: spec.a"));
    assert!(send(&mut s, key(KeyCode::Char('t'))).is_empty());
    assert!(
        send(&mut s, key(KeyCode::Enter)).is_empty(),
        "spec.b is still open"
    );
    assert!(message(&s).contains("1 key(s) still open"));
    type_text(&mut s, "jm");
    let fx = send(&mut s, key(KeyCode::Enter));
    let [Effect::Merge { resolutions, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let taken: Vec<_> = resolutions
        .iter()
        .map(|r| (r.path.as_str(), r.take))
        .collect();
    assert_eq!(
        taken,
        [
            ("spec.a", orbdeck::repo::merge3::Side::Theirs),
            ("spec.b", orbdeck::repo::merge3::Side::Ours)
        ]
    );
    send(
        &mut s,
        Action::Merged {
            orb: "alpha".into(),
            path: path.into(),
            text: "merged: 1\n".into(),
            base: Some("1234567890".into()),
            base_text: Some("theirs: 1\n".into()),
        },
    );
    let e = s.editor.as_ref().unwrap();
    assert_eq!(
        (e.text().as_str(), e.base.as_deref()),
        ("merged: 1\n", Some("1234567890"))
    );
    assert_eq!(e.pane, EditorPane::Editing);
    assert!(
        !screen(&s).contains("changed upstream"),
        "the banner goes with the merge"
    );
}

#[test]
fn an_edit_back_to_the_committed_text_is_no_draft() {
    let base = Instant::now();
    let mut s = State::new(fleet(), Settings::default(), clock(base, 0));
    let path = "desired/profiles/alice.yaml";
    open_file(&mut s, "alpha", path);
    type_text(&mut s, "x");
    send(&mut s, key(KeyCode::Backspace));
    let fx = send(&mut s, Action::Tick(clock(base, 1000)));
    assert_eq!(
        fx,
        [Effect::DiscardDraft {
            orb: "alpha".into(),
            path: path.into()
        }]
    );
    assert!(!s.has_drafts());
}

#[test]
fn the_commit_box_has_a_default_message_and_esc_keeps_what_was_typed() {
    let mut s = state(fleet(), 80, 24);
    open_file(&mut s, "alpha", "desired/profiles/alice.yaml");
    send(&mut s, ctrl('s'));
    send(&mut s, Action::Validated { errors: vec![] });
    send(&mut s, Action::Planned("+ x".into()));
    type_text(&mut s, "c");
    assert!(screen(&s).contains("orbdeck: edit desired/profiles/alice.yaml"));
    type_text(&mut s, "half a mess");
    send(&mut s, key(KeyCode::Esc));
    send(&mut s, ctrl('s'));
    send(&mut s, Action::Validated { errors: vec![] });
    send(&mut s, Action::Planned("+ x".into()));
    type_text(&mut s, "c");
    type_text(&mut s, "age");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Commit { message, .. }] if message == "half a message"),
        "{fx:?}"
    );
    send(
        &mut s,
        Action::Pushed(PushResult::Unchanged("0badc0de".into())),
    );
    assert!(screen(&s).contains("nothing to commit: the file equals 0badc0de"));
}

#[test]
fn the_drafts_view_opens_diffs_discards_and_commits_all() {
    let mut s = state(fleet(), 200, 60);
    updated(&mut s, 0, |v| {
        v.drafts = vec![
            draft("desired/profiles/alice.yaml"),
            draft("desired/profiles/bob-ml.yaml"),
        ]
    });
    type_text(&mut s, ":drafts");
    send(&mut s, key(KeyCode::Enter));
    assert!(screen(&s).contains("Drafts of this machine (2)"));
    let fx = type_text(&mut s, "j=");
    assert_eq!(
        fx,
        [Effect::DraftDiff {
            orb: "alpha".into(),
            path: "desired/profiles/bob-ml.yaml".into()
        }]
    );
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, ":drafts");
    send(&mut s, key(KeyCode::Enter));
    assert!(type_text(&mut s, "D").is_empty(), "asks first");
    assert!(matches!(
        s.mode,
        Mode::Confirm(Confirm::DiscardDraft { .. })
    ));
    let fx = type_text(&mut s, "y");
    assert_eq!(
        fx,
        [Effect::DiscardDraft {
            orb: "alpha".into(),
            path: "desired/profiles/alice.yaml".into()
        }]
    );
    send(
        &mut s,
        Action::DraftDiscarded {
            orb: "alpha".into(),
            path: "desired/profiles/alice.yaml".into(),
        },
    );
    assert!(screen(&s).contains("Drafts of this machine (1)"));
    assert_eq!(
        type_text(&mut s, "C"),
        [Effect::PlanAll {
            orb: "alpha".into()
        }]
    );
    send(
        &mut s,
        Action::Text("plan: 0 to create, 1 to update".into()),
    );
    type_text(&mut s, "c");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::CommitAll {
            orb: "alpha".into(),
            message: "orbdeck: edit 1 desired files".into()
        }]
    );
}

#[test]
fn a_merge_result_after_esc_is_ignored() {
    let mut s = state(fleet(), 80, 24);
    let path = "desired/profiles/alice.yaml";
    open_file(&mut s, "alpha", path);
    send(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::ALT)),
    );
    assert_eq!(s.editor.as_ref().unwrap().pane, EditorPane::Merging);
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, "x");
    let fx = send(
        &mut s,
        Action::Merged {
            orb: "alpha".into(),
            path: path.into(),
            text: "merged: 1\n".into(),
            base: Some("1234567890".into()),
            base_text: Some("theirs: 1\n".into()),
        },
    );
    assert!(fx.is_empty(), "{fx:?}");
    let e = s.editor.as_ref().unwrap();
    assert!(e.text().starts_with('x'), "the typing is kept");
    assert_eq!(e.base.as_deref(), Some(BASE), "the base is not moved");
    let fx = send(
        &mut s,
        Action::Conflicts {
            orb: "alpha".into(),
            path: path.into(),
            conflicts: vec![],
        },
    );
    assert!(fx.is_empty());
    assert_eq!(s.editor.as_ref().unwrap().pane, EditorPane::Editing);
}

fn watch_of(fx: &[Effect]) -> Option<Option<orbdeck::ui::LiveWatch>> {
    fx.iter().find_map(|e| match e {
        Effect::Watch(w) => Some(w.clone()),
        _ => None,
    })
}

#[test]
fn a_live_watch_starts_with_the_view_and_stops_when_no_view_shows_it() {
    let mut s = state(fleet(), 120, 40);
    let mut fx = type_text(&mut s, ":pods");
    fx.extend(send(&mut s, key(KeyCode::Enter)));
    let watch = watch_of(&fx).flatten().expect("a watch of pods");
    assert_eq!(
        (watch.what, watch.orbs),
        (Watched::Kind("pods".into()), vec!["alpha".to_string()])
    );
    // Another ORB: the watch moves there.
    type_text(&mut s, ":orb beta");
    let fx = send(&mut s, key(KeyCode::Enter));
    assert_eq!(watch_of(&fx).flatten().unwrap().orbs, ["beta"]);
    // Fleet-wide: every ORB.
    type_text(&mut s, ":all deploy");
    let fx = send(&mut s, key(KeyCode::Enter));
    let watch = watch_of(&fx).flatten().unwrap();
    assert_eq!(watch.what, Watched::Kind("deploy".into()));
    assert_eq!(watch.orbs.len(), s.fleet.len());
    // No view shows it: stopped.
    let fx = type_text(&mut s, "2");
    assert_eq!(watch_of(&fx), Some(None));
    // Keys that change nothing ask nothing.
    assert_eq!(watch_of(&type_text(&mut s, "j")), None);
}

#[test]
fn the_namespace_filter_is_remembered_per_orb() {
    let mut s = state(fleet(), 120, 40);
    type_text(&mut s, ":pods");
    send(&mut s, key(KeyCode::Enter));
    live(&mut s, 0, PODS, demo_pods());
    assert_eq!(s.rows.len(), 4);
    type_text(&mut s, ":ns alice");
    send(&mut s, key(KeyCode::Enter));
    let shown: Vec<&str> = s
        .rows
        .iter()
        .map(|&(o, r)| s.fleet[o as usize].live.rows[r as usize].namespace.as_str())
        .collect();
    assert_eq!(shown, ["alice", "alice"]);
    // Another ORB has its own (none); coming back finds alice's filter again.
    type_text(&mut s, ":orb beta");
    send(&mut s, key(KeyCode::Enter));
    live(
        &mut s,
        1,
        PODS,
        vec![pod("carol", "nb", "Running", 0, ("Healthy", ""))],
    );
    assert_eq!(s.rows.len(), 1);
    type_text(&mut s, ":orb alpha");
    send(&mut s, key(KeyCode::Enter));
    live(&mut s, 0, PODS, demo_pods());
    assert_eq!(s.rows.len(), 2);
    type_text(&mut s, ":ns all");
    send(&mut s, key(KeyCode::Enter));
    assert_eq!(s.rows.len(), 4);
}

#[test]
fn logs_follow_scroll_switch_container_and_ignore_an_old_stream() {
    let mut s = state(fleet(), 120, 40);
    type_text(&mut s, ":pods");
    send(&mut s, key(KeyCode::Enter));
    live(&mut s, 0, PODS, demo_pods());
    let fx = type_text(&mut s, "l");
    let Some(Effect::Logs(req)) = fx.iter().find(|e| matches!(e, Effect::Logs(_))) else {
        panic!("no log stream asked: {fx:?}");
    };
    assert_eq!(
        (req.namespace.as_str(), req.pod.as_str()),
        ("alice", "notebook-5f2cb-4kzlg")
    );
    assert_eq!(req.container.as_deref(), Some("main"));
    let first = req.stream;
    let line = |t: &str| orbdeck::ui::logs::LogLine::parse(t);
    send(
        &mut s,
        Action::LogLines {
            stream: first,
            lines: (0..100).map(|i| line(&format!("l{i}"))).collect(),
        },
    );
    let logs = s.logs.as_ref().unwrap();
    assert!(logs.follow);
    assert_eq!(logs.lines.len(), 100);
    // Up stops following; G follows again.
    type_text(&mut s, "k");
    assert!(!s.logs.as_ref().unwrap().follow);
    type_text(&mut s, "G");
    assert!(s.logs.as_ref().unwrap().follow);
    // The next container starts a new stream; lines of the old one are ignored.
    let fx = type_text(&mut s, "c");
    let Some(Effect::Logs(req)) = fx.iter().find(|e| matches!(e, Effect::Logs(_))) else {
        panic!("no new stream: {fx:?}");
    };
    assert_eq!(req.container.as_deref(), Some("sidecar"));
    send(
        &mut s,
        Action::LogLines {
            stream: first,
            lines: vec![line("late")],
        },
    );
    assert!(s.logs.as_ref().unwrap().lines.is_empty());
    // Search jumps to the match and stops following.
    send(
        &mut s,
        Action::LogLines {
            stream: req.stream,
            lines: (0..100).map(|i| line(&format!("s{i}"))).collect(),
        },
    );
    type_text(&mut s, "/s5");
    send(&mut s, key(KeyCode::Enter));
    let logs = s.logs.as_ref().unwrap();
    assert!(!logs.follow);
    assert_eq!(
        logs.lines[logs.scroll].text, "s5",
        "around the end to the first match"
    );
    // Esc closes and stops the stream.
    let fx = send(&mut s, key(KeyCode::Esc));
    assert!(fx.contains(&Effect::StopLogs));
    assert!(s.logs.is_none());
}

#[test]
fn describe_on_a_live_row_and_diff_elsewhere() {
    let mut s = state(fleet(), 120, 40);
    type_text(&mut s, ":deploy");
    send(&mut s, key(KeyCode::Enter));
    let row = orbdeck::ui::LiveRow {
        namespace: "shop".into(),
        name: "checkout".into(),
        selector: "app=checkout".into(),
        ..Default::default()
    };
    live(
        &mut s,
        0,
        ("Deployment", "apps/v1", "deployments"),
        vec![row],
    );
    let fx = type_text(&mut s, "d");
    assert!(
        fx.contains(&Effect::Describe {
            orb: "alpha".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "checkout".into(),
        }),
        "{fx:?}"
    );
    // l on a workload: the log of its pods, found by its selector.
    send(&mut s, key(KeyCode::Esc));
    let fx = type_text(&mut s, "l");
    let Some(Effect::Logs(req)) = fx.iter().find(|e| matches!(e, Effect::Logs(_))) else {
        panic!("no log stream: {fx:?}");
    };
    assert_eq!(
        (req.pod.as_str(), req.selector.as_str()),
        ("", "app=checkout")
    );
    // d on a Profile is still the diff of desired against live.
    send(&mut s, key(KeyCode::Esc));
    let fx = type_text(&mut s, "2d");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Diff { .. })),
        "{fx:?}"
    );
}

#[test]
fn a_search_in_a_short_log_pauses_on_its_match() {
    let mut s = state(fleet(), 200, 50);
    type_text(&mut s, ":pods");
    send(&mut s, key(KeyCode::Enter));
    live(&mut s, 0, PODS, demo_pods());
    type_text(&mut s, "l");
    let stream = s.logs.as_ref().unwrap().stream;
    let lines = ["a", "b", "kernel 000a idle for 10s", "c"]
        .iter()
        .map(|t| orbdeck::ui::logs::LogLine::parse(t))
        .collect();
    send(&mut s, Action::LogLines { stream, lines });
    type_text(&mut s, "t/idle for");
    send(&mut s, key(KeyCode::Enter));
    let logs = s.logs.as_ref().unwrap();
    assert!(!logs.follow);
    assert_eq!(logs.scroll, 2);
}

/// A sort names a column, not a position: sorting `:all` Quotas by `%` (behind the ORB column)
/// and opening one ORB still sorts by `%`, and back fleet-wide too.
#[test]
fn sorting_by_a_named_column_survives_switching_orbs() {
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, ":all");
    send(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "3");
    for _ in 0..10 {
        if message(&s).starts_with("Sorted by %,") {
            break;
        }
        type_text(&mut s, "s");
    }
    assert!(
        message(&s).starts_with("Sorted by %, ascending"),
        "{}",
        message(&s)
    );
    assert!(screen(&s).contains("%↑"), "{}", screen(&s));
    type_text(&mut s, ":orb alpha");
    send(&mut s, key(KeyCode::Enter));
    let one = screen(&s);
    assert!(one.contains("%↑") && !one.contains("SOURCE↑"), "{one}");
    type_text(&mut s, ":all");
    send(&mut s, key(KeyCode::Enter));
    assert!(screen(&s).contains("%↑"), "{}", screen(&s));
}

/// `:alerts` lists what the header's alerts count, one line per problem, naming the ORB.
#[test]
fn alerts_open_with_what_they_count() {
    let mut s = state(fleet(), 200, 60);
    let header = screen(&s);
    assert!(header.contains("alerts 2"), "{header}");
    type_text(&mut s, ":alerts");
    send(&mut s, key(KeyCode::Enter));
    let shown = screen(&s);
    assert!(shown.contains("Alerts: 2 of 5 ORBs"), "{shown}");
    assert!(
        shown.contains("gamma: cluster unreachable: dial tcp"),
        "{shown}"
    );
    assert!(
        shown.contains("delta: credentials refused: Unauthorized"),
        "{shown}"
    );
}

/// Tab completes what the candidates share, then cycles through them (shift-tab backwards);
/// typing starts over from the new input.
#[test]
fn tab_cycles_through_the_completions() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, ":orb ");
    let input = |s: &State| match &s.mode {
        Mode::Command(line) => line.input.clone(),
        _ => panic!("command line open"),
    };
    send(&mut s, key(KeyCode::Tab));
    let first = input(&s);
    send(&mut s, key(KeyCode::Tab));
    let second = input(&s);
    assert!(first.starts_with("orb ") && second.starts_with("orb ") && first != second);
    send(&mut s, key(KeyCode::BackTab));
    assert_eq!(input(&s), first, "shift-tab goes back");
    type_text(&mut s, "x");
    assert_eq!(
        input(&s),
        format!("{first}x"),
        "typing goes on from the choice"
    );
}

#[test]
fn row_keys_wait_for_the_main_pane_to_have_focus() {
    let mut s = state(fleet(), 120, 40);
    type_text(&mut s, "2");
    send(&mut s, key(KeyCode::Tab));
    let fx = type_text(&mut s, "y");
    assert_eq!(s.mode, Mode::Normal, "no viewer opens from the ORB list");
    assert!(fx.is_empty(), "{fx:?}");
    assert!(
        message(&s).contains("The ORB list has focus"),
        "{}",
        message(&s)
    );
    // The list's title carries the focus mark, the main pane's does not.
    let text = screen(&s);
    assert!(text.contains("▶ ORBs"), "{text}");
    assert!(!text.contains("▶ Profiles"), "{text}");
    send(&mut s, key(KeyCode::Tab));
    let fx = type_text(&mut s, "y");
    assert!(
        matches!(s.mode, Mode::Viewer(Viewer::Yaml { .. })),
        "{:?}",
        s.mode
    );
    assert_eq!(fx.len(), 1, "{fx:?}");
}

#[test]
fn below_80_columns_only_the_focused_pane_shows() {
    let mut s = state(fleet(), 60, 15);
    type_text(&mut s, "2");
    let text = screen(&s);
    assert!(
        text.contains("▶ Profiles alpha") && !text.contains("┌ ORBs"),
        "{text}"
    );
    send(&mut s, key(KeyCode::Tab));
    let text = screen(&s);
    assert!(
        text.contains("▶ ORBs 5") && !text.contains("Profiles alpha"),
        "{text}"
    );
    // Another ORB from the list, then back to its tables.
    type_text(&mut s, "j");
    send(&mut s, key(KeyCode::Enter));
    assert!(screen(&s).contains("▶ Profiles beta"), "{}", screen(&s));
}

#[test]
fn enter_on_an_event_shows_it_whole_and_a_cut_message_is_kept_for_msg() {
    let mut s = state(fleet(), 80, 24);
    let long = format!(
        "0/5 nodes are available: {}",
        "insufficient nvidia.com/gpu, ".repeat(8)
    );
    updated(&mut s, 0, |v| v.events[0].message = long.clone());
    type_text(&mut s, "7");
    send(&mut s, key(KeyCode::Enter));
    let Mode::Viewer(Viewer::Message { lines, .. }) = &s.mode else {
        panic!("{:?}", s.mode);
    };
    assert!(lines.contains(&long), "{lines:?}");
    // Wrapped on screen: the end of the message is there too.
    assert!(
        screen(&s).contains("insufficient nvidia.com/gpu,"),
        "{}",
        screen(&s)
    );
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, "e");
    let said = message(&s);
    assert!(
        screen(&s).contains("(:msg)"),
        "a cut message says where to read it"
    );
    type_text(&mut s, ":msg");
    send(&mut s, key(KeyCode::Enter));
    let Mode::Viewer(Viewer::Message { lines, .. }) = &s.mode else {
        panic!("{:?}", s.mode);
    };
    assert_eq!(lines, &vec![said]);
}

/// `d` on the Desired tab asks for every object of the file; on a `:drift` row for that object
/// with its apiVersion (esc comes back to the list); in the view `u`, `f`, `l`/`h` and `n`/`N`
/// switch, scroll sideways and jump between changes.
#[test]
fn the_diff_view_opens_from_a_file_and_a_drift_row_and_its_keys_move_it() {
    use orbdeck::ui::action::DiffTarget;
    use orbdeck::ui::diff::{LiveScope, Source};
    let mut s = state(fleet(), 200, 50);
    let path = s.fleet[0].desired_files[0].clone();
    assert_eq!(
        type_text(&mut s, "6d"),
        [Effect::Diff {
            orb: "alpha".into(),
            what: DiffTarget::File(path)
        }]
    );
    send(&mut s, key(KeyCode::Esc));
    type_text(&mut s, ":drift");
    send(&mut s, key(KeyCode::Enter));
    let row = orbdeck::ui::DriftRow {
        state: "extra".into(),
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: "team".into(),
        name: "old".into(),
        diff: Vec::new(),
    };
    send(&mut s, Action::Drift(vec![row], Vec::new()));
    let fx = type_text(&mut s, "d");
    let Some(Effect::Diff {
        what: DiffTarget::Object {
            target,
            api_version,
        },
        ..
    }) = fx.first()
    else {
        panic!("no diff asked: {fx:?}");
    };
    assert_eq!(
        (target.namespace.as_deref(), api_version.as_deref()),
        (Some("team"), Some("v1"))
    );
    // Two changes far apart: a long ConfigMap whose first and last keys differ.
    let data = |first: &str, last: &str| {
        let mut m = serde_json::Map::new();
        m.insert("a".into(), first.into());
        for i in 0..40 {
            m.insert(format!("k{i:02}"), "same".into());
        }
        m.insert("z".into(), format!("{last} {}", "long ".repeat(30)).into());
        serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "old"}, "data": m})
    };
    let source = Source {
        name: "ConfigMap team/old".into(),
        file: Some("desired/cm.yaml:1".into()),
        desired: Some(data("1", "x")),
        live: Ok(Some(data("2", "y"))),
        current: Vec::new(),
        notes: Vec::new(),
    };
    send(&mut s, Action::Diff(vec![source], Vec::new()));
    let view = |s: &State| match &s.mode {
        Mode::Viewer(Viewer::Diff(v)) => (v.scroll, v.hscroll, v.unified, v.scope),
        other => panic!("not the diff view: {other:?}"),
    };
    assert_eq!(view(&s), (0, 0, false, LiveScope::Owned));
    type_text(&mut s, "n");
    let (first, ..) = view(&s);
    type_text(&mut s, "n");
    let (second, ..) = view(&s);
    assert!(
        second > first + 30,
        "n jumps to the far change: {first} {second}"
    );
    type_text(&mut s, "N");
    assert_eq!(view(&s).0, first);
    type_text(&mut s, "ll");
    assert_eq!(view(&s).1, 16);
    type_text(&mut s, "h");
    assert_eq!(view(&s).1, 8);
    type_text(&mut s, "uf");
    assert!(view(&s).2, "u: unified");
    assert_eq!(view(&s).3, LiveScope::Full);
    send(&mut s, key(KeyCode::Esc));
    assert!(
        matches!(s.mode, Mode::Viewer(Viewer::Drift { .. })),
        "esc comes back to the list"
    );
}

#[test]
fn a_retries_only_a_replication_that_gave_up() {
    let mut s = state(fleet(), 80, 24);
    type_text(&mut s, "4");
    assert!(type_text(&mut s, "a").is_empty(), "a Succeeded copy");
    assert!(message(&s).contains("Nothing to retry"), "{:?}", s.message);
    send(&mut s, key(KeyCode::Down));
    send(&mut s, key(KeyCode::Down));
    let fx = type_text(&mut s, "a");
    assert_eq!(
        fx,
        [Effect::RetryReplication {
            orb: "alpha".into(),
            namespace: "carol-research".into(),
            name: "python-3-12-2".into(),
        }]
    );
}

#[test]
fn rollouts_are_planned_from_a_draft_for_the_marked_orbs_and_moved_with_commands() {
    use orbdeck::rollout::run::Move;
    let mut s = state_with(fleet(), 200, 50, Settings::default());
    // No draft in alpha: :rollout says what to do, and nothing runs.
    assert!(command(&mut s, "rollout").is_empty());
    assert!(
        s.last_message
            .as_deref()
            .unwrap_or_default()
            .contains("rolls out an edit"),
        "{:?}",
        s.last_message
    );
    // Mark beta (space), then select alpha's draft on the Desired tab.
    command(&mut s, "orb beta");
    type_text(&mut s, " ");
    assert!(s.marked.contains("beta"));
    command(&mut s, "orb alpha");
    type_text(&mut s, "6");
    let draft = s.fleet[0].desired_files[0].clone();
    let fx = command(&mut s, "rollout --bake 30s");
    let Some(Effect::PlanRollout { args, draft: from }) = fx.first() else {
        panic!("no plan asked: {fx:?}");
    };
    assert_eq!(from.as_ref(), Some(&("alpha".to_string(), draft.clone())));
    let joined = args.join(" ");
    assert!(joined.contains("--bake 30s"), "{joined}");
    assert!(joined.contains(&format!("--file {draft}")), "{joined}");
    assert!(joined.contains("--orbs name in (alpha,beta)"), "{joined}");
    // A result for another viewer is not taken for this one; the plan's own is, and c starts
    // it (the draft it carries is dropped once started).
    send(
        &mut s,
        Action::RolloutPlanned {
            id: Some("r1".into()),
            text: "rollout r1: new content of x\nwave 0 (canary): 1 ORB(s)".into(),
            draft: Some(("alpha".into(), draft.clone())),
        },
    );
    let fx = type_text(&mut s, "c");
    assert_eq!(
        fx,
        [Effect::RolloutMove {
            id: "r1".into(),
            wanted: Move::Start,
            draft: Some(("alpha".into(), draft.clone())),
        },]
    );
    // A late plan result never turns another viewer into a rollout's plan.
    command(&mut s, "drafts");
    send(
        &mut s,
        Action::RolloutPlanned {
            id: Some("r2".into()),
            text: "rollout r2".into(),
            draft: None,
        },
    );
    assert!(matches!(s.mode, Mode::Viewer(Viewer::Drafts { .. })));
    send(&mut s, key(KeyCode::Esc));
    assert_eq!(s.tab, Tab::Rollouts);
    // Abort and revert ask first; resume does not.
    assert!(command(&mut s, "rollout abort r1").is_empty());
    assert!(matches!(s.mode, Mode::Confirm(Confirm::Rollout { .. })));
    assert_eq!(
        type_text(&mut s, "y"),
        [Effect::RolloutMove {
            id: "r1".into(),
            wanted: Move::Abort,
            draft: None,
        }]
    );
    assert_eq!(
        command(&mut s, "rollout resume r1"),
        [Effect::RolloutMove {
            id: "r1".into(),
            wanted: Move::Resume,
            draft: None,
        }]
    );
    assert_eq!(
        command(&mut s, "rollout status r1"),
        [Effect::RolloutStatus("r1".into())]
    );
}

/// Types `:text` and enter; the effects of the whole line.
fn command(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = type_text(s, &format!(":{text}"));
    fx.extend(send(s, key(KeyCode::Enter)));
    fx
}
