//! Fixtures shared by the UI tests and the bench: a demo fleet, generated large ORBs, a fixed
//! clock, key helpers and a `TestBackend` drawing helper.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orbdeck::ui::{
    Action, Clock, DraftKind, DraftRow, Effect, EngineInfo, EventRow, Health, LiveRow, LiveTable,
    NodeRow, OrbView, OwnerKind, ProfileRow, QuotaRow, ReplicationRow, RepoInfo, Settings, State,
    SyncInfo, UpgradeRow, Usage, render, update,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Wall-clock "now" of every test: ages are computed against this.
pub const NOW: u64 = 1_750_000_000;

/// A clock `ms` milliseconds after `base`.
pub fn clock(base: Instant, ms: u64) -> Clock {
    Clock {
        now: base + Duration::from_millis(ms),
        unix: NOW + ms / 1000,
    }
}

/// A state over `fleet`, resized to `w`x`h`.
pub fn state(fleet: Vec<OrbView>, w: u16, h: u16) -> State {
    state_with(fleet, w, h, Settings::default())
}

/// Same as [`state`] with explicit settings.
pub fn state_with(fleet: Vec<OrbView>, w: u16, h: u16, settings: Settings) -> State {
    let mut s = State::new(fleet, settings, clock(Instant::now(), 0));
    update(&mut s, Action::Resize(w, h));
    s
}

/// Draws `state` at its size and returns the backend (text + styles).
pub fn draw(state: &State) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(state, f)).unwrap();
    terminal
}

/// The screen as text, one quoted line per row.
pub fn screen(state: &State) -> String {
    draw(state).backend().to_string()
}

/// A key event for `code`.
pub fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// ctrl + `c`.
pub fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Presses each character of `text` (uppercase with SHIFT, as terminals report it).
pub fn type_text(state: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        fx.extend(update(
            state,
            Action::Key(KeyEvent::new(KeyCode::Char(c), mods)),
        ));
    }
    fx
}

/// Sends `action` and returns the effects.
pub fn send(state: &mut State, action: Action) -> Vec<Effect> {
    update(state, action)
}

fn usage(used: f64, hard: f64, unit: &str) -> Option<Usage> {
    let text = |v: f64| {
        if unit == "m" {
            if v.fract() == 0.0 {
                format!("{v}")
            } else {
                format!("{}m", (v * 1000.0) as u64)
            }
        } else {
            format!("{v}{unit}")
        }
    };
    Some(Usage {
        used,
        hard,
        used_text: text(used),
        hard_text: text(hard),
    })
}

/// A profile with deterministic usage derived from `i`.
pub fn profile(name: &str, i: usize) -> ProfileRow {
    let cpu_hard = [4.0, 8.0, 16.0][i % 3];
    let cpu_used = (cpu_hard * ((i * 37) % 100) as f64 / 100.0 * 2.0).round() / 2.0;
    let mem_hard = [16.0, 32.0, 64.0][i % 3];
    let mem_used = ((i * 53) % 60) as f64 * mem_hard / 60.0;
    let gpu_hard = [0.0, 1.0, 2.0, 4.0][i % 4];
    let gpu_used = if gpu_hard > 0.0 {
        ((i % 5) as f64).min(gpu_hard)
    } else {
        0.0
    };
    ProfileRow {
        name: name.to_string(),
        owner: format!("{}@statcan.gc.ca", name.split('-').next().unwrap_or(name)),
        owner_kind: if i % 4 == 3 {
            OwnerKind::Group
        } else {
            OwnerKind::User
        },
        namespace: name.to_string(),
        cpu: usage(cpu_used, cpu_hard, "m"),
        memory: usage(mem_used.round(), mem_hard, "Gi"),
        gpu: if gpu_hard > 0.0 {
            usage(gpu_used, gpu_hard, "")
        } else {
            None
        },
        pods: usage(((i * 7) % 50) as f64, 50.0, ""),
        policies: (i % 5) as u16,
        conditions: if i % 11 == 5 {
            format!("Failed: namespace owned by {}", "bob")
        } else {
            "Ready".into()
        },
        source: Some((
            format!("desired/profiles/{name}.yaml"),
            1 + (i % 3) as u32 * 20,
        )),
    }
}

const NAMES: &[&str] = &[
    "alice",
    "bob-ml",
    "carol-research",
    "data-eng",
    "dev-sandbox",
    "fraud-models",
    "geo-stats",
    "hr-analytics",
    "census-2026",
    "labour-force",
    "nlp-team",
    "price-index",
];

fn quotas(profiles: &[ProfileRow]) -> Vec<QuotaRow> {
    let mut rows = Vec::new();
    for (i, p) in profiles.iter().enumerate() {
        for (res, u, source) in [
            ("requests.cpu", &p.cpu, "spec"),
            ("requests.memory", &p.memory, "default"),
            (
                "requests.nvidia.com/gpu",
                &p.gpu,
                "label quotas.statcan.gc.ca/gpu",
            ),
        ] {
            if let Some(u) = u {
                rows.push(QuotaRow {
                    namespace: p.namespace.clone(),
                    resource: res.into(),
                    used_text: u.used_text.clone(),
                    hard_text: u.hard_text.clone(),
                    used: u.used,
                    hard: u.hard,
                    source: if i % 4 == 0 && res == "requests.cpu" {
                        "default".into()
                    } else {
                        source.into()
                    },
                });
            }
        }
    }
    rows
}

/// The demo fleet: alpha (rich, writable), beta (read-only), gamma (unreachable), delta (auth
/// error), epsilon (connecting and loading).
pub fn fleet() -> Vec<OrbView> {
    let profiles: Vec<ProfileRow> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| profile(n, i))
        .collect();
    let alpha = OrbView {
        name: "alpha".into(),
        writable: true,
        labels: "canary=true,env=prod".into(),
        health: Health::Connected {
            version: "v1.33.2".into(),
        },
        repo: Some(RepoInfo {
            url: "https://git.example.org/fleet/alpha.git".into(),
            fetching: false,
            error: None,
        }),
        sync: Some(SyncInfo {
            commit: "a1b2c3d".into(),
            time: Some(NOW - 300),
            result: "Applied".into(),
            errors: vec![],
            ..Default::default()
        }),
        drift: Some(2),
        quotas: quotas(&profiles),
        profiles,
        replications: (0..6)
            .map(|i| ReplicationRow {
                namespace: NAMES[i].into(),
                name: format!("python-3-12-{i}"),
                source: format!("docker.io/library/python:3.1{i}"),
                destination: format!("registry.example.org/mirror/python:3.1{i}"),
                phase: [
                    "Succeeded",
                    "Replicating",
                    "MaxAttemptsExceeded",
                    "Pending",
                    "Succeeded",
                    "Succeeded",
                ][i]
                    .into(),
                attempts: [1, 1, 3, 0, 2, 1][i],
                max_attempts: [3, 3, 3, 0, 3, 3][i],
                bytes_copied: [48 << 20, 30 << 20, 0, 0, 48 << 20, 48 << 20][i],
                bytes_total: [48 << 20, 120 << 20, 0, 0, 48 << 20, 48 << 20][i],
                message: [
                    "copied",
                    "copying layer 3/7",
                    "unauthorized: registry refused the push",
                    "",
                    "copied",
                    "copied",
                ][i]
                    .into(),
            })
            .collect(),
        upgrades: vec![UpgradeRow {
            name: "to-1.33".into(),
            version: "1.33.2".into(),
            strategy: "maxUnavailable 1, drain 300s".into(),
            phase: "Progressing".into(),
            paused: false,
            nodes: (0..5)
                .map(|i| NodeRow {
                    name: format!("node-pool-a-{i}"),
                    kubelet_version: if i < 2 {
                        "v1.33.2".into()
                    } else {
                        "v1.32.5".into()
                    },
                    phase: ["Succeeded", "Succeeded", "Draining", "Pending", "Pending"][i].into(),
                    control_plane: i == 0,
                    ..Default::default()
                })
                .collect(),
            blocker: Some(
                "PodDisruptionBudget shop/web allows no disruption (healthy 2, needs 2): pods shop/web-1 cannot be evicted".into(),
            ),
            ..Default::default()
        }],
        events: (0..8)
            .map(|i| EventRow {
                time: NOW - 40 - i as u64 * 400,
                namespace: NAMES[i].into(),
                object: format!("Pod/notebook-{i}-0"),
                type_: if i % 3 == 1 {
                    "Warning".into()
                } else {
                    "Normal".into()
                },
                reason: if i % 3 == 1 {
                    "FailedScheduling".into()
                } else {
                    "Started".into()
                },
                message: if i % 3 == 1 {
                    "0/5 nodes are available: insufficient nvidia.com/gpu".into()
                } else {
                    "Started container notebook".into()
                },
                source: if i % 3 == 1 {
                    "default-scheduler".into()
                } else {
                    "kubelet".into()
                },
            })
            .collect(),
        live: LiveTable::default(),
        access: Default::default(),
        desired_files: {
            let mut files: Vec<String> = NAMES
                .iter()
                .take(4)
                .map(|n| format!("desired/profiles/{n}.yaml"))
                .collect();
            files.extend([
                "desired/podsettings/gpu-defaults.yaml".to_string(),
                "desired/replication/python.yaml".to_string(),
                "desired/upgrades/to-1.33.yaml".to_string(),
            ]);
            files.sort();
            files
        },
        tip: Some(BASE.into()),
        drafts: vec![],
        rollouts: vec![],
        loading: false,
        engine: Some(EngineInfo {
            holder: "alpha-engine-7d9f".into(),
            renewed: Some(NOW - 1),
            lease_seconds: 15,
            ran: Some(NOW - 4),
            took_ms: 420,
            result: "Synced".into(),
            commit: "a1b2c3d".into(),
        }),
    };
    let beta = OrbView {
        name: "beta".into(),
        writable: false,
        health: Health::Connected {
            version: "v1.32.5".into(),
        },
        repo: Some(RepoInfo {
            url: "https://git.example.org/fleet/beta.git".into(),
            fetching: true,
            error: None,
        }),
        sync: Some(SyncInfo {
            commit: "9f8e7d6".into(),
            time: Some(NOW - 7200),
            result: "Applied".into(),
            errors: vec![],
            ..Default::default()
        }),
        drift: Some(0),
        profiles: (0..3)
            .map(|i| profile(&format!("beta-team-{i}"), i + 3))
            .collect(),
        upgrades: vec![UpgradeRow {
            name: "to-1.33".into(),
            version: "1.33.2".into(),
            strategy: "maxUnavailable 2".into(),
            phase: "Paused".into(),
            paused: true,
            nodes: vec![],
            ..Default::default()
        }],
        desired_files: vec!["desired/profiles/beta-team-0.yaml".into()],
        ..OrbView::default()
    };
    let gamma = OrbView {
        name: "gamma".into(),
        health: Health::Unreachable {
            reason: "dial tcp 10.0.0.12:6443: connect: connection refused".into(),
        },
        repo: Some(RepoInfo {
            url: "https://git.example.org/fleet/gamma.git".into(),
            ..RepoInfo::default()
        }),
        sync: Some(SyncInfo {
            commit: "5e4d3c2".into(),
            time: Some(NOW - 3 * 86400),
            result: "Failed".into(),
            errors: vec![
                "desired/profiles/x.yaml:4: spec.owner.kind: unknown variant `Team`".into(),
            ],
            ..Default::default()
        }),
        ..OrbView::default()
    };
    let delta = OrbView {
        name: "delta".into(),
        health: Health::AuthError {
            reason: "Unauthorized: token expired".into(),
        },
        repo: Some(RepoInfo {
            url: "https://git.example.org/fleet/delta.git".into(),
            ..RepoInfo::default()
        }),
        ..OrbView::default()
    };
    let epsilon = OrbView {
        name: "epsilon".into(),
        health: Health::Connecting,
        repo: Some(RepoInfo {
            url: "https://git.example.org/fleet/epsilon.git".into(),
            fetching: true,
            error: None,
        }),
        loading: true,
        ..OrbView::default()
    };
    vec![alpha, beta, gamma, delta, epsilon]
}

/// An ORB named `name` with `n` generated profiles (names unsorted, values varied).
pub fn big_orb(name: &str, n: usize) -> OrbView {
    let profiles = (0..n)
        .map(|i| {
            let j = (i * 7919) % n.max(1);
            profile(&format!("{}-{j:06}", NAMES[i % NAMES.len()]), i)
        })
        .collect();
    OrbView {
        name: name.into(),
        writable: true,
        health: Health::Connected {
            version: "v1.33.2".into(),
        },
        repo: Some(RepoInfo {
            url: format!("https://git.example.org/fleet/{name}.git"),
            ..RepoInfo::default()
        }),
        sync: Some(SyncInfo {
            commit: "0badc0d".into(),
            time: Some(NOW - 60),
            result: "Applied".into(),
            errors: vec![],
            ..Default::default()
        }),
        drift: Some(0),
        profiles,
        ..OrbView::default()
    }
}

/// Sends ORB `orb`'s view with `change` made to it, as the runtime's worker does.
pub fn updated(state: &mut State, orb: usize, change: impl FnOnce(&mut OrbView)) -> Vec<Effect> {
    let mut view = state.fleet[orb].clone();
    change(&mut view);
    send(state, Action::OrbUpdated(orb, Box::new(view)))
}

/// The commit the fixtures' files were opened from.
pub const BASE: &str = "0badc0de0badc0de0badc0de0badc0de0badc0de";

/// A saved draft of `path`, an edit made against [`BASE`].
pub fn draft(path: &str) -> DraftRow {
    DraftRow {
        path: path.into(),
        kind: DraftKind::Edit,
        updated: NOW - 30,
        base: BASE[..8].into(),
        upstream: None,
        error: None,
    }
}

/// Sample YAML opened in the editor.
pub const PROFILE_YAML: &str = "# Alice's team profile
apiVersion: kubeflow.org/v1
kind: Profile
metadata:
  name: alice
  labels:
    quotas.statcan.gc.ca/gpu: \"2\" # label override
spec:
  owner:
    kind: User
    name: alice@statcan.gc.ca
  resourceQuotaSpec:
    hard:
      requests.cpu: \"4\"
      requests.memory: 16Gi
";

/// A pod row of the Live tab.
pub fn pod(ns: &str, name: &str, status: &str, restarts: u32, health: (&str, &str)) -> LiveRow {
    LiveRow {
        namespace: ns.into(),
        name: name.into(),
        ready: if status == "Running" { "1/1" } else { "0/1" }.into(),
        status: status.into(),
        restarts,
        created: NOW - 300,
        health: health.0.into(),
        health_message: health.1.into(),
        containers: vec!["main".into(), "sidecar".into()],
        selector: String::new(),
    }
}

/// The pods the demo runs on alpha: two notebooks of alice, one pod that cannot schedule and one
/// that crash-loops.
pub fn demo_pods() -> Vec<LiveRow> {
    vec![
        pod(
            "alice",
            "notebook-5f2cb-4kzlg",
            "Running",
            0,
            ("Healthy", ""),
        ),
        pod(
            "alice",
            "notebook-5f2cb-hx2jr",
            "Running",
            0,
            ("Healthy", ""),
        ),
        pod(
            "shop",
            "checkout-d7f5d-djrdn",
            "Pending",
            0,
            (
                "Progressing",
                "0/3 nodes are available: node selector disktype=nvme",
            ),
        ),
        pod(
            "shop",
            "payments-bf88d-b54qq",
            "CrashLoopBackOff",
            5,
            (
                "Degraded",
                "CrashLoopBackOff: back-off 5m0s restarting failed container",
            ),
        ),
    ]
}

/// ORB `orb` of the state now shows `rows` of `kind` in its Live table (as its worker sends them).
pub fn live(s: &mut State, orb: usize, kind: (&str, &str, &str), rows: Vec<LiveRow>) {
    let mut view = s.fleet[orb].clone();
    view.live = LiveTable {
        asked: s.live_kind.clone(),
        kind: kind.0.into(),
        api_version: kind.1.into(),
        plural: kind.2.into(),
        rows,
        error: None,
        loading: false,
    };
    update(s, Action::OrbUpdated(orb, Box::new(view)));
}

/// The Pod kind, for [`live`].
pub const PODS: (&str, &str, &str) = ("Pod", "v1", "pods");
