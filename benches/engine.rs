//! Benchmark of the engine's profile controllers, printing figures against the engine issue's
//! goals: 1k and 10k Profiles from cold to converged against the sim (time, API requests per
//! Profile, engine RSS), then writes in steady state. The sim runs in this process; the engine runs
//! as its own process (`orbdeck engine`), so its RSS is its own. Run with `cargo bench --bench engine`.

use kube_sim::{Options, Requests, Server};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: bench\nengine:\n  interval: 1h\n  writeInterval: 10s\n  prune:\n    allowLarge: true\n";

/// A bare repo with the CRDs and `n` Profiles (100 per file), every fifth with label overrides.
fn seed_repo(dir: &Path, n: usize) -> String {
    let repo = git2::Repository::init_bare(dir).unwrap();
    let mut files: Vec<(String, String)> = vec![
        ("orb.yaml".into(), ORB.into()),
        ("desired/crds.yaml".into(), orbdeck::model::crds_yaml()),
    ];
    for chunk in 0..n.div_ceil(100) {
        let mut text = String::new();
        for i in chunk * 100..((chunk + 1) * 100).min(n) {
            let labels = if i % 5 == 0 {
                "  labels:\n    quotas.statcan.gc.ca/gpu: \"1\"\n    quotas.statcan.gc.ca/requests.cpu: \"8\"\n"
            } else {
                ""
            };
            text.push_str(&format!(
                "---\napiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: user-{i:05}\n{labels}spec:\n  owner:\n    kind: User\n    name: user-{i:05}@example.com\n"
            ));
        }
        files.push((format!("desired/profiles/batch-{chunk:03}.yaml"), text));
    }
    let mut index = git2::Index::new().unwrap();
    for (path, text) in &files {
        let blob = repo.blob(text.as_bytes()).unwrap();
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: text.len() as u32,
            id: blob,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        };
        index.add(&entry).unwrap();
    }
    let tree = repo.find_tree(index.write_tree_to(&repo).unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "seed", &tree, &[])
        .unwrap();
    format!("file://{}", dir.display())
}

/// (VmRSS, VmHWM) of a process in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Objects stored under a resource whose key ends with `plural`.
fn stored(server: &Server, plural: &str) -> usize {
    server.cluster().stored(plural).0
}

/// (all requests, writes) the sim served, leases and events left out.
fn requests(server: &Server) -> (u64, u64) {
    let requests = server.cluster().requests();
    let skip = ["leases", "events"];
    (requests.all_except(&skip), requests.writes_except(&skip))
}

/// The writes (verb, resource, client) made between two counts, leases and events left out.
fn writes_between(before: &Requests, after: &Requests) -> Vec<(String, u64)> {
    let writes = |r: &Requests| -> BTreeMap<String, u64> {
        r.iter()
            .filter(|(verb, resource, _, _)| {
                ["create", "update", "patch", "delete", "deletecollection"].contains(verb)
                    && !["leases", "events"].iter().any(|s| resource.starts_with(s))
            })
            .map(|(verb, resource, agent, n)| (format!("{verb} {resource} ({agent})"), n))
            .collect()
    };
    let before = writes(before);
    writes(after)
        .into_iter()
        .filter_map(|(what, n)| {
            let n = n - before.get(&what).copied().unwrap_or(0);
            (n > 0).then_some((what, n))
        })
        .collect()
}

/// The requests (verb, resource) made between two counts, most first, leases and events left
/// out, each with its count per Profile.
fn requests_between(before: &Requests, after: &Requests) -> Vec<(String, u64)> {
    let counts = |r: &Requests| -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for (verb, resource, _, n) in r.iter() {
            if !["leases", "events"].iter().any(|s| resource.starts_with(s)) {
                let resource = resource.split('/').next().unwrap_or_default();
                *counts.entry(format!("{verb} {resource}")).or_default() += n;
            }
        }
        counts
    };
    let before = counts(before);
    let mut out: Vec<(String, u64)> = counts(after)
        .into_iter()
        .map(|(what, n)| {
            let n = n - before.get(&what).copied().unwrap_or(0);
            (what, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The engine process; `ORBDECK_BENCH_WRAP` (e.g. `heaptrack -o /tmp/engine`) runs it under a
/// profiler, whose figures then replace the RSS printed here.
fn engine(repo: &str, kubeconfig: &Path, data: &Path) -> Child {
    let wrap = std::env::var("ORBDECK_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(tool) => {
            let mut c = Command::new(tool);
            c.args(words).arg(env!("CARGO_BIN_EXE_orbdeck"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_orbdeck")),
    };
    command
        .args(["engine", "--repo", repo, "--namespace", "default"])
        .args(["--listen", "127.0.0.1:0", "--interval", "1h"])
        .args(["--webhook-listen", "off"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("orbdeck engine starts")
}

async fn run(n: usize) {
    let server = Server::start(Options::default()).await.expect("sim starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let repo = seed_repo(&dir.path().join("origin.git"), n);
    let before = requests(&server);
    let at_start = server.cluster().requests();
    let started = Instant::now();
    let mut child = engine(&repo, &kubeconfig, &dir.path().join("data"));
    let pid = child.id();
    let mut peak = 0;
    let deadline = Duration::from_secs(600);
    loop {
        let (rss, _) = rss_kib(pid);
        peak = peak.max(rss);
        let done = stored(&server, "networkpolicies") >= 10 * n
            && stored(&server, "resourcequotas") >= n
            && stored(&server, "poddefaults") >= n
            && stored(&server, "limitranges") >= n;
        if done || started.elapsed() > deadline {
            break;
        }
        if started.elapsed().as_millis() % 5000 < 250 {
            eprintln!(
                "  {:>5.1} s: {} quotas, {} network policies stored",
                started.elapsed().as_secs_f64(),
                stored(&server, "resourcequotas"),
                stored(&server, "networkpolicies")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let took = started.elapsed();
    let converged = requests(&server);
    let at_converged = server.cluster().requests();
    let (rss, hwm) = rss_kib(pid);
    println!(
        "{n:>6} Profiles cold -> converged: {:>8.1} s   goal (10k) <= 60 s",
        took.as_secs_f64()
    );
    println!(
        "        API requests per Profile: {:>6.1} ({:.1} writes)",
        (converged.0 - before.0) as f64 / n as f64,
        (converged.1 - before.1) as f64 / n as f64
    );
    println!(
        "        engine RSS: {:>6.1} MB now, {:.1} MB peak   goal <= 200 MB",
        rss as f64 / 1024.0,
        hwm.max(peak) as f64 / 1024.0
    );
    let shown: Vec<String> = requests_between(&at_start, &at_converged)
        .into_iter()
        .take(12)
        .map(|(what, count)| format!("{what} {:.1}", count as f64 / n as f64))
        .collect();
    println!("          per Profile: {}", shown.join(", "));
    tokio::time::sleep(Duration::from_secs(20)).await;
    let steady = requests(&server);
    println!(
        "        steady state, 20 s later: {} writes, {} requests   goal 0 writes",
        steady.1 - converged.1,
        steady.0 - converged.0
    );
    for (what, n) in writes_between(&at_converged, &server.cluster().requests()) {
        println!("          {n} x {what}");
    }
    let _ = child.kill();
    let _ = child.wait();
    server.shutdown().await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    for n in sizes {
        run(n).await;
    }
}
