//! The control room end to end in a real terminal (tmux): `orbdeck demo`, edit a quota label in
//! the editor, see the plan, commit; the commit is on the bare repo, the engine applies it, the
//! screen shows it; a UI killed mid-edit finds its draft again. And a fleet whose clusters refuse
//! connections or never answer: the first frame and navigation are immediate, both show why.

mod common;

use common::repos::Origin;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_orbdeck");

/// A tmux server of its own (socket per test) running one session.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str, env: &[(&str, &str)]) -> Tmux {
        let tmux = Tmux {
            socket: format!("orbdeck-{name}-{}", std::process::id()),
        };
        let mut args = vec!["new-session", "-d", "-s", "ui", "-x", "200", "-y", "50"];
        let envs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for e in &envs {
            args.push("-e");
            args.push(e);
        }
        args.push(command);
        let out = tmux.run(&args);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Escape must arrive alone, not as Alt+<next key>.
        tmux.run(&["set", "-s", "escape-time", "0"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "ui"]).stdout).into_owned()
    }

    /// Sends tmux key names one by one, a little apart.
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "ui", k]);
            std::thread::sleep(Duration::from_millis(80));
        }
    }

    fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "ui", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits until `check` holds for the screen; panics with the screen otherwise.
    fn wait(&self, secs: u64, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs} s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn kill(&self) {
        self.run(&["kill-server"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill();
    }
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

/// Opens alice's desired file from the Profiles tab (filtered to her).
fn open_alice(ui: &Tmux) {
    ui.keys(&["2"]);
    ui.wait(30, "alice in the Profiles tab", |s| {
        s.contains("alice@example.com")
    });
    ui.keys(&["/"]);
    ui.text("alice");
    ui.keys(&["Enter"]);
    ui.wait(10, "the filter to leave only alice", |s| {
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
    ui.wait(10, "the edited label", |s| {
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
    ui.wait(10, "the draft restored", |s| {
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
    ui.keys(&["q"]);
    ui.wait(10, "the UI to quit", |s| !s.contains("orb-alpha"));
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
    origin.seed(&[(
        "orb.yaml",
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: far\n",
    )]);
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
    ui.wait(5, "the first frame", |s| {
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
    ui.keys(&["q"]);
}
