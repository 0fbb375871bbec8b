//! The control room end to end in a real terminal (tmux): `orbdeck demo`, edit a quota label in
//! the editor, see the plan, commit; the commit is on the bare repo, the engine applies it, the
//! screen shows it; a UI killed mid-edit finds its draft again. A second person pushing to the
//! same file with the git CLI meanwhile: different keys merge, the same key stops with the key
//! path, nothing is lost either way, in the UI and through `orbdeck orb push`. Drafts, new files,
//! no-op commits, upgrade controls and a read-only ORB as an operator meets them. And a fleet
//! whose clusters refuse connections or never answer: the first frame and navigation are
//! immediate, both show why (the diff of a desired file too). The diff view against a kubectl
//! change made meanwhile. The Rollouts view reading the file `orbdeck rollout` writes.

use crate::common;

use common::repos::Origin;
use common::tmux::Tmux;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_orbdeck");

/// The second person: with the git CLI, makes each (file, from, to) replacement in a clone of
/// `origin` and pushes as "Second Person". Returns the pushed commit.
fn second_person(origin: &Path, edits: &[(&str, &str, &str)]) -> String {
    common::repos::git_user_push(&origin.display().to_string(), "Second Person", |work| {
        for (file, from, to) in edits {
            common::repos::replace_in(&work.join(file), from, to);
        }
    })
}

/// The file at the tip of `origin`'s main.
fn remote_file(origin: &Path, path: &str) -> String {
    let out = Command::new("git")
        .arg(format!("--git-dir={}", origin.display()))
        .args(["show", &format!("main:{path}")])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `commit` is in the history of `origin`'s main.
fn in_history(origin: &Path, commit: &str) -> bool {
    Command::new("git")
        .arg(format!("--git-dir={}", origin.display()))
        .args(["merge-base", "--is-ancestor", commit, "main"])
        .status()
        .expect("git runs")
        .success()
}

/// Commits made from the control room (the engine's own `current/` commits left out).
fn ui_commits(origin: &Path) -> usize {
    let out = Command::new("git")
        .arg(format!("--git-dir={}", origin.display()))
        .args(["log", "--format=%an", "main"])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|a| *a == "orbdeck demo")
        .count()
}

/// The saved draft of `path` in the demo kept at `keep`, if any.
fn draft_json(keep: &Path, orb: &str, path: &str) -> Option<String> {
    let name = format!("{}.json", path.replace('/', "%2F"));
    std::fs::read_to_string(keep.join("data/drafts").join(orb).join(name)).ok()
}

/// Waits until the draft of `path` holds `text`.
fn wait_draft(keep: &Path, path: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !draft_json(keep, "orb-alpha", path).is_some_and(|d| d.contains(text)) {
        assert!(
            Instant::now() < deadline,
            "no draft of {path} with {text:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Opens row `row` (0-based) of orb-alpha's Desired tab (crds, alice, bob, data-team, upgrade)
/// from the tables.
fn open_desired(ui: &Tmux, row: usize, path: &str) {
    ui.keys(&["6", "g"]);
    ui.wait(20, "the Desired tab", |s| {
        s.contains("Desired orb-alpha [1/")
    });
    // One row at a time, each seen selected ([N/M] in the title) before the next key, so a
    // loaded machine cannot reorder them.
    for i in 0..row {
        ui.keys(&["j"]);
        let at = format!("Desired orb-alpha [{}/", i + 2);
        ui.wait(20, &at.clone(), |s| s.contains(&at));
    }
    ui.keys(&["Enter"]);
    ui.wait(20, path, |s| s.contains(path) && s.contains(" 1 "));
}

/// Replaces the end of line `line` (1-based) of the file just opened (cursor on line 1):
/// `erase` characters before the `skip` last ones, then types `text`.
fn retype(ui: &Tmux, line: usize, skip: usize, erase: usize, text: &str) {
    for _ in 1..line {
        ui.keys(&["Down"]);
    }
    ui.keys(&["End"]);
    for _ in 0..skip {
        ui.keys(&["Left"]);
    }
    for _ in 0..erase {
        ui.keys(&["BSpace"]);
    }
    ui.text(text);
}

fn git_log(repo: &Path) -> String {
    let out = Command::new("git")
        .arg(format!("--git-dir={}", repo.display()))
        .args(["log", "--format=%s", "-n", "20"])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn quota_cpu(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args([
            "--context",
            "orb-alpha",
            "-n",
            "alice",
            "get",
            "resourcequota",
            "quotas",
        ])
        .args(["-o", "jsonpath={.spec.hard.requests\\.cpu}"])
        .output()
        .expect("kubectl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The owner of Profile bob in orb-alpha's cluster.
fn bob_owner(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["--context", "orb-alpha", "get", "profile", "bob"])
        .args(["-o", "jsonpath={.spec.owner.name}"])
        .output()
        .expect("kubectl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens alice's desired file from the Profiles tab (filtered to her).
fn open_alice(ui: &Tmux) {
    ui.keys(&["2"]);
    ui.wait(30, "alice in the Profiles tab", |s| {
        s.contains("alice@example.com")
    });
    ui.keys(&["/"]);
    ui.text("alice");
    ui.keys(&["Enter"]);
    ui.wait(20, "the filter to leave only alice", |s| {
        s.contains("alice@example.com") && !s.contains("bob@example.com")
    });
    ui.keys(&["e"]);
    ui.wait(20, "alice's file in the editor", |s| {
        s.contains("desired/profiles/alice.yaml") && s.contains("requests.cpu")
    });
}

#[test]
fn demo_edit_plan_commit_apply_and_draft_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let command = format!("{BIN} demo --keep {}", keep.display());
    let ui = Tmux::start("demo", &command, &[]);
    ui.wait(90, "the demo's ORBs", |s| {
        s.contains("orb-alpha") && s.contains("reachable 3") && s.contains("orb-delta")
    });
    open_alice(&ui);
    ui.keys(&[
        "Down", "Down", "Down", "Down", "Down", "End", "Left", "BSpace",
    ]);
    ui.text("12");
    ui.wait(20, "the edited label", |s| {
        s.contains("requests.cpu: \"12\"")
    });
    std::thread::sleep(Duration::from_secs(1));

    // Killed mid-edit: the draft was saved and comes back.
    ui.kill();
    assert!(
        std::fs::read_dir(keep.join("data/drafts")).is_ok_and(|mut d| d.next().is_some()),
        "no draft saved before the kill"
    );
    let ui = Tmux::start("demo2", &command, &[]);
    ui.wait(90, "the demo again", |s| s.contains("reachable 3"));
    open_alice(&ui);
    ui.wait(20, "the draft restored", |s| {
        s.contains("requests.cpu: \"12\"")
    });

    // Save: validate, plan, commit.
    ui.keys(&["C-s"]);
    ui.wait(60, "the plan", |s| {
        s.contains("1 to update") && s.contains("+    quotas.statcan.gc.ca/requests.cpu: \"12\"")
    });
    ui.keys(&["c"]);
    ui.text("raise alice's cpu quota to 12");
    ui.keys(&["Enter"]);
    let origin = keep.join("repos/orb-alpha.git");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !git_log(&origin).contains("raise alice's cpu quota to 12") {
        assert!(
            Instant::now() < deadline,
            "the commit never reached the repo: {}",
            git_log(&origin)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The engine applies it; the screen shows it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while quota_cpu(&keep) != "12" {
        assert!(
            Instant::now() < deadline,
            "the engine did not apply the quota: {:?}",
            quota_cpu(&keep)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    ui.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    ui.keys(&["2"]);
    ui.wait(30, "the new quota on screen", |s| s.contains("/12"));
    // The README's promise: the demo's two Environments, their runner pods running.
    ui.keys(&[":"]);
    ui.text("envs");
    ui.keys(&["Enter"]);
    ui.wait(60, "the demo's environments running", |s| {
        ["proj-42", "web-7"].iter().all(|e| {
            s.lines()
                .any(|l| l.contains(e) && l.contains("Running") && l.contains("example.org"))
        })
    });
    ui.keys(&["q"]);
    ui.wait(60, "the UI to quit", |s| !s.contains("orb-alpha"));
}

#[test]
fn unreachable_and_silent_clusters_never_block_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    // A cluster that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: refused\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\n- name: silent\n  cluster:\n    server: https://127.0.0.1:{silent_port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: refused\n  context:\n    cluster: refused\n    user: u\n- name: silent\n  context:\n    cluster: silent\n    user: u\ncurrent-context: refused\n"
        ),
    )
    .unwrap();
    let origin = Origin::new();
    origin.seed(&[
        (
            "orb.yaml",
            "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: far\n",
        ),
        (
            "desired/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\ndata:\n  colour: blue\n",
        ),
    ]);
    let fleet = dir.path().join("fleet.yaml");
    std::fs::write(
        &fleet,
        format!(
            "orbs:\n- name: refusing\n  repo: {url}\n  context: refused\n  kubeconfig: {kc}\n- name: silent\n  repo: {url}\n  context: silent\n  kubeconfig: {kc}\n",
            url = origin.url(),
            kc = kubeconfig.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let started = Instant::now();
    let ui = Tmux::start(
        "far",
        &format!("{BIN} --config {}", fleet.display()),
        &[("ORBDECK_DATA", data.to_str().unwrap())],
    );
    ui.wait(20, "the first frame", |s| {
        s.contains("refusing") && s.contains("silent")
    });
    let first = started.elapsed();
    // Navigation answers at once while both clusters are still being tried.
    ui.keys(&["2"]);
    ui.wait(2, "the Profiles tab", |s| s.contains("Profiles refusing"));
    ui.keys(&["1"]);
    ui.wait(2, "the Overview tab", |s| s.contains("Overview refusing"));
    assert!(
        first < Duration::from_secs(5),
        "first frame after {first:?}"
    );
    ui.wait(30, "the refusing ORB unreachable with its reason", |s| {
        s.contains("Connection refused")
    });
    ui.keys(&["Tab", "j"]);
    let screen = ui.wait(30, "the silent ORB unreachable with its reason", |s| {
        s.contains("Overview silent") && s.contains("no answer within")
    });
    assert!(screen.contains("reachable 0"), "{screen}");
    // The diff of a desired file says why live is unknown and still shows desired, unmarked.
    ui.keys(&["k", "Tab", "6"]);
    ui.wait(20, "the refusing ORB's desired file", |s| {
        s.contains("settings.yaml")
    });
    ui.keys(&["d"]);
    let screen = ui.wait(20, "the diff without live", |s| {
        s.contains("unknown ConfigMap team/settings") && s.contains("colour: blue")
    });
    assert!(
        screen.contains("Live state unavailable") && screen.contains("desired is shown alone"),
        "{screen}"
    );
    let row = screen.lines().find(|l| l.contains("colour: blue")).unwrap();
    assert!(
        !row.contains(" + "),
        "desired is not marked as added: {row}"
    );
    ui.keys(&["Escape", "q"]);
}

#[test]
fn a_second_person_pushing_meanwhile_never_loses_an_edit_in_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let origin = keep.join("repos/orb-alpha.git");
    let ui = Tmux::start(
        "race",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));

    // Different keys: bob's pods here, bob's owner there. The commit holds both.
    let bob = "desired/profiles/bob.yaml";
    open_desired(&ui, 2, bob);
    retype(&ui, 11, 1, 2, "25");
    wait_draft(&keep, bob, "pods: \\\"25\\\"");
    let theirs = second_person(&origin, &[(bob, "bob@example.com", "robert@example.com")]);
    ui.wait(30, "the upstream banner", |s| {
        s.contains("changed upstream by Second Person") && s.contains("alt-m to merge now")
    });
    ui.keys(&["M-d"]);
    ui.wait(20, "their change", |s| {
        s.contains("Upstream change of desired/profiles/bob.yaml")
            && s.contains("+    name: robert@example.com")
    });
    ui.escape("the file again", |s| {
        s.contains("changed upstream by Second Person")
    });
    ui.keys(&["C-s"]);
    ui.wait(60, "the plan of the merge", |s| {
        s.contains("plan of the merge") && s.contains("update kubeflow.org/v1 Profile/bob")
    });
    ui.keys(&["c"]);
    ui.wait(20, "the default commit message", |s| {
        s.contains("orbdeck: edit desired/profiles/bob.yaml")
    });
    ui.keys(&["Enter"]);
    ui.wait(30, "the push", |s| s.contains("✔ pushed"));
    let now = remote_file(&origin, bob);
    assert!(
        now.contains("pods: \"25\"") && now.contains("robert@example.com"),
        "both changes are on the remote:\n{now}"
    );
    assert!(
        in_history(&origin, &theirs),
        "the other commit stays in the history"
    );
    assert!(
        draft_json(&keep, "orb-alpha", bob).is_none(),
        "draft removed once pushed"
    );
    ui.escape("the file list", |s| s.contains("PATH↑"));

    // The same key, changed upstream between the plan and the commit: a conflict naming the key
    // path, the remote unchanged, the draft kept with the error; then resolved here and pushed.
    let team = "desired/profiles/data-team.yaml";
    open_desired(&ui, 3, team);
    retype(&ui, 9, 0, "data-team-admins".len(), "data-ui-admins");
    wait_draft(&keep, team, "data-ui-admins");
    ui.keys(&["C-s"]);
    ui.wait(60, "the plan", |s| {
        s.contains("update kubeflow.org/v1 Profile/data-team")
    });
    let theirs = second_person(&origin, &[(team, "data-team-admins", "data-owners")]);
    ui.keys(&["c", "Enter"]);
    let screen = ui.wait(30, "the conflict", |s| {
        s.contains("Conflicts with the remote")
    });
    assert!(
        screen.contains("spec.owner.name")
            && screen.contains("theirs \"data-owners\"")
            && screen.contains("yours  \"data-ui-admins\""),
        "{screen}"
    );
    assert!(remote_file(&origin, team).contains("name: data-owners"));
    let kept = draft_json(&keep, "orb-alpha", team).expect("the draft is kept");
    assert!(
        kept.contains("data-ui-admins") && kept.contains("spec.owner.name"),
        "{kept}"
    );
    ui.keys(&["m", "Enter"]);
    ui.wait(20, "the merge", |s| {
        s.contains("Merged the upstream change")
    });
    ui.keys(&["C-s"]);
    ui.wait(60, "the plan", |s| {
        s.contains("update kubeflow.org/v1 Profile/data-team")
    });
    ui.keys(&["c", "Enter"]);
    ui.wait(30, "the push", |s| s.contains("✔ pushed"));
    let now = remote_file(&origin, team);
    assert!(now.contains("name: data-ui-admins"), "{now}");
    assert!(
        now.starts_with("# A namespace owned by a group."),
        "comments kept:\n{now}"
    );
    assert!(in_history(&origin, &theirs));
    ui.escape("the file list", |s| s.contains("PATH↑"));

    // A commit that changes nothing makes none and says so.
    let before = ui_commits(&origin);
    open_desired(&ui, 1, "desired/profiles/alice.yaml");
    ui.keys(&["C-s"]);
    ui.wait(60, "the plan", |s| {
        s.contains("Plan: desired/profiles/alice.yaml")
    });
    ui.keys(&["c", "Enter"]);
    ui.wait(30, "no commit", |s| {
        s.contains("nothing to commit: the file equals")
    });
    assert_eq!(ui_commits(&origin), before);

    // `r` on a running upgrade: nothing to resume, no commit.
    ui.escape("the file list", |s| s.contains("PATH↑"));
    ui.keys(&["5"]);
    ui.wait(20, "the upgrade", |s| s.contains("to-1-33"));
    ui.keys(&["r"]);
    ui.wait(20, "the refusal", |s| s.contains("Nothing to resume"));
    assert_eq!(ui_commits(&origin), before);

    // `n` asks for the name; the new file is listed at once and is a draft.
    ui.keys(&["6", "n", "Enter"]);
    ui.wait(20, "the name prompt", |s| {
        s.contains("New Profile in orb-alpha")
    });
    ui.text("eve");
    ui.keys(&["Enter"]);
    ui.wait(20, "the new file", |s| {
        s.contains("desired/profiles/eve.yaml") && s.contains("name: eve")
    });
    let eve = "desired/profiles/eve.yaml";
    wait_draft(&keep, eve, "name: eve");
    ui.escape("eve in the list", |s| {
        s.contains("PATH↑") && s.contains("eve.yaml")
    });
    ui.keys(&["q"]);
    ui.wait(20, "the quit prompt", |s| s.contains("stay saved in"));
    ui.keys(&["y"]);
    ui.wait(30, "the demo to end", |s| !s.contains("orb-alpha"));

    // Later, with the fleet file the demo kept: read-only, and the drafts are there.
    let fleet = keep.join("fleet.yaml");
    let ui = Tmux::start_sized(
        "readonly",
        &format!("{BIN} --config {}", fleet.display()),
        &[],
        (80, 24),
    );
    ui.wait(20, "the fleet, read-only", |s| {
        s.contains("orb-alpha") && s.contains("read-only: --write")
    });
    ui.keys(&["6"]);
    ui.wait(20, "the new file's draft", |s| s.contains("eve.yaml ✎"));
    let footer = ui.screen();
    assert!(
        !footer.contains(" new "),
        "no write key in the footer:\n{footer}"
    );
    ui.keys(&[":"]);
    ui.text("drafts");
    ui.keys(&["Enter"]);
    ui.wait(20, "the Drafts view", |s| {
        s.contains("Drafts of this machine (1)") && s.contains("new")
    });
    ui.keys(&["D"]);
    ui.wait(20, "the refusal", |s| s.contains("read-only"));
    ui.escape("the file list", |s| s.contains("PATH↑"));
    open_desired(&ui, 1, "alice.yaml");
    ui.wait(20, "the read-only badge", |s| s.contains("[READ-ONLY]"));
    ui.text("zzz");
    let screen = ui.wait(20, "the read-only message", |s| s.contains("is read-only"));
    assert!(!screen.contains("zzz"), "{screen}");
    assert!(!screen.contains("undo"), "no edit keys offered:\n{screen}");
    ui.escape("the file list", |s| s.contains("PATH↑"));
    ui.keys(&["q"]);
    ui.wait(20, "the quit prompt", |s| s.contains("stay saved in"));
    ui.keys(&["y"]);
    ui.wait(20, "the UI to end", |s| !s.contains("orb-alpha"));
    assert_eq!(ui_commits(&origin), before, "nothing was committed");
    assert!(draft_json(&keep, "orb-alpha", "desired/profiles/alice.yaml").is_none());

    // With --write: the new file's draft, diffed, then committed with "commit all"; another new
    // file discarded (after a question).
    let ui = Tmux::start(
        "write",
        &format!("{BIN} --config {} --write", fleet.display()),
        &[],
    );
    ui.wait(20, "the fleet", |s| s.contains("orb-alpha (rw)"));
    let drafts_view = |ui: &Tmux, what: &str| {
        ui.keys(&[":"]);
        ui.text("drafts");
        ui.keys(&["Enter"]);
        ui.wait(20, what, |s| s.contains("Drafts of this machine"));
    };
    drafts_view(&ui, "the Drafts view");
    ui.wait(20, "eve's draft", |s| s.contains("eve.yaml"));
    ui.keys(&["="]);
    ui.wait(20, "the diff", |s| {
        s.contains("Draft vs committed") && s.contains("+  name: eve")
    });
    ui.escape("the tables", |s| !s.contains("Draft vs committed"));
    drafts_view(&ui, "the Drafts view");
    ui.keys(&["C"]);
    ui.wait(30, "the plan of all drafts", |s| {
        s.contains("Plan of 1 draft of orb-alpha") && s.contains("~ new desired/profiles/eve.yaml")
    });
    ui.keys(&["c"]);
    ui.wait(20, "the message prompt", |s| s.contains("commit message:"));
    ui.keys(&["Enter"]);
    ui.wait(30, "the push", |s| s.contains("1 draft(s) in one commit"));
    assert!(remote_file(&origin, eve).contains("name: eve"));
    assert!(draft_json(&keep, "orb-alpha", eve).is_none());

    ui.keys(&["6", "n", "Enter"]);
    ui.wait(20, "the name prompt", |s| {
        s.contains("New Profile in orb-alpha")
    });
    ui.text("frank");
    ui.keys(&["Enter"]);
    let frank = "desired/profiles/frank.yaml";
    wait_draft(&keep, frank, "name: frank");
    ui.escape("the file list", |s| {
        s.contains("PATH↑") && s.contains("frank.yaml")
    });
    drafts_view(&ui, "the Drafts view");
    ui.keys(&["D"]);
    ui.wait(20, "the question", |s| {
        s.contains("Discard draft?") && s.contains("draft of desired/profiles/frank.yaml")
    });
    ui.keys(&["y"]);
    ui.wait(20, "the draft gone", |s| {
        s.contains("Drafts of this machine (0)")
    });
    assert!(draft_json(&keep, "orb-alpha", frank).is_none());
    ui.escape("the tables", |s| !s.contains("Drafts of this machine"));
    ui.wait(20, "frank gone from the files", |s| {
        !s.contains("frank.yaml")
    });
    ui.keys(&["q"]);
}

#[test]
fn orb_push_merges_a_draft_the_ui_saved_against_its_own_base() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let origin = keep.join("repos/orb-alpha.git");
    let ui = Tmux::start("cli", &format!("{BIN} demo --keep {}", keep.display()), &[]);
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    let (bob, team) = (
        "desired/profiles/bob.yaml",
        "desired/profiles/data-team.yaml",
    );
    open_desired(&ui, 2, bob);
    retype(&ui, 11, 1, 2, "30");
    wait_draft(&keep, bob, "pods: \\\"30\\\"");
    ui.escape("the file list", |s| s.contains("PATH↑"));
    open_desired(&ui, 3, team);
    retype(&ui, 9, 0, "data-team-admins".len(), "data-ui-admins");
    wait_draft(&keep, team, "data-ui-admins");
    ui.escape("the file list", |s| s.contains("PATH↑"));
    // One commit changes bob's owner (another key) and data-team's owner (the same key).
    let theirs = second_person(
        &origin,
        &[
            (bob, "bob@example.com", "robert@example.com"),
            (team, "data-team-admins", "data-owners"),
        ],
    );
    // The UI's background fetch moves the clone under the drafts.
    ui.keys(&[":"]);
    ui.text("drafts");
    ui.keys(&["Enter"]);
    ui.wait(30, "both drafts marked as moved upstream", |s| {
        s.matches("moved:").count() == 2 && s.contains("Second Person")
    });
    ui.escape("the tables", |s| !s.contains("Drafts of this machine"));
    // alt-m on the same-key draft: the conflict, and nothing saved or pushed.
    open_desired(&ui, 3, team);
    ui.wait(20, "the upstream banner", |s| {
        s.contains("changed upstream by Second Person")
    });
    ui.keys(&["M-m"]);
    ui.wait(20, "the conflict", |s| {
        s.contains("Conflicts with the remote") && s.contains("spec.owner.name")
    });
    ui.escape("the file again", |s| {
        !s.contains("Conflicts with the remote")
    });
    ui.escape("the file list", |s| s.contains("PATH↑"));
    ui.keys(&["q"]);
    ui.wait(20, "the quit prompt", |s| s.contains("stay saved in"));
    ui.keys(&["y"]);
    ui.wait(30, "the demo to end", |s| !s.contains("orb-alpha"));

    let orbdeck = |args: &[&str]| {
        Command::new(BIN)
            .arg("--config")
            .arg(keep.join("fleet.yaml"))
            .args(args)
            .output()
            .expect("orbdeck runs")
    };
    let out = orbdeck(&["orb", "push", "orb-alpha", bob]);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("pushed"), "{said}");
    let now = remote_file(&origin, bob);
    assert!(
        now.contains("pods: \"30\"") && now.contains("robert@example.com"),
        "both changes:\n{now}"
    );
    assert!(in_history(&origin, &theirs));

    let before = remote_file(&origin, team);
    let out = orbdeck(&["orb", "push", "orb-alpha", team]);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("spec.owner.name"), "{said}");
    assert_eq!(
        remote_file(&origin, team),
        before,
        "the remote is unchanged"
    );
    let out = orbdeck(&["orb", "drafts"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains(team)
            && listed.contains("last push failed")
            && listed.contains("spec.owner.name"),
        "{listed}"
    );
    assert!(!listed.contains(bob), "{listed}");
}

/// History and rollback as an operator meets them: a commit another person pushed with the git
/// CLI shows in the file's history under their name; enter shows its diff and esc comes back to
/// the history; `b` blames the file; `R` plans the revert and `c` commits it as a new commit,
/// seen by `git log` and in the file on the remote.
#[test]
fn history_shows_another_authors_commit_and_reverts_it_as_a_new_commit() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let origin = keep.join("repos/orb-alpha.git");
    let ui = Tmux::start(
        "history",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    let bob = "desired/profiles/bob.yaml";
    let theirs = second_person(&origin, &[(bob, "bob@example.com", "robert@example.com")]);

    ui.keys(&["6", "g"]);
    ui.wait(20, "the Desired tab", |s| {
        s.contains("Desired orb-alpha [1/")
    });
    for at in ["[2/", "[3/"] {
        ui.keys(&["j"]);
        ui.wait(20, "the next file", |s| {
            s.contains(&format!("Desired orb-alpha {at}"))
        });
    }
    ui.keys(&["H"]);
    ui.wait(30, "the file's history with the other author", |s| {
        s.contains("History of desired/profiles/bob.yaml @ orb-alpha")
            && s.contains("Second Person")
            && s.contains("Second Person: an edit")
            && s.contains(&theirs[..8])
    });
    ui.keys(&["Enter"]);
    ui.wait(20, "the commit's diff", |s| {
        s.contains("Author: Second Person") && s.contains("+    name: robert@example.com")
    });
    ui.escape("back to the history", |s| {
        s.contains("History of desired/profiles/bob.yaml")
    });
    ui.keys(&["b"]);
    ui.wait(20, "the blame", |s| {
        s.contains("Blame: desired/profiles/bob.yaml") && s.contains("Second Person | ")
    });
    ui.escape("back to the history", |s| {
        s.contains("History of desired/profiles/bob.yaml")
    });
    // Once the engine applied their change, the revert's plan is an update of the live Profile.
    let deadline = Instant::now() + Duration::from_secs(60);
    while bob_owner(&keep) != "robert@example.com" {
        assert!(
            Instant::now() < deadline,
            "the engine never applied their change"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    ui.keys(&["R"]);
    ui.wait(60, "the revert's plan", |s| {
        s.contains("Plan of reverting")
            && s.contains("~ put back desired/profiles/bob.yaml")
            && s.contains("update kubeflow.org/v1 Profile/bob")
            && s.contains("c: commit the revert")
    });
    ui.keys(&["c"]);
    ui.wait(30, "the revert pushed and the history reloaded", |s| {
        s.contains("✔ pushed") && s.contains("Revert \"Second Person: an edit\"")
    });
    let log = git_log(&origin);
    assert!(
        log.lines()
            .any(|l| l == "Revert \"Second Person: an edit\""),
        "{log}"
    );
    let now = remote_file(&origin, bob);
    assert!(
        now.contains("bob@example.com") && !now.contains("robert@example.com"),
        "{now}"
    );
    assert!(in_history(&origin, &theirs), "a revert, never a rewrite");
    ui.escape("the tables", |s| !s.contains("History of"));
}

/// The engine's last run, as its Lease publishes it, in the Overview's Engine row of an ORB that
/// syncs hourly (orb-gamma).
fn gamma_last_run(dir: &Path) -> Option<orbdeck::engine::leader::LastRun> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["--context", "orb-gamma", "-n", "orbdeck-system"])
        .args(["get", "lease", "orbdeck-engine"])
        .args([
            "-o",
            "jsonpath={.metadata.annotations.orbdeck\\.io/last-run}",
        ])
        .output()
        .expect("kubectl runs");
    serde_json::from_slice(&out.stdout).ok()
}

/// `S` on an ORB asks its engine to sync through the Lease: on orb-gamma, which syncs hourly, a
/// run starts within 2 s of the key, and the Overview's Engine row shows it.
#[test]
fn sync_now_makes_the_engine_run_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start(
        "syncnow",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    ui.keys(&[":"]);
    ui.text("orb orb-gamma");
    ui.keys(&["Enter", "1"]);
    ui.wait(30, "gamma's engine in the Overview", |s| {
        s.contains("Engine      ran ") && s.contains("orb-gamma-engine-0 leads")
    });
    let first = gamma_last_run(&keep).expect("the Lease carries the last run");
    // Let the first run age, so a new one is told apart.
    std::thread::sleep(Duration::from_secs(3));
    let asked = chrono::Utc::now().timestamp();
    ui.keys(&["S"]);
    ui.wait(10, "the request acknowledged", |s| {
        s.contains("Asked the engine of orb-gamma to sync now")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let run = loop {
        let run = gamma_last_run(&keep);
        if let Some(run) = run.filter(|r| r.time != first.time) {
            break run;
        }
        assert!(Instant::now() < deadline, "no new run after S");
        std::thread::sleep(Duration::from_millis(200));
    };
    let ran = chrono::DateTime::parse_from_rfc3339(&run.time)
        .unwrap()
        .timestamp();
    assert!(
        ran - asked <= 2,
        "the run finished {} s after the key",
        ran - asked
    );
    ui.wait(10, "the new run on screen", |s| {
        ["ran 0s ago", "ran 1s ago", "ran 2s ago"]
            .iter()
            .any(|r| s.contains(r))
    });
}

/// The highest `?N` of the demo notebook's `GET /api/kernels?N` lines on screen.
fn last_kernel_request(screen: &str) -> u64 {
    screen
        .split("/api/kernels?")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn demo_pods_logs_describe_namespace_filter_and_all_pods() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let command = format!("{BIN} demo --keep {}", keep.display());
    let ui = Tmux::start("workloads", &command, &[]);
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));

    // :pods in orb-alpha: the notebook pods with their status, and the failing ones.
    ui.keys(&[":"]);
    ui.text("pods");
    ui.keys(&["Enter"]);
    ui.wait(60, "alpha's pods with status and health", |s| {
        s.contains("notebook-")
            && s.contains("Running")
            && s.contains("CrashLoopBackOff")
            && s.contains("Pending")
            && s.contains("Degraded")
    });

    // :ns alice filters to alice's notebooks.
    ui.keys(&[":"]);
    ui.text("ns alice");
    ui.keys(&["Enter"]);
    ui.wait(20, "only alice's pods", |s| {
        s.contains("notebook-") && !s.contains("payments-") && s.contains("namespace alice")
    });

    // l: the notebook's log lines, and new ones as the container writes them.
    ui.keys(&["l"]);
    let first = ui.wait(30, "the notebook's log lines", |s| {
        s.contains("Logs alice/notebook-") && s.contains("GET /api/kernels?")
    });
    let seen = last_kernel_request(&first);
    ui.wait(20, "newer log lines followed", |s| {
        last_kernel_request(s) > seen && s.contains("following")
    });
    // Timestamps, and a search that stops following at a match.
    ui.keys(&["t"]);
    ui.wait(10, "each line's time", |s| {
        s.lines().any(|l| {
            l.contains("Z")
                || l.split_whitespace()
                    .nth(1)
                    .is_some_and(|w| w.len() == 12 && w.as_bytes()[2] == b':')
        })
    });
    ui.wait(20, "an idle-kernel warning to search for", |s| {
        s.contains("idle for")
    });
    ui.keys(&["/"]);
    ui.text("idle for");
    ui.keys(&["Enter"]);
    ui.wait(10, "the search paused on a match", |s| {
        s.contains("paused") && s.contains("/idle for")
    });
    ui.escape("the log view to close", |s| !s.contains("Logs alice/"));

    // d on the pod that cannot schedule: its owners, its events, its YAML.
    ui.keys(&[":"]);
    ui.text("ns shop");
    ui.keys(&["Enter", "/"]);
    ui.text("checkout");
    ui.keys(&["Enter"]);
    ui.wait(20, "the checkout pod alone", |s| {
        s.contains("checkout-") && !s.contains("payments-")
    });
    ui.keys(&["d"]);
    ui.wait(30, "describe with the pod's owners and events", |s| {
        s.contains("Describe Pod checkout-")
            && s.contains("Deployment checkout")
            && s.contains("FailedScheduling")
    });
    ui.escape("describe to close", |s| !s.contains("Describe Pod"));
    ui.escape("the filter to clear", |s| !s.contains("/checkout"));

    // The crash-looping pod: its container waits to start; p shows the crashed one's log.
    ui.keys(&["/"]);
    ui.text("payments");
    ui.keys(&["Enter"]);
    ui.wait(20, "the payments pod alone", |s| {
        s.contains("payments-") && !s.contains("checkout-")
    });
    ui.keys(&["l"]);
    ui.wait(30, "why the current container has no log", |s| {
        s.contains("Logs shop/payments-") && s.contains("waiting to start: CrashLoopBackOff")
    });
    ui.keys(&["p"]);
    ui.wait(30, "the previous container's log", |s| {
        s.contains("cannot reach db:5432") && s.contains("previous")
    });
    ui.escape("the log view to close", |s| !s.contains("Logs shop/"));
    ui.escape("the filter to clear", |s| !s.contains("/payments"));

    // :all pods: every reachable ORB's pods with an ORB column; delta is missing, and why.
    ui.keys(&[":"]);
    ui.text("all pods");
    ui.keys(&["Enter"]);
    ui.wait(60, "pods of every reachable ORB", |s| {
        s.contains("ORB")
            && s.contains("orb-alpha  ")
            && s.contains("orb-beta  ")
            && s.contains("Missing: orb-delta (unreachable")
    });

    // :deploy on alpha: the Deployment no node can take passes its progress deadline.
    ui.keys(&[":"]);
    ui.text("orb orb-alpha");
    ui.keys(&["Enter", ":"]);
    ui.text("ns all");
    ui.keys(&["Enter", ":"]);
    ui.text("deploy");
    ui.keys(&["Enter"]);
    ui.wait(90, "checkout Degraded past its deadline", |s| {
        s.contains("deployments orb-alpha")
            && s.contains("ProgressDeadlineExceeded")
            && s.contains("payments")
    });
    // :ns lists namespaces; enter on one filters to it and shows its pods.
    ui.keys(&[":"]);
    ui.text("ns");
    ui.keys(&["Enter", "/"]);
    ui.text("carol");
    ui.keys(&["Enter"]);
    ui.escape("the filter to clear", |s| !s.contains("/carol"));
    ui.keys(&["/"]);
    ui.text("alice");
    ui.keys(&["Enter"]);
    ui.wait(20, "alice's namespace row", |s| {
        s.contains("namespaces orb-alpha") && s.contains("Active")
    });
    ui.keys(&["Enter"]);
    ui.wait(20, "alice's pods", |s| {
        s.contains("pods orb-alpha") && s.contains("notebook-") && !s.contains("checkout-")
    });
    // A kind the cluster does not serve says so.
    ui.keys(&[":"]);
    ui.text("frobnicators");
    ui.keys(&["Enter"]);
    ui.wait(20, "the kind not served", |s| {
        s.contains("no kind `frobnicators` is served")
    });

    // orb-beta's replication policy the schema refuses: the engine records it as Invalid with
    // file:line:col in current/status.yaml, and the ORB list and the Overview show the error.
    let status = "desired/replication/policy.yaml:8:16: spec.maxAttempts: expected integer";
    let origin = keep.join("repos/orb-beta.git");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = show(&origin, "main:current/status.yaml");
        if text.contains("Invalid") && text.contains(status) {
            break;
        }
        assert!(Instant::now() < deadline, "beta's status: {text}");
        std::thread::sleep(Duration::from_millis(500));
    }
    ui.keys(&[":"]);
    ui.text("orb orb-beta");
    ui.keys(&["Enter", "1"]);
    ui.wait(30, "beta's sync error", |s| {
        // orb-beta is marked failing in the ORB list, and its second line counts its errors.
        let lines: Vec<&str> = s.lines().collect();
        lines
            .windows(2)
            .any(|w| w[0].contains("✖ orb-beta") && w[1].contains("!1"))
            && s.contains("Invalid")
            && s.contains("Sync errors (1)")
            && s.contains("policy.yaml:8:16: spec.maxAttempts")
    });
    ui.keys(&["q"]);
}

/// The text of `spec` (`REV:PATH`) in the bare repo `repo`, empty when it is not there.
fn show(repo: &Path, spec: &str) -> String {
    let out = Command::new("git")
        .arg(format!("--git-dir={}", repo.display()))
        .args(["show", spec])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `orbdeck sim` with `clusters` clusters writing `kubeconfig`; killed on drop.
struct SimProcess(std::process::Child);

impl SimProcess {
    fn start(kubeconfig: &Path, clusters: usize) -> SimProcess {
        let child = Command::new(BIN)
            .args(["sim", "--listen", "127.0.0.1:0", "--clusters"])
            .arg(clusters.to_string())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("orbdeck sim runs");
        let sim = SimProcess(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(kubeconfig).is_ok_and(|t| t.contains("current-context")) {
            assert!(Instant::now() < deadline, "the sim wrote no kubeconfig");
            std::thread::sleep(Duration::from_millis(100));
        }
        sim
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_a_fleet_file_every_kubeconfig_context_opens_live_only() {
    let dir = tempfile::tempdir().unwrap();
    let sims = dir.path().join("sims.kubeconfig");
    let _sim = SimProcess::start(&sims, 2);
    // A second kubeconfig file, as in KUBECONFIG=a:b, with a context whose server refuses.
    let down = dir.path().join("down.kubeconfig");
    std::fs::write(
        &down,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: down\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: down\n  user:\n    token: t\ncontexts:\n- name: down\n  context:\n    cluster: down\n    user: down\n",
    )
    .unwrap();
    let kubeconfig = format!("{}:{}", sims.display(), down.display());
    for ctx in ["sim-1", "sim-2"] {
        let out = Command::new("kubectl")
            .env("KUBECONFIG", &kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("kubectl-cache"))
            .args(["--context", ctx, "create", "deployment"])
            .arg(format!("web-{ctx}"))
            .arg("--image=nginx")
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let fleet = dir.path().join("fleet.yaml");
    let data = dir.path().join("data");
    let env = [
        ("KUBECONFIG", kubeconfig.as_str()),
        ("ORBDECK_CONFIG", fleet.to_str().unwrap()),
        ("ORBDECK_DATA", data.to_str().unwrap()),
    ];

    // No fleet file: the three contexts open as live-only ORBs, the two sims live within 5 s.
    let started = Instant::now();
    let ui = Tmux::start("zero", BIN, &env);
    ui.wait(20, "three live-only ORBs, two reachable", |s| {
        s.contains("sim-1")
            && s.contains("sim-2")
            && s.contains("down")
            && s.contains("reachable 2")
    });
    let live = started.elapsed();
    assert!(live < Duration::from_secs(5), "live after {live:?}");

    // :all pods lists the pods of both sims, and says why the third is missing.
    ui.keys(&[":"]);
    ui.text("all pods");
    ui.keys(&["Enter"]);
    ui.wait(30, "the pods of both sims", |s| {
        s.lines()
            .any(|l| l.contains("sim-1") && l.contains("web-sim-1-"))
            && s.lines()
                .any(|l| l.contains("sim-2") && l.contains("web-sim-2-"))
            && s.contains("Missing: down (unreachable")
    });

    // The desired and current views say no repo is paired, and how to pair one.
    ui.keys(&[":"]);
    ui.text("orb sim-1");
    ui.keys(&["Enter", "6"]);
    ui.wait(20, "the Desired tab's pairing hint", |s| {
        s.contains("sim-1 is live only: no repo is paired")
            && s.contains("orbdeck orb add sim-1 --repo URL --context sim-1")
    });
    ui.keys(&["1"]);
    ui.wait(20, "the Overview's repo row", |s| {
        s.contains("none paired (live only)") && !s.contains("fetching")
    });
    ui.keys(&["H"]);
    ui.wait(20, "history refused with the pairing hint", |s| {
        s.contains("sim-1 is live only (no repo paired): cannot show its history")
    });
    // Logs work as on any ORB.
    ui.keys(&[":"]);
    ui.text("pods");
    ui.keys(&["Enter", "/"]);
    ui.text("web-sim-1");
    ui.keys(&["Enter"]);
    ui.wait(20, "sim-1's pod", |s| {
        s.contains("pods sim-1") && s.contains("web-sim-1-")
    });
    ui.keys(&["l"]);
    ui.wait(20, "its log view", |s| {
        s.contains("Logs default/web-sim-1-")
    });
    ui.escape("the log view to close", |s| !s.contains("Logs default/"));
    ui.keys(&["q"]);
    ui.wait(20, "the UI to quit", |s| !s.contains("sim-1"));
    drop(ui);

    // --context picks contexts.
    let ui = Tmux::start("zero-ctx", &format!("{BIN} --context sim-2"), &env);
    ui.wait(20, "sim-2 alone", |s| {
        s.contains("sim-2") && s.contains("reachable 1") && !s.contains("sim-1")
    });
    ui.keys(&["q"]);
    drop(ui);

    // Once a fleet file lists ORBs, it takes over.
    let origin = Origin::new();
    origin.seed(&[(
        "orb.yaml",
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: paired\n",
    )]);
    std::fs::write(
        &fleet,
        format!(
            "orbs:\n- name: paired\n  repo: {}\n  context: sim-1\n",
            origin.url()
        ),
    )
    .unwrap();
    let ui = Tmux::start("zero-fleet", BIN, &env);
    ui.wait(20, "the fleet file's ORB alone", |s| {
        s.contains("paired") && s.contains("reachable 1") && !s.contains("sim-2")
    });
    ui.keys(&["q"]);
}

/// The out-of-sync list: orb-gamma syncs hourly and the demo pushed Profile grace after its
/// first sync, so `:drift` lists grace as missing; `d` shows its diff (every line added) and esc
/// comes back; `:plan` prints what `orbdeck plan` prints.
#[test]
fn drift_lists_gammas_missing_profile_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start(
        "drift",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "gamma drifted", |s| {
        s.contains("reachable 3") && s.contains("drifted 1")
    });
    ui.keys(&[":"]);
    ui.text("orb orb-gamma");
    ui.keys(&["Enter", "1"]);
    ui.wait(20, "gamma's Overview", |s| s.contains("Overview orb-gamma"));
    ui.keys(&[":"]);
    ui.text("drift");
    ui.keys(&["Enter"]);
    let screen = ui.wait(60, "the out-of-sync list", |s| {
        s.contains("Out of sync: orb-gamma (1 object)") && s.contains("missing")
    });
    assert!(
        screen.contains("Profile") && screen.contains("grace"),
        "{screen}"
    );
    ui.keys(&["d"]);
    ui.wait(20, "grace's diff", |s| {
        s.contains("Diff: missing Profile grace @ orb-gamma")
            && s.contains("Not in the cluster: every line is added")
            && s.contains("+   name: grace")
    });
    ui.escape("back to the list", |s| s.contains("Out of sync: orb-gamma"));
    ui.escape("the tables", |s| !s.contains("Out of sync"));
    ui.keys(&[":"]);
    ui.text("plan");
    ui.keys(&["Enter"]);
    ui.wait(60, "the plan", |s| {
        s.contains("create kubeflow.org/v1 Profile/grace") && s.contains("plan: 1 to create")
    });
}

/// Deleting a Profile from desired state takes two steps (a dialog naming the ORB and the
/// object, then its name typed again; a wrong name deletes nothing), and is a commit: the file
/// leaves the remote and the engine prunes the Profile from the cluster.
#[test]
fn deleting_a_profile_asks_twice_and_the_engine_prunes_it() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let origin = keep.join("repos/orb-alpha.git");
    let ui = Tmux::start(
        "delete",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    ui.keys(&["2"]);
    ui.wait(30, "bob in the Profiles tab", |s| {
        s.contains("bob@example.com")
    });
    ui.keys(&["/"]);
    ui.text("bob");
    ui.keys(&["Enter"]);
    ui.wait(20, "only bob", |s| {
        s.contains("bob@example.com") && !s.contains("alice@example.com")
    });
    ui.keys(&["D"]);
    ui.wait(20, "the first step", |s| {
        s.contains("Delete from desired state?")
            && s.contains("Delete Profile bob (desired/profiles/bob.yaml)")
            && s.contains("orb-alpha? A commit")
            && s.contains("its namespace")
    });
    ui.keys(&["y"]);
    ui.wait(20, "the second step", |s| {
        s.contains("type bob to delete it from orb-alpha:")
    });
    ui.text("bobby");
    ui.keys(&["Enter"]);
    ui.wait(20, "a wrong name refused", |s| {
        s.contains("Not deleted: \"bobby\" is not bob; nothing changed")
    });
    assert!(!remote_file(&origin, "desired/profiles/bob.yaml").is_empty());
    ui.keys(&["D", "y"]);
    ui.wait(20, "the second step again", |s| {
        s.contains("type bob to delete it from orb-alpha:")
    });
    ui.text("bob");
    ui.keys(&["Enter"]);
    ui.wait(30, "the push", |s| {
        s.contains("✔ pushed") && s.contains("deleted Profile bob")
    });
    assert!(
        remote_file(&origin, "desired/profiles/bob.yaml").is_empty(),
        "the file left the remote"
    );
    assert!(
        git_log(&origin)
            .lines()
            .any(|l| l == "orbdeck: delete Profile bob (desired/profiles/bob.yaml)")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bob_owner(&keep).is_empty() {
        assert!(Instant::now() < deadline, "the engine never pruned bob");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The label override of Profile alice in orb-alpha's cluster.
fn alice_cpu_label(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["--context", "orb-alpha", "get", "profile", "alice"])
        .args([
            "-o",
            "jsonpath={.metadata.labels.quotas\\.statcan\\.gc\\.ca/requests\\.cpu}",
        ])
        .output()
        .expect("kubectl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `:suspend` commits `engine.suspend: true`: the engine says Suspended and leaves a kubectl
/// change to a desired object alone; `:resume` commits it back and the engine puts desired
/// state back.
#[test]
fn suspend_stops_the_engine_applying_and_resume_starts_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let origin = keep.join("repos/orb-alpha.git");
    let ui = Tmux::start(
        "suspend",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    ui.keys(&[":"]);
    ui.text("suspend");
    ui.keys(&["Enter"]);
    ui.wait(30, "the commit", |s| {
        s.contains("✔ pushed") && s.contains("suspended")
    });
    assert!(remote_file(&origin, "orb.yaml").contains("suspend: true"));
    ui.wait(60, "the engine suspended", |s| {
        s.contains("Last sync") && s.contains("Suspended")
    });
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(keep.join("kubeconfig"))
            .args(["--context", "orb-alpha"])
            .args(args)
            .output()
            .expect("kubectl runs")
    };
    let label = kubectl(&[
        "label",
        "profile",
        "alice",
        "quotas.statcan.gc.ca/requests.cpu=9",
        "--overwrite",
    ]);
    assert!(
        label.status.success(),
        "{}",
        String::from_utf8_lossy(&label.stderr)
    );
    // Two of the demo engine's 5 s intervals: nothing puts it back.
    std::thread::sleep(Duration::from_secs(11));
    assert_eq!(
        alice_cpu_label(&keep),
        "9",
        "a suspended engine applies nothing"
    );
    ui.keys(&[":"]);
    ui.text("resume");
    ui.keys(&["Enter"]);
    ui.wait(30, "the resume commit", |s| {
        s.contains("the engine is resumed")
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while alice_cpu_label(&keep) != "8" {
        assert!(Instant::now() < deadline, "the engine never put alice back");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A key typed without its `: ` in alice's file, validated with ctrl-s in the real binary: the
/// gutter marks line 5 (the line typed, not line 6 where the YAML parser stops) with `✖`, the
/// errors pane names line 5 with no empty field path, and a long line scrolled sideways keeps
/// its line number on screen.
#[test]
fn an_invalid_line_typed_in_the_editor_is_marked_on_its_line_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start(
        "invalid",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    let alice = "desired/profiles/alice.yaml";
    open_desired(&ui, 1, alice);
    // `  name: alice` becomes `  name alice`.
    retype(&ui, 5, 0, 7, " alice");
    ui.wait(20, "the broken line", |s| s.contains("  5   name alice"));
    ui.keys(&["C-s"]);
    let screen = ui.wait(60, "the syntax error", |s| {
        s.contains("line 5: syntax error: mapping values are not allowed")
    });
    assert!(
        screen.contains("✖ 5   name alice"),
        "line 5 marked:\n{screen}"
    );
    assert!(!screen.contains("✖ 6"), "line 6 is not marked:\n{screen}");
    assert!(!screen.contains(": : "), "no empty path:\n{screen}");

    // Back to the text; a line longer than the window scrolls, its number stays.
    ui.escape("the text again", |s| s.contains("ctrl-s validate"));
    ui.keys(&["End"]);
    ui.text(&" and on".repeat(30));
    let screen = ui.wait(20, "the line scrolled sideways", |s| {
        s.contains("ln 5, col 223") && !s.contains("kind: Profile")
    });
    assert!(
        screen.contains("✖ 5 ") && screen.contains("  6 "),
        "the numbers stay:\n{screen}"
    );
}

/// The diff view against a second actor: someone changes erin's owner on orb-gamma (hourly
/// syncs, so it stays) with kubectl; `d` on erin shows that one line as changed side by side,
/// the owner as the engine wrote it opposite, the lines nobody touched unmarked; `u` shows it
/// unified as a removed and an added line.
#[test]
fn diff_shows_a_kubectl_change_as_the_one_changed_line() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start(
        "diff",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "gamma synced once", |s| {
        s.contains("reachable 3") && s.contains("drifted 1")
    });
    let patch = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(keep.join("kubeconfig"))
        .args(["--context", "orb-gamma", "patch", "profile", "erin"])
        .args(["--type", "merge", "-p"])
        .arg(r#"{"spec":{"owner":{"name":"mallory@example.com"}}}"#)
        .output()
        .expect("kubectl runs");
    assert!(
        patch.status.success(),
        "{}",
        String::from_utf8_lossy(&patch.stderr)
    );
    ui.keys(&[":"]);
    ui.text("orb orb-gamma");
    ui.keys(&["Enter", "2"]);
    ui.wait(30, "erin in gamma's Profiles", |s| s.contains("erin"));
    ui.keys(&["/"]);
    ui.text("erin");
    ui.keys(&["Enter", "d"]);
    let screen = ui.wait(30, "erin's diff", |s| {
        s.contains("Diff: Profile erin @ orb-gamma") && s.contains("mallory@example.com")
    });
    assert!(screen.contains("changed Profile erin"), "{screen}");
    let row = screen
        .lines()
        .find(|l| l.contains("mallory@example.com"))
        .unwrap();
    assert!(
        row.contains("~     name: mallory@example.com")
            && row.contains("~     name: erin@example.com"),
        "the owner is one changed row, live left and desired right: {row}"
    );
    for same in ["kind: User", "kind: Profile", "name: erin\u{20}"] {
        let row = screen
            .lines()
            .find(|l| l.contains(same))
            .unwrap_or_else(|| panic!("{same} shown: {screen}"));
        assert!(
            !row.contains(" ~ ") && !row.contains(" + ") && !row.contains(" - "),
            "an unchanged line is not marked: {row}"
        );
    }
    assert!(
        screen.contains("current/status.yaml:"),
        "the engine's word: {screen}"
    );
    ui.keys(&["u"]);
    let screen = ui.wait(10, "the unified diff", |s| s.contains("+++ desired/"));
    assert!(
        screen.contains("-     name: mallory@example.com")
            && screen.contains("+     name: erin@example.com"),
        "{screen}"
    );
    ui.escape("the tables", |s| !s.contains("Diff:"));
}

/// A second person changes alice's quota with kubectl; the profile controller puts it back, and
/// the Overview's engine events say so (the self-heal leaves a trace on screen).
#[test]
fn a_quota_changed_with_kubectl_is_put_back_and_shown_as_a_self_heal() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start(
        "selfheal",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
    );
    ui.wait(90, "the demo's ORBs", |s| s.contains("reachable 3"));
    // alice's label override (requests.cpu "8") applied.
    let before = "8";
    let deadline = Instant::now() + Duration::from_secs(60);
    while quota_cpu(&keep) != before {
        assert!(
            Instant::now() < deadline,
            "alice's quota never reached {before}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // managedFields times are whole seconds, so a change within the second of orbdeck's own
    // write is not told apart from it: the second person acts a little later.
    std::thread::sleep(Duration::from_millis(2000));
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(keep.join("kubeconfig"))
        .args([
            "--context",
            "orb-alpha",
            "-n",
            "alice",
            "patch",
            "resourcequota",
        ])
        .args(["quotas", "--type", "merge", "-p"])
        .arg(r#"{"spec":{"hard":{"requests.cpu":"99"}}}"#)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while quota_cpu(&keep) != before {
        assert!(Instant::now() < deadline, "the quota was not put back");
        std::thread::sleep(Duration::from_millis(100));
    }
    ui.keys(&["1"]);
    ui.wait(30, "the self-heal in the Overview", |s| {
        s.contains("Eng. events") && s.contains("SelfHealed ResourceQuota/quotas")
    });
}

/// The Access tab at 80x24: orb-alpha's live bindings (the profiles' service accounts among
/// them); a ClusterRoleBinding made with kubectl meanwhile shows within seconds, flagged
/// cluster-admin, and `y` shows it live.
#[test]
fn the_access_tab_shows_a_binding_kubectl_adds_and_flags_it() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let ui = Tmux::start_sized(
        "access",
        &format!("{BIN} demo --keep {}", keep.display()),
        &[],
        (80, 24),
    );
    ui.wait(90, "the fleet", |s| s.contains("reachable 3"));
    ui.keys(&["9"]);
    ui.wait(30, "alpha's live bindings", |s| {
        s.contains("Access orb-alpha")
            && s.contains("live bindings")
            && s.contains("alice/default-")
    });
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(keep.join("kubeconfig"))
        .args([
            "--context",
            "orb-alpha",
            "create",
            "clusterrolebinding",
            "mallory-root",
        ])
        .args(["--clusterrole=cluster-admin", "--user=mallory"])
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ui.keys(&["/"]);
    ui.text("mallory");
    ui.keys(&["Enter"]);
    ui.wait(20, "mallory's row", |s| {
        s.contains("mallory") && s.contains("cluster-admin") && s.contains("[1/1]")
    });
    ui.keys(&["y"]);
    ui.wait(20, "the binding's live YAML", |s| {
        s.contains("ClusterRoleBinding mallory-root") && s.contains("name: cluster-admin")
    });
}

/// `:rollouts` reads the same rollout file `orbdeck rollout` writes: planned (offline, the
/// cluster refuses), then started from another terminal; the Overview shows the labels the
/// selector used.
#[test]
fn the_rollouts_view_reads_the_rollout_file_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: eu-1\n"),
        (
            "desired/quota.yaml",
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: team\n  namespace: default\nspec:\n  hard:\n    configmaps: \"10\"\n",
        ),
    ]);
    let down = dir.path().join("down.kubeconfig");
    std::fs::write(
        &down,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: down\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: down\n  user:\n    token: t\ncontexts:\n- name: down\n  context:\n    cluster: down\n    user: down\ncurrent-context: down\n",
    )
    .unwrap();
    let fleet = dir.path().join("fleet.yaml");
    std::fs::write(
        &fleet,
        format!(
            "orbs:\n- name: eu-1\n  repo: {}\n  kubeconfig: {}\n  write: true\n  labels: {{env: prod, canary: true}}\n",
            origin.url(),
            down.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let env = [
        ("ORBDECK_CONFIG", fleet.to_str().unwrap()),
        ("ORBDECK_DATA", data.to_str().unwrap()),
    ];
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .envs(env)
            .env("ORBDECK_LOG", "error")
            .args(args)
            .output()
            .expect("orbdeck runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "orbdeck {args:?}: {text}");
        text
    };
    let planned = cli(&[
        "rollout",
        "plan",
        "--orbs",
        "env=prod",
        "--file",
        "desired/quota.yaml",
        "--set",
        "spec.hard.configmaps",
        "\"20\"",
    ]);
    assert!(planned.contains("planned offline"), "{planned}");
    let id = planned
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("rollout "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_string();

    let ui = Tmux::start("rollouts", BIN, &env);
    ui.wait(20, "the control room", |s| s.contains("eu-1"));
    ui.keys(&[":"]);
    ui.text("all");
    ui.keys(&["Enter"]);
    ui.wait(20, "the fleet Overview with the ORB's labels", |s| {
        s.lines()
            .any(|l| l.contains("eu-1") && l.contains("canary=true,env="))
    });
    ui.keys(&[":"]);
    ui.text("rollouts");
    ui.keys(&["Enter"]);
    let note = format!("{id} Planned · ready 0/1 · wave 1/1 · unavailable 0/1");
    ui.wait(20, "the planned rollout in the Rollouts tab", |s| {
        s.contains(&note)
            && s.lines()
                .any(|l| l.contains("eu-1") && l.contains("0 canary") && l.contains("Waiting"))
    });
    // Started from another terminal: the tab follows the file; this control room may write to
    // eu-1, so it carries the rollout out (the push lands; no engine ever applies it).
    cli(&["rollout", "start", &id]);
    ui.wait(20, "the started rollout", |s| {
        s.contains(&format!("{id} Running · ready 0/1"))
    });
    ui.wait(20, "the canary pushed by the control room", |s| {
        s.lines()
            .any(|l| l.contains("eu-1") && l.contains("Pushed"))
    });
    let tip = show(&origin.path(), "main");
    assert!(
        tip.contains(&format!("rollout {id}: set spec.hard.configmaps")),
        "{tip}"
    );
    let status = cli(&["rollout", "status", &id]);
    assert!(
        status.contains(&format!("rollout {id} · Running · ready 0/1")),
        "{status}"
    );
}
