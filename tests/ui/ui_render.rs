//! Snapshots of every view and state at 80x24 and 200x60, and hostile-text checks on the
//! rendered buffer.

use crate::fixtures as common;

use common::*;
use crossterm::event::KeyCode;
use orbdeck::ui::action::PushResult;
use orbdeck::ui::{Action, ChildRow, OrbView, State};

const SIZES: [(u16, u16); 3] = [(80, 24), (200, 60), (60, 15)];

fn open_alice(s: &mut State) {
    type_text(s, "6");
    send(
        s,
        Action::FileOpened {
            orb: "alpha".into(),
            path: "desired/profiles/alice.yaml".into(),
            text: PROFILE_YAML.into(),
            from_draft: true,
            base: Some(BASE.into()),
            base_text: Some(PROFILE_YAML.into()),
        },
    );
}

fn validated_with_errors(s: &mut State) {
    open_alice(s);
    send(s, ctrl('s'));
    send(
        s,
        Action::Validated {
            errors: vec![
                (5, "metadata.name: must match the file name `alice`".into()),
                (11, "spec.owner.name: not a valid email address".into()),
                (
                    14,
                    "spec.resourceQuotaSpec.hard: `requests.cpu` exceeds the ORB's cap of 64"
                        .into(),
                ),
            ],
        },
    );
}

const PLAN: &str = "~ update Profile alice (desired/profiles/alice.yaml)
@@ spec.resourceQuotaSpec.hard @@
-      requests.cpu: \"4\"
+      requests.cpu: \"8\"
       requests.memory: 16Gi
+ create NetworkPolicy alice/allow-same-namespace
- delete PodDefault alice/old-proxy
";

fn planned(s: &mut State) {
    open_alice(s);
    send(s, ctrl('s'));
    send(s, Action::Validated { errors: vec![] });
    send(s, Action::Planned(PLAN.into()));
}

fn commit_message(s: &mut State) {
    planned(s);
    type_text(s, "c");
    type_text(s, "Raise alice's CPU quota to 8");
}

fn push_conflict(s: &mut State) {
    commit_message(s);
    send(s, key(KeyCode::Enter));
    send(
        s,
        Action::PushProgress("committing desired/profiles/alice.yaml".into()),
    );
    send(s, Action::PushProgress("pushing to origin/main".into()));
    send(
        s,
        Action::Pushed(PushResult::Rejected(
            "! [rejected] main -> main (fetch first)\n\
             desired/profiles/alice.yaml changed upstream in 7c6b5a4 by bob:\n\
             \x20 requests.cpu: \"4\" -> \"6\"\n\
             Rebase could not merge the two edits of the same line."
                .into(),
        )),
    );
}

/// A named way to bring the state to one view.
type Scenario = (&'static str, fn(&mut State));

fn scenarios() -> Vec<Scenario> {
    vec![
        ("overview", |_| {}),
        ("profiles", |s| {
            type_text(s, "2");
        }),
        ("quotas", |s| {
            type_text(s, "3j");
        }),
        ("replications", |s| {
            type_text(s, "4");
        }),
        ("upgrades", |s| {
            type_text(s, "5");
        }),
        ("desired_tree", |s| {
            updated(s, 0, |v| {
                v.drafts = vec![draft("desired/profiles/bob-ml.yaml")]
            });
            type_text(s, "6jj");
        }),
        ("editor", |s| {
            open_alice(s);
            type_text(s, "");
            for _ in 0..4 {
                send(s, key(KeyCode::Down));
            }
        }),
        ("events", |s| {
            type_text(s, "7");
        }),
        ("event_whole", |s| {
            type_text(s, "7");
            send(s, key(KeyCode::Enter));
        }),
        ("orb_list_focused", |s| {
            send(s, key(KeyCode::Tab));
        }),
        ("sync_errors_whole", |s| {
            type_text(s, ":orb gamma");
            send(s, key(KeyCode::Enter));
            type_text(s, ":errors");
            send(s, key(KeyCode::Enter));
        }),
        ("long_message", |s| {
            type_text(s, "7e");
        }),
        ("help", |s| {
            type_text(s, "?");
        }),
        ("command_completion", |s| {
            type_text(s, ":orb ");
        }),
        ("confirm_quit", |s| {
            updated(s, 0, |v| {
                v.drafts = vec![draft("desired/profiles/alice.yaml")]
            });
            type_text(s, "q");
        }),
        ("validation_errors", validated_with_errors),
        ("plan", planned),
        ("commit_message", commit_message),
        ("push_conflict", push_conflict),
        ("push_ok", |s| {
            commit_message(s);
            send(s, key(KeyCode::Enter));
            send(s, Action::Pushed(PushResult::Committed("4f3e2d1".into())));
        }),
        ("yaml_viewer", |s| {
            type_text(s, "2y");
            send(
                s,
                Action::LiveYaml(
                    PROFILE_YAML.replace("# Alice's team profile\n", "")
                        + "status:\n  conditions:\n    - type: Ready\n      status: \"True\"\n",
                ),
            );
        }),
        ("children", |s| {
            type_text(s, "2");
            send(s, key(KeyCode::Enter));
            let child = |kind: &str, ns: &str, name: &str, status: &str| ChildRow {
                kind: kind.into(),
                namespace: ns.into(),
                name: name.into(),
                status: status.into(),
            };
            send(
                s,
                Action::Children(vec![
                    child("Namespace", "", "alice", "Ready"),
                    child("RoleBinding", "alice", "namespaceAdmin", "Present"),
                    child("ResourceQuota", "alice", "kf-resource-quota", "Present"),
                    child("NetworkPolicy", "alice", "allow-same-namespace", "missing"),
                    child("PodDefault", "alice", "access-ml-pipeline", "Present"),
                ]),
            );
        }),
        ("new_file_picker", |s| {
            type_text(s, "6nj");
        }),
        ("fleet_profiles", |s| {
            type_text(s, ":all");
            send(s, key(KeyCode::Enter));
            type_text(s, "2");
        }),
        ("fleet_overview", |s| {
            type_text(s, ":all");
            send(s, key(KeyCode::Enter));
        }),
        ("empty", |s| {
            type_text(s, ":orb beta");
            send(s, key(KeyCode::Enter));
            type_text(s, "4");
        }),
        ("filter_no_match", |s| {
            type_text(s, "2/zzz");
        }),
        ("loading", |s| {
            type_text(s, ":orb epsilon");
            send(s, key(KeyCode::Enter));
            type_text(s, "2");
        }),
        ("unreachable", |s| {
            type_text(s, ":orb gamma");
            send(s, key(KeyCode::Enter));
            type_text(s, "2");
        }),
        ("auth_error", |s| {
            type_text(s, ":orb delta");
            send(s, key(KeyCode::Enter));
            type_text(s, "3");
        }),
        ("error", |s| {
            type_text(s, ":orb gamma");
            send(s, key(KeyCode::Enter));
            send(
                s,
                Action::Error(
                    "git fetch gamma: failed to resolve address for git.example.org".into(),
                ),
            );
        }),
        ("drift", |s| {
            type_text(s, ":drift");
            send(s, key(KeyCode::Enter));
            let row = |state: &str, kind: &str, ns: &str, name: &str, diff: &[&str]| {
                orbdeck::ui::DriftRow {
                    state: state.into(),
                    api_version: "v1".into(),
                    kind: kind.into(),
                    namespace: ns.into(),
                    name: name.into(),
                    diff: diff.iter().map(|l| l.to_string()).collect(),
                }
            };
            send(
                s,
                Action::Drift(
                    vec![
                        row(
                            "missing",
                            "Profile",
                            "",
                            "grace",
                            &["+apiVersion: kubeflow.org/v1", "+kind: Profile"],
                        ),
                        row(
                            "changed",
                            "ResourceQuota",
                            "alice",
                            "quotas",
                            &["-    requests.cpu: \"4\"", "+    requests.cpu: \"8\""],
                        ),
                        row(
                            "extra",
                            "ConfigMap",
                            "team-a",
                            "old-settings",
                            &["-data:", "-  a: b"],
                        ),
                    ],
                    vec![
                        "note: against the live cluster (server-side dry-run apply)".into(),
                        "14 objects in sync".into(),
                    ],
                ),
            );
        }),
        ("history", |s| {
            type_text(s, "H");
            send(s, Action::History(history_rows()));
            type_text(s, "j");
        }),
        ("history_commit", |s| {
            type_text(s, "H");
            send(s, Action::History(history_rows()));
            type_text(s, "j");
            send(s, key(KeyCode::Enter));
            send(
                s,
                Action::Text(
                    "commit 9f1c2e4d\nAuthor: Second Person <second@example.org>\n\n    raise bob's pods\n\n--- a/desired/profiles/bob.yaml\n+++ b/desired/profiles/bob.yaml\n-    pods: \"10\"\n+    pods: \"25\"".into(),
                ),
            );
        }),
        ("rollouts", |s| {
            type_text(s, ":rollouts");
            send(s, key(KeyCode::Enter));
            send(s, Action::Text(rollout_status()));
        }),
        ("rows_10k", |s| {
            let mut fleet = fleet();
            fleet[0] = big_orb("alpha", 10_000);
            *s = state(fleet, s.size.0, s.size.1);
            // Sort by CPU (4th column), descending (o), then page down twice.
            type_text(s, "2ssso");
            send(s, key(KeyCode::PageDown));
            send(s, key(KeyCode::PageDown));
        }),
    ]
}

/// A rollout halted in wave 1, as `orbdeck rollout status` and `:rollouts` put it.
fn rollout_status() -> String {
    let orb = |name: &str, wave: usize, state: &str, extra: &str| {
        format!(
            "- name: {name}\n  wave: {wave}\n  base: null\n  content: ''\n  plan: ''\n  diff: ''\n  state: {state}\n  since: '2026-12-02T01:20:00.000Z'\n{extra}"
        )
    };
    let pushed = |c: &str, health: &str, message: &str| {
        format!(
            "  commit: {c}\n  applied: {c}\n  health: {health}\n  pushedAt: '2026-12-02T01:10:00.000Z'\n  message: '{message}'\n"
        )
    };
    let orbs = [
        orb(
            "alpha",
            0,
            "Healthy",
            &format!(
                "{}  healthyAt: '2026-12-02T01:11:00.000Z'\n",
                pushed(&"a1b2c3d4".repeat(5), "Healthy", "Healthy at a1b2c3d4")
            ),
        ),
        orb(
            "beta",
            1,
            "Applying",
            &pushed(
                &"b2c3d4e5".repeat(5),
                "Progressing",
                "Progressing at b2c3d4e5: Deployment/batch: 0 of 1 updated replicas are available",
            ),
        ),
        orb(
            "gamma",
            1,
            "Degraded",
            &pushed(
                &"c3d4e5f6".repeat(5),
                "Degraded",
                "Deployment/batch: ReplicaSet \"batch-5d8f\" has timed out progressing.",
            ),
        ),
        orb("delta", 2, "Waiting", ""),
    ]
    .concat();
    let yaml = format!(
        "id: r20261202-010512-ab12\ncreated: '2026-12-02T01:05:12.000Z'\nselector: env=prod\nchange:\n  path: desired/quota.yaml\n  edit:\n    set: {{key: spec.hard.configmaps, value: '\"20\"'}}\nstrategy: {{maxConcurrent: 100%, maxUnavailable: 50%, bakeSeconds: 120, progressDeadlineSeconds: 600}}\nwaves:\n- {{name: canary, orbs: [alpha]}}\n- {{name: wave 1, orbs: [beta, gamma]}}\n- {{name: wave 2, orbs: [delta]}}\nunassigned: [epsilon]\norbs:\n{orbs}phase: halted\norb: gamma\nreason: 'Degraded: Deployment/batch: ReplicaSet \"batch-5d8f\" has timed out progressing.'\n"
    );
    let rollout: orbdeck::rollout::Rollout =
        serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T01:25:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    orbdeck::rollout::report::status(&rollout, now)
}

/// A history: a human's commits between two runs of the engine's current/ commits.
fn history_rows() -> Vec<orbdeck::ui::HistoryRow> {
    let row = |commit: &str, author: &str, age: u64, summary: &str, files: &[&str], n| {
        orbdeck::ui::HistoryRow {
            commit: commit.repeat(5),
            author: author.into(),
            time: NOW - age,
            summary: summary.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            commits: n,
            engine: files.iter().all(|f| f.starts_with("current/")),
        }
    };
    vec![
        row(
            "a1b2c3d4",
            "orbdeck",
            20,
            "orbdeck: current state",
            &["current/status.yaml"],
            14,
        ),
        row(
            "9f1c2e4d",
            "Second Person",
            300,
            "raise bob's pods",
            &["desired/profiles/bob.yaml"],
            1,
        ),
        row(
            "77aa88bb",
            "Alice Operator",
            7200,
            "add the data team",
            &["desired/profiles/data-team.yaml", "desired/quotas.yaml"],
            1,
        ),
    ]
}

/// Every view at every size; every difference is shown (and its `.snap.new` written) before the
/// test fails, naming all the views that differ.
#[test]
fn snapshots_of_every_view() {
    let mut differ = Vec::new();
    for (name, setup) in scenarios() {
        for (w, h) in SIZES {
            let mut s = state(fleet(), w, h);
            setup(&mut s);
            let snapshot = format!("{name}_{w}x{h}");
            let text = screen(&s);
            let checked = std::panic::catch_unwind(|| {
                insta::assert_snapshot!(snapshot.clone(), text);
            });
            if checked.is_err() {
                differ.push(snapshot);
            }
        }
    }
    assert!(differ.is_empty(), "views that differ: {differ:?}");
}

fn hostile_fleet() -> Vec<OrbView> {
    let mut fleet = fleet();
    let names = [
        "\u{1b}[31mred\u{1b}[0m".to_string(),
        "\u{1b}]52;c;ZXZpbA==\u{7}clip".to_string(),
        "\u{202e}txt.exe".to_string(),
        "x".repeat(10_000),
    ];
    for (i, n) in names.iter().enumerate() {
        fleet[0].profiles[i].name = n.clone();
        fleet[0].profiles[i].owner = n.clone();
        fleet[0].profiles[i].conditions = format!("Failed: {n}");
        fleet[0].events[i].message = n.clone();
        fleet[0].desired_files[i] = format!("desired/{n}.yaml");
    }
    fleet[1].name = "\u{1b}]0;evil title\u{7}beta\u{202e}".into();
    fleet[2].health = orbdeck::ui::Health::Unreachable {
        reason: format!("\u{1b}[2J{}", "y".repeat(10_000)),
    };
    fleet
}

fn assert_clean(s: &State, what: &str) {
    let terminal = draw(s);
    let buf = terminal.backend().buffer();
    let (w, h) = s.size;
    for y in 0..h {
        for x in 0..w {
            let sym = buf[(x, y)].symbol();
            assert!(
                !sym.chars().any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')),
                "{what} {w}x{h}: cell ({x},{y}) holds {sym:?}"
            );
        }
    }
    // Layout intact: the main pane's right border is on every body row.
    for y in 1..h - 1 {
        let sym = buf[(w - 1, y)].symbol();
        assert!(
            matches!(sym, "│" | "┐" | "┘" | "╮" | "╯"),
            "{what} {w}x{h}: row {y} ends with {sym:?}"
        );
    }
}

#[test]
fn hostile_text_never_reaches_a_cell() {
    for (w, h) in SIZES {
        let views: Vec<Scenario> = vec![
            ("overview", |_| {}),
            ("profiles", |s| {
                type_text(s, "2");
            }),
            ("events", |s| {
                type_text(s, "7");
            }),
            ("desired", |s| {
                type_text(s, "6");
            }),
            ("fleet", |s| {
                type_text(s, ":all");
                send(s, key(KeyCode::Enter));
                type_text(s, "2");
            }),
            ("editor", |s| {
                type_text(s, "6");
                send(
                    s,
                    Action::FileOpened {
                        orb: "alpha".into(),
                        path: "desired/\u{1b}[31mx.yaml".into(),
                        text: "a: \u{1b}]52;c;ZXZpbA==\u{7}1\nb: \u{202e}2\n".into(),
                        from_draft: false,
                        base: Some(BASE.into()),
                        base_text: Some(PROFILE_YAML.into()),
                    },
                );
            }),
            ("yaml", |s| {
                type_text(s, "2y");
                send(
                    s,
                    Action::LiveYaml("name: \u{1b}[31mred\nx: \u{9b}2J".into()),
                );
            }),
            ("diff", |s| {
                type_text(s, "2d");
                let evil = "\u{1b}]52;c;ZXZpbA==\u{7}x\u{202e}y\u{1b}[2J";
                let desired = serde_json::json!({"kind": "ConfigMap", "data": {"a": evil, "b": "x".repeat(10_000)}});
                let live =
                    serde_json::json!({"kind": "ConfigMap", "data": {"a": "\u{9b}31m", "b": "1"}});
                let mut source = diff_source(evil, Some(desired), Ok(Some(live)));
                source.current = vec![evil.into()];
                send(s, Action::Diff(vec![source], vec![evil.into()]));
                type_text(s, "l");
            }),
        ];
        for (what, setup) in views {
            let mut s = state(hostile_fleet(), w, h);
            setup(&mut s);
            assert_clean(&s, what);
        }
    }
}

#[test]
fn ten_thousand_character_name_is_cut_to_its_column() {
    let mut s = state(hostile_fleet(), 200, 60);
    type_text(&mut s, "2");
    let text = screen(&s);
    let row = text
        .lines()
        .find(|l| l.contains("xxxx"))
        .expect("long name row shown");
    assert!(
        row.contains('…'),
        "long name is cut with an ellipsis: {row}"
    );
    assert!(
        row.contains("■"),
        "the usage bars after the name are still drawn: {row}"
    );
    let header = text.lines().find(|l| l.contains("NAME")).unwrap();
    let cpu_col = header.find("CPU").unwrap();
    assert!(row.len() > cpu_col, "row reaches the CPU column");
}

#[test]
fn plain_theme_draws_no_colour() {
    let settings = orbdeck::ui::Settings {
        no_color: true,
        ..Default::default()
    };
    let mut s = state_with(fleet(), 200, 60, settings);
    type_text(&mut s, "2");
    let terminal = draw(&s);
    for cell in terminal.backend().buffer().content() {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "no foreground colour under NO_COLOR"
        );
        assert_eq!(
            cell.bg,
            ratatui::style::Color::Reset,
            "no background colour under NO_COLOR"
        );
    }
}

/// Foreground colour of the first non-blank cell of the first occurrence of `text` on screen.
fn fg_of(s: &State, text: &str) -> ratatui::style::Color {
    let terminal = draw(s);
    let buf = terminal.backend().buffer();
    let (w, h) = s.size;
    for y in 0..h {
        let row: String = (0..w)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect::<Vec<_>>()
            .concat();
        if let Some(byte) = row.find(text) {
            let blanks = text.len() - text.trim_start().len();
            let x = (row[..byte].chars().count() + blanks) as u16;
            return buf[(x, y)].fg;
        }
    }
    panic!("{text} not on screen");
}

#[test]
fn quota_percentages_are_coloured_by_threshold() {
    use ratatui::style::Color;
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, "3");
    // bob-ml: cpu 38 %, memory 88 %, gpu 100 %.
    assert_eq!(fg_of(&s, " 38 "), Color::Green);
    assert_eq!(fg_of(&s, " 88 "), Color::Yellow);
    assert_eq!(fg_of(&s, " 100 "), Color::Red);
}

#[test]
fn editor_colours_yaml_keys_and_comments() {
    use ratatui::style::Color;
    let mut s = state(fleet(), 200, 60);
    type_text(&mut s, "6");
    send(
        &mut s,
        Action::FileOpened {
            orb: "alpha".into(),
            path: "desired/profiles/alice.yaml".into(),
            text: PROFILE_YAML.into(),
            from_draft: false,
            base: Some(BASE.into()),
            base_text: Some(PROFILE_YAML.into()),
        },
    );
    assert_eq!(fg_of(&s, "apiVersion"), Color::LightBlue);
    assert_eq!(
        fg_of(&s, "kubeflow.org/v1"),
        Color::Reset,
        "values keep the text colour"
    );
    assert_eq!(fg_of(&s, "# label override"), Color::DarkGray);
}

/// The editor after a validation, its cursor at the end of the long error line 7: the text
/// scrolls sideways, the line numbers stay, line 7 and 13 are marked `✖` and the message of the
/// cursor's line is the one highlighted in the errors pane.
fn error_line_scrolled(s: &mut State) {
    open_alice(s);
    for _ in 0..6 {
        send(s, key(KeyCode::Down));
    }
    send(s, key(KeyCode::End));
    type_text(s, &" and a comment that runs on".repeat(8));
    send(s, ctrl('s'));
    send(
        s,
        Action::Validated {
            errors: vec![
                (7, "syntax error: a label value that is too long".into()),
                (13, "spec.resourceQuotaSpec.hard: no quota".into()),
            ],
        },
    );
    send(s, key(KeyCode::Esc));
    send(s, key(KeyCode::End));
}

#[test]
fn editor_error_line_marked_and_scrolled_sideways() {
    let mut differ = Vec::new();
    for (w, h) in [(200, 60), (80, 24), (60, 15)] {
        let mut s = state(fleet(), w, h);
        error_line_scrolled(&mut s);
        let snapshot = format!("editor_error_scrolled_{w}x{h}");
        let text = screen(&s);
        let row = text
            .lines()
            .find(|l| l.contains("✖ 7 "))
            .unwrap_or_else(|| panic!("line 7 marked at {w}x{h}:\n{text}"));
        assert!(
            row.contains("runs on") && !row.contains("quotas.statcan.gc.ca"),
            "the text is scrolled, its number is not: {row}"
        );
        let checked = std::panic::catch_unwind(|| {
            insta::assert_snapshot!(snapshot.clone(), text);
        });
        if checked.is_err() {
            differ.push(snapshot);
        }
    }
    assert!(differ.is_empty(), "views that differ: {differ:?}");
}

#[test]
fn editor_error_lines_are_underlined_in_the_error_colour() {
    use ratatui::style::{Color, Modifier};
    let mut s = state(fleet(), 200, 60);
    validated_with_errors(&mut s);
    let terminal = draw(&s);
    let buf = terminal.backend().buffer();
    let at = |text: &str| {
        let (w, h) = s.size;
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .find(|&(x, y)| {
                (0..text.chars().count() as u16).all(|i| {
                    buf.cell((x + i, y)).map(|c| c.symbol())
                        == text
                            .chars()
                            .nth(i as usize)
                            .map(|c| c.to_string())
                            .as_deref()
                })
            })
            .unwrap_or_else(|| panic!("{text:?} not on screen"))
    };
    let cpu = buf.cell(at("requests.cpu")).unwrap();
    assert!(
        cpu.modifier.contains(Modifier::UNDERLINED),
        "line 14's text"
    );
    assert_eq!(cpu.underline_color, Color::Red);
    let mark = buf.cell(at("✖14")).unwrap();
    assert_eq!(mark.fg, Color::Red, "the marker is in the error colour");
    let owner = buf.cell(at("owner:")).unwrap();
    assert!(
        !owner.modifier.contains(Modifier::UNDERLINED),
        "line 9 has no error"
    );
}

/// The window widens: the text scrolls back to the start of the lines, the cursor allowing.
#[test]
fn the_editor_scrolls_back_left_when_the_window_widens() {
    let mut s = state(fleet(), 80, 24);
    open_alice(&mut s);
    send(&mut s, key(KeyCode::End));
    type_text(&mut s, &" more".repeat(14));
    let narrow = screen(&s);
    assert!(!narrow.contains("# Alice's team profile"), "{narrow}");
    assert!(narrow.contains("  1 "), "the number stays: {narrow}");
    send(&mut s, Action::Resize(200, 60));
    let wide = screen(&s);
    assert!(
        wide.contains("  1 # Alice's team profile more more"),
        "{wide}"
    );
    assert_eq!(
        s.editor.as_ref().unwrap().cursor(),
        (0, 92),
        "the cursor stays"
    );
}

/// The engine's health roll-up: the ORB list says an ORB is Degraded, and its Overview names the
/// objects that are not healthy with their reasons.
#[test]
fn the_objects_health_shows_in_the_orb_list_and_the_overview() {
    let mut fleet = fleet();
    if let Some(sync) = fleet[0].sync.as_mut() {
        sync.health = Some("Degraded".into());
        sync.unhealthy = vec![
            "Deployment default/web: Degraded: Deployment \"web\" exceeded its progress deadline"
                .into(),
        ];
    }
    let state = state(fleet, 160, 30);
    let screen = screen(&state);
    assert!(screen.contains(" Degraded"), "{screen}");
    assert!(
        screen.contains("Obj health  Degraded: 1 not healthy"),
        "{screen}"
    );
    assert!(
        screen.contains("Deployment default/web: Degraded: Deployment \"web\" exceeded"),
        "{screen}"
    );
}

/// Objects held by a sync wave show in the Overview with what they wait for.
#[test]
fn objects_held_by_a_sync_wave_show_in_the_overview() {
    let mut fleet = fleet();
    if let Some(sync) = fleet[0].sync.as_mut() {
        sync.result = "Waiting".into();
        sync.waiting = vec![
            "ConfigMap default/app-config: wave 1 waits for wave 0: apps/v1 Deployment/db (default) is Progressing"
                .into(),
        ];
    }
    let state = state(fleet, 160, 30);
    let screen = screen(&state);
    assert!(
        screen.contains("Waiting     1 held by a sync wave"),
        "{screen}"
    );
    assert!(
        screen.contains("ConfigMap default/app-config: wave 1 waits for wave 0"),
        "{screen}"
    );
}

/// The sizes the Live tab, logs and describe are drawn at.
const LIVE_SIZES: [(u16, u16); 3] = [(200, 60), (80, 24), (60, 15)];

fn log_lines(n: usize) -> Vec<orbdeck::ui::logs::LogLine> {
    (0..n)
        .map(|i| {
            let raw = match i % 3 {
                0 => format!("2025-06-15T15:06:{:02}.123456Z \u{1b}[32m[I ServerApp]\u{1b}[0m 200 GET /api/kernels?{i} 2.1ms", i % 60),
                1 => format!("2025-06-15T15:06:{:02}.223456Z \u{1b}[1;33m[W ServerApp]\u{1b}[0m kernel {i} idle for a long while, culling it soon unless someone comes back to it", i % 60),
                _ => format!("2025-06-15T15:06:{:02}.323456Z \u{1b}[31mERROR\u{1b}[0m cannot reach db:5432: connection refused", i % 60),
            };
            orbdeck::ui::logs::LogLine::parse(&raw)
        })
        .collect()
}

/// Opens the log of alpha's first pod and feeds it `n` lines.
fn open_logs(s: &mut State, n: usize) {
    type_text(s, ":pods");
    send(s, key(KeyCode::Enter));
    live(s, 0, PODS, demo_pods());
    type_text(s, "l");
    let stream = s.logs.as_ref().map_or(0, |l| l.stream);
    send(
        s,
        Action::LogLines {
            stream,
            lines: log_lines(n),
        },
    );
}

const DESCRIBE: &str = "# Pod checkout-d7f5d-djrdn @ alpha

Owners and children:
  Deployment checkout  Degraded: Deployment \"checkout\" exceeded its progress deadline
  └─ ReplicaSet checkout-d7f5d  Progressing
     └─ Pod checkout-d7f5d-djrdn  Progressing: 0/3 nodes are available  ← this

Events (newest first):
    5s  Warning  FailedScheduling  0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.

Object:
apiVersion: v1
kind: Pod
metadata:
  name: checkout-d7f5d-djrdn
  namespace: shop
spec:
  nodeSelector:
    disktype: nvme
";

/// alpha as a live-only ORB (a kubeconfig context opened without a fleet file): no repo, so no
/// sync, drift, desired files or drafts.
fn live_only(s: &mut State) {
    updated(s, 0, |v| {
        v.repo = None;
        v.writable = false;
        v.sync = None;
        v.drift = None;
        v.desired_files.clear();
        v.drafts.clear();
        v.tip = None;
    });
}

fn live_scenarios() -> Vec<Scenario> {
    vec![
        ("live_only_overview", live_only),
        ("live_only_desired", |s| {
            live_only(s);
            type_text(s, "6");
        }),
        ("live_pods", |s| {
            type_text(s, ":pods");
            send(s, key(KeyCode::Enter));
            live(s, 0, PODS, demo_pods());
        }),
        ("live_pods_loading", |s| {
            type_text(s, ":pods");
            send(s, key(KeyCode::Enter));
        }),
        ("live_pods_ns_alice", |s| {
            type_text(s, ":pods");
            send(s, key(KeyCode::Enter));
            live(s, 0, PODS, demo_pods());
            type_text(s, ":ns alice");
            send(s, key(KeyCode::Enter));
        }),
        ("live_all_pods", |s| {
            type_text(s, ":all pods");
            send(s, key(KeyCode::Enter));
            live(s, 0, PODS, demo_pods());
            let carol = vec![pod(
                "carol",
                "notebook-77c1-qzhxv",
                "Running",
                0,
                ("Healthy", ""),
            )];
            live(s, 1, PODS, carol);
        }),
        ("live_deploy", |s| {
            type_text(s, ":deploy");
            send(s, key(KeyCode::Enter));
            let d = |ns: &str, name: &str, ready: &str, status: &str, h: (&str, &str)| {
                orbdeck::ui::LiveRow {
                    namespace: ns.into(),
                    name: name.into(),
                    ready: ready.into(),
                    status: status.into(),
                    created: NOW - 3600,
                    health: h.0.into(),
                    health_message: h.1.into(),
                    selector: format!("app={name}"),
                    ..Default::default()
                }
            };
            let rows = vec![
                d("alice", "notebook", "2/2", "Available", ("Healthy", "")),
                d(
                    "shop",
                    "checkout",
                    "0/1",
                    "ProgressDeadlineExceeded",
                    (
                        "Degraded",
                        "Deployment \"checkout\" exceeded its progress deadline",
                    ),
                ),
                d(
                    "shop",
                    "payments",
                    "0/1",
                    "Unavailable",
                    (
                        "Progressing",
                        "Waiting for rollout to finish: 0 of 1 updated replicas are available...",
                    ),
                ),
            ];
            live(s, 0, ("Deployment", "apps/v1", "deployments"), rows);
        }),
        ("live_unknown_kind", |s| {
            type_text(s, ":frobnicators");
            send(s, key(KeyCode::Enter));
            let mut view = s.fleet[0].clone();
            view.live = orbdeck::ui::LiveTable {
                asked: "frobnicators".into(),
                error: Some(
                    "no kind `frobnicators` is served here (kubectl api-resources lists them)"
                        .into(),
                ),
                ..Default::default()
            };
            send(s, Action::OrbUpdated(0, Box::new(view)));
        }),
        ("logs_following", |s| {
            open_logs(s, 500);
        }),
        ("logs_search_wrap_timestamps", |s| {
            open_logs(s, 500);
            type_text(s, "wt/kernel 4");
            send(s, key(KeyCode::Enter));
        }),
        ("access_live", |s| {
            type_text(s, "9");
            let mut view = s.fleet[0].clone();
            view.access = access_table("live bindings");
            send(s, Action::OrbUpdated(0, Box::new(view)));
        }),
        ("access_all_one_from_desired", |s| {
            type_text(s, ":all access");
            send(s, key(KeyCode::Enter));
            let mut view = s.fleet[0].clone();
            view.access = access_table("live bindings");
            send(s, Action::OrbUpdated(0, Box::new(view)));
            let mut view = s.fleet[1].clone();
            view.access = access_table(
                "desired/ at 3f2a9c1e (the live bindings show while the cluster answers)",
            );
            send(s, Action::OrbUpdated(1, Box::new(view)));
        }),
        ("rollouts_all", |s| {
            type_text(s, ":all rollouts");
            send(s, key(KeyCode::Enter));
            send(s, rollouts());
        }),
        ("describe", |s| {
            type_text(s, ":pods");
            send(s, key(KeyCode::Enter));
            live(s, 0, PODS, demo_pods());
            type_text(s, "jjd");
            send(s, Action::Text(DESCRIBE.into()));
        }),
    ]
}

/// A fixture of bindings: a cluster-wide superuser, an aggregated team role bound to a group
/// and a service account (that does not exist), a namespaced Role, a binding to a missing role.
/// A rollout halted on beta in wave 1: alpha (the canary) healthy, gamma waiting, and
/// epsilon matched by the selector in no wave.
fn rollouts() -> Action {
    use orbdeck::ui::RolloutRow;
    let id = "r20261202-051500-7f3a";
    let row = |wave: usize, state: &str, severity: u8, message: &str| RolloutRow {
        id: id.into(),
        wave,
        wave_name: if wave == usize::MAX {
            "-".into()
        } else {
            format!("{wave} {}", if wave == 0 { "canary" } else { "wave-1" })
        },
        state: state.into(),
        severity,
        commit: if severity == 0 && wave == 0 {
            "c0ffee1".into()
        } else {
            String::new()
        },
        applied: if wave == 0 {
            "c0ffee1".into()
        } else {
            String::new()
        },
        health: if wave == 0 {
            "Healthy".into()
        } else {
            String::new()
        },
        since: NOW - 95,
        message: message.into(),
        drift: Some(0),
    };
    let rows = [
        ("alpha", row(0, "Healthy", 0, "")),
        (
            "beta",
            row(
                1,
                "Degraded",
                2,
                "Deployment/web: 0/3 ready (CrashLoopBackOff)",
            ),
        ),
        ("gamma", row(1, "Waiting", 0, "")),
        (
            "epsilon",
            row(
                usize::MAX,
                "Unassigned",
                0,
                "matched by the selector, in no wave; never pushed",
            ),
        ),
    ];
    Action::Rollouts {
        rows: rows
            .into_iter()
            .map(|(orb, r)| (orb.to_string(), vec![r]))
            .collect(),
        notes: vec![(
            id.into(),
            format!(
                "{id} Halted on beta: Degraded · ready 1/3 · wave 2/2 · unavailable 0/2 · set spec.hard.cpu=\"8\" in desired/quota.yaml"
            ),
        )],
    }
}

fn access_table(source: &str) -> orbdeck::ui::AccessTable {
    use orbdeck::access::{Objects, Policy};
    let rbac = "rbac.authorization.k8s.io/v1";
    let values = [
        serde_json::json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "everything"},
            "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "ClusterRole",
            "metadata": {"name": "view-pods", "labels": {"agg": "team-view"}},
            "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "team-view"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "team-view"}}]}}),
        serde_json::json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "deployer", "namespace": "alice"},
            "rules": [{"verbs": ["create", "update"], "apiGroups": ["apps"], "resources": ["deployments"]}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "root"},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "everything"},
            "subjects": [{"kind": "User", "name": "carol@example.com"}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "viewers", "namespace": "alice"},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "team-view"},
            "subjects": [{"kind": "Group", "name": "data-science"}, {"kind": "ServiceAccount", "name": "ghost"}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "deployers", "namespace": "alice"},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "deployer"},
            "subjects": [{"kind": "User", "name": "alice@example.com"}]}),
        serde_json::json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "stale", "namespace": "bob"},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "gone"},
            "subjects": [{"kind": "User", "name": "bob@example.com"}]}),
    ];
    let mut objects = Objects::from_manifests(&values);
    objects.service_accounts = Some([("alice".to_string(), "default-editor".to_string())].into());
    orbdeck::ui::AccessTable::of(&Policy::resolve(&objects), source)
}

/// Every new view (Live tab, logs, describe) at 200x60, 80x24 and 60x15.
#[test]
fn snapshots_of_the_live_views() {
    let mut differ = Vec::new();
    for (name, setup) in live_scenarios() {
        for (w, h) in LIVE_SIZES {
            let mut s = state(fleet(), w, h);
            setup(&mut s);
            let snapshot = format!("{name}_{w}x{h}");
            let text = screen(&s);
            let checked = std::panic::catch_unwind(|| {
                insta::assert_snapshot!(snapshot.clone(), text);
            });
            if checked.is_err() {
                differ.push(snapshot);
            }
        }
    }
    assert!(differ.is_empty(), "views that differ: {differ:?}");
}

/// Profile alice as desired/ has it (the ORB label stamped, as the engine applies it).
fn alice_desired() -> serde_json::Value {
    let mut v: serde_json::Value = serde_saphyr::from_str(PROFILE_YAML).unwrap();
    v["metadata"]["labels"]["orbdeck.io/orb"] = "alpha".into();
    v
}

/// Alice as the cluster has her: someone set requests.cpu to 6; server noise, defaults, status.
fn alice_live() -> serde_json::Value {
    let mut v = alice_desired();
    v["spec"]["resourceQuotaSpec"]["hard"]["requests.cpu"] = "6".into();
    v["spec"]["plugins"] = serde_json::json!([]);
    v["metadata"]["uid"] = "0d1f2e3c".into();
    v["metadata"]["resourceVersion"] = "4711".into();
    v["metadata"]["creationTimestamp"] = "2025-06-15T15:06:00Z".into();
    v["metadata"]["managedFields"] =
        serde_json::json!([{"manager": "orbdeck", "operation": "Apply"}]);
    v["status"] = serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
    v
}

fn diff_source(
    name: &str,
    desired: Option<serde_json::Value>,
    live: Result<Option<serde_json::Value>, String>,
) -> orbdeck::ui::diff::Source {
    orbdeck::ui::diff::Source {
        name: name.into(),
        file: desired.as_ref().map(|_| "desired/profiles/alice.yaml:2".into()),
        desired,
        live,
        current: vec!["current/status.yaml: configured, Healthy · last sync 2025-06-15T15:06:00Z Synced, commit 4f3e2d1a".into()],
        notes: Vec::new(),
    }
}

/// `d` on alice in the Profiles tab, and what the effect brings back.
fn diff_alice(s: &mut State) {
    type_text(s, "2d");
    send(
        s,
        Action::Diff(
            vec![diff_source(
                "Profile alice",
                Some(alice_desired()),
                Ok(Some(alice_live())),
            )],
            Vec::new(),
        ),
    );
}

fn diff_scenarios() -> Vec<Scenario> {
    vec![
        ("diff_changed", diff_alice),
        ("diff_unified", |s| {
            diff_alice(s);
            type_text(s, "u");
        }),
        ("diff_whole_live_scrolled_right", |s| {
            diff_alice(s);
            type_text(s, "fll");
        }),
        ("diff_every_case", |s| {
            type_text(s, "6d");
            let mut other = alice_live();
            other["metadata"]["name"] = "old-team".into();
            let mut extra = diff_source("Profile old-team", None, Ok(Some(other)));
            extra.notes = vec!["The next sync prunes it.".into()];
            send(
                s,
                Action::Diff(
                    vec![
                        diff_source("Profile alice", Some(alice_desired()), Ok(None)),
                        diff_source(
                            "Profile bob",
                            Some(alice_desired()),
                            Ok(Some(alice_desired())),
                        ),
                        diff_source(
                            "Profile carol",
                            Some(alice_desired()),
                            Err("connection refused (orb-alpha)".into()),
                        ),
                        extra,
                    ],
                    Vec::new(),
                ),
            );
        }),
    ]
}

/// The diff view (`d`): side by side, unified, the whole live object scrolled right, and a file
/// whose objects are missing, in sync, unreadable and extra, at 200x60, 80x24 and 60x15.
#[test]
fn snapshots_of_the_diff_view() {
    let mut differ = Vec::new();
    for (name, setup) in diff_scenarios() {
        for (w, h) in LIVE_SIZES {
            let mut s = state(fleet(), w, h);
            setup(&mut s);
            let snapshot = format!("{name}_{w}x{h}");
            let text = screen(&s);
            let checked = std::panic::catch_unwind(|| {
                insta::assert_snapshot!(snapshot.clone(), text);
            });
            if checked.is_err() {
                differ.push(snapshot);
            }
        }
    }
    assert!(differ.is_empty(), "views that differ: {differ:?}");
}

/// A changed line is coloured as a change on both sides; equal lines keep the text colour.
#[test]
fn the_diff_colours_only_the_changed_line() {
    let mut s = state(fleet(), 200, 60);
    diff_alice(&mut s);
    let terminal = draw(&s);
    let buf = terminal.backend().buffer();
    let row_of = |needle: &str| {
        (0..60u16)
            .find(|&y| {
                let text: String = (0..200u16).map(|x| buf[(x, y)].symbol()).collect();
                text.contains(needle)
            })
            .unwrap_or_else(|| panic!("{needle} is shown"))
    };
    let style_at = |y: u16, needle: &str| {
        let text: Vec<&str> = (0..200u16).map(|x| buf[(x, y)].symbol()).collect();
        let x = text.join("").find(needle).unwrap();
        // Columns are cells; the line is ASCII up to the needle apart from the borders.
        let x = text.join("")[..x].chars().count() as u16;
        buf[(x, y)].fg
    };
    let changed = row_of("requests.cpu: \"6\"");
    let same = row_of("requests.memory: 16Gi");
    assert_ne!(
        style_at(changed, "requests.cpu"),
        style_at(same, "requests.memory")
    );
    assert_eq!(
        style_at(same, "requests.memory"),
        s.theme.text.fg.unwrap_or_default()
    );
}

/// Logs are the most hostile text shown: colour codes become styles, nothing else gets through.
#[test]
fn hostile_log_lines_never_reach_a_cell_and_colours_become_styles() {
    for (w, h) in LIVE_SIZES {
        let mut s = state(fleet(), w, h);
        open_logs(&mut s, 0);
        let hostile = [
            "\u{1b}[2J\u{1b}[Hcleared? \u{1b}]0;evil title\u{7}no",
            "\u{1b}]52;c;ZXZpbA==\u{7}clipboard \u{202e}gnp.exe \u{1b}[?1049h alt screen",
            "\u{9b}31mC1 red\u{9b}0m \u{1b}P1$qm\u{1b}\\ dcs \u{8}\u{8}back \r\rreturn",
            "\u{1b}[31mred\u{1b}[0m",
        ];
        let stream = s.logs.as_ref().map_or(0, |l| l.stream);
        let lines = hostile
            .iter()
            .map(|l| orbdeck::ui::logs::LogLine::parse(l))
            .collect();
        send(&mut s, Action::LogLines { stream, lines });
        assert_clean(&s, "logs");
        let terminal = draw(&s);
        let buf = terminal.backend().buffer();
        let red = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .find(|&(x, y)| {
                buf[(x, y)].symbol() == "r"
                    && buf[(x + 1, y)].symbol() == "e"
                    && buf[(x + 2, y)].symbol() == "d"
                    && buf[(x + 3, y)].symbol() == " "
            });
        let (x, y) = red.expect("the red line is shown");
        assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Red, "{w}x{h}");
    }
}

/// The Overview's Engine row flags a Lease its holder stopped renewing.
#[test]
fn a_lease_not_renewed_in_its_duration_is_flagged() {
    let mut fleet = fleet();
    if let Some(engine) = fleet[0].engine.as_mut() {
        engine.renewed = Some(NOW - 100);
    }
    let screen = screen(&state(fleet, 160, 30));
    assert!(
        screen.contains("alpha-engine-7d9f last renewed its Lease 1m ago: down?"),
        "{screen}"
    );
}

/// `:envs`: the orchestrator's Environments with their runner pods' phase, and the Ingress host
/// beside a healthy one, at 80x24 and 200x50.
#[test]
fn snapshots_of_the_environments_view() {
    let env = |name: &str, ready: &str, status: &str, health: (&str, &str)| orbdeck::ui::LiveRow {
        namespace: "envs".into(),
        name: name.into(),
        ready: ready.into(),
        status: status.into(),
        created: NOW - 600,
        health: health.0.into(),
        health_message: health.1.into(),
        selector: format!("orbdeck.io/environment={name}"),
        ..Default::default()
    };
    let rows = vec![
        env(
            "proj-42",
            "1/1",
            "Running",
            ("Healthy", "proj-42.example.org"),
        ),
        env(
            "proj-43",
            "0/1",
            "Pending",
            ("Progressing", "runner pod proj-43-6d9f7c-x2k4q is Pending"),
        ),
        env(
            "proj-44",
            "0/1",
            "",
            (
                "Degraded",
                "environment envs/proj-44: no AddonTemplate serves language \"cobol\" in namespace envs (spec.environment.languages)",
            ),
        ),
    ];
    let mut differ = Vec::new();
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = state(fleet(), w, h);
        type_text(&mut s, ":envs");
        send(&mut s, key(KeyCode::Enter));
        live(
            &mut s,
            0,
            ("Environment", "orbdeck.io/v1alpha1", "environments"),
            rows.clone(),
        );
        let snapshot = format!("environments_{w}x{h}");
        let text = screen(&s);
        if std::panic::catch_unwind(|| insta::assert_snapshot!(snapshot.clone(), text)).is_err() {
            differ.push(snapshot);
        }
    }
    assert!(differ.is_empty(), "views that differ: {differ:?}");
}
