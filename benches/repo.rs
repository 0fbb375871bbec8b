//! Benchmarks of the ORB repository layer, printed as figures:
//! - `orbdeck validate` on a repo of 10k Profiles (goal ≤ 2 s);
//! - commit + push of one edit through git2 (fetch, tree update, commit, CAS push) against the
//!   git CLI (pull --rebase, edit, commit, push) on the same bare repo (goal: no slower).
//!
//! Run with `cargo bench --bench repo`.

use orbdeck::repo::{Change, Edit, OrbRepo, RemoteOptions, RetryPolicy};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn profile(i: usize) -> String {
    format!(
        "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: user-{i}\n  labels:\n    quotas.statcan.gc.ca/requests.cpu: \"8\"\nspec:\n  owner:\n    kind: User\n    name: user-{i}@example.com\n  resourceQuotaSpec:\n    hard:\n      requests.cpu: \"8\"\n      requests.memory: 32Gi\n      requests.nvidia.com/gpu: \"1\"\n---\n"
    )
}

fn bench_validate() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired/profiles");
    std::fs::create_dir_all(&desired).unwrap();
    for f in 0..100 {
        let text: String = (0..100).map(|i| profile(f * 100 + i)).collect();
        std::fs::write(desired.join(format!("team-{f:03}.yaml")), text).unwrap();
    }
    let mut best = Duration::MAX;
    let mut objects = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let report = orbdeck::validate::validate_dir(dir.path(), &orbdeck::validate::ModelSchemas);
        best = best.min(started.elapsed());
        assert_eq!(report.errors(), 0, "{:?}", report.diagnostics.first());
        objects = report.objects.len();
    }
    println!(
        "validate: {objects} Profiles in 100 files: {:.0} ms (best of 3; goal <= 2000 ms)",
        best.as_secs_f64() * 1000.0
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn bench_push() {
    let root = tempfile::tempdir().unwrap();
    let origin = root.path().join("origin.git");
    git2::Repository::init_bare(&origin).unwrap();
    let url = format!("file://{}", origin.display());
    // A realistic repo: 1000 desired files.
    let seed_dir = root.path().join("seed");
    let repo = OrbRepo::open(&seed_dir, &url, "main", RemoteOptions::default()).unwrap();
    let changes: Vec<Change> = (0..1000)
        .map(|i| Change {
            path: format!("desired/profiles/user-{i}.yaml"),
            content: Some(profile(i).into_bytes()),
        })
        .collect();
    let first = repo.commit(None, &changes, "seed").unwrap();
    repo.push(first).unwrap();

    let rounds = 30;
    let mut ours = Vec::new();
    let clone = OrbRepo::open(
        &root.path().join("git2"),
        &url,
        "main",
        RemoteOptions::default(),
    )
    .unwrap();
    clone.fetch().unwrap();
    for i in 0..rounds {
        let started = Instant::now();
        let edit = Edit {
            base: clone.tip(),
            changes: vec![Change {
                path: "desired/profiles/user-7.yaml".into(),
                content: Some(format!("{}# edit {i}\n", profile(7)).into_bytes()),
            }],
            message: format!("edit {i}"),
        };
        orbdeck::repo::write::write(&clone, &edit, &RetryPolicy::default()).unwrap();
        ours.push(started.elapsed());
    }

    let work = root.path().join("cli");
    let out = Command::new("git")
        .args(["clone", "-q", "-b", "main", &url])
        .arg(&work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(&work, &["config", "user.name", "bench"]);
    git(&work, &["config", "user.email", "bench@localhost"]);
    let mut theirs = Vec::new();
    for i in 0..rounds {
        let started = Instant::now();
        git(&work, &["pull", "-q", "--rebase", "origin", "main"]);
        std::fs::write(
            work.join("desired/profiles/user-8.yaml"),
            format!("{}# edit {i}\n", profile(8)),
        )
        .unwrap();
        git(&work, &["commit", "-q", "-am", &format!("edit {i}")]);
        git(&work, &["push", "-q", "origin", "main"]);
        theirs.push(started.elapsed());
    }
    println!(
        "commit + push of one edit (repo of 1000 files, median of {rounds}): git2 {:.1} ms, git CLI {:.1} ms",
        median(ours),
        median(theirs)
    );
}

fn main() {
    bench_validate();
    bench_push();
}
