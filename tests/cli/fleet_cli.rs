//! The fleet commands and `orbdeck plan` through the real binary, against bare repos and the sim.

use crate::common;

use common::Sim;
use common::repos::{Origin, edit};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use orbdeck::repo::RetryPolicy;
use std::process::Command;

use crate::run::{orbdeck, text};

#[test]
fn add_refuses_an_unreachable_repo_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nowhere.git");
    let url = format!("file://{}", missing.display());
    let out = orbdeck(home.path(), &["orb", "add", "alpha", "--repo", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nowhere.git"), "{}", text(&out));
    assert!(!home.path().join("fleet.yaml").exists());
    assert!(!home.path().join("data/clones/alpha.git").exists());

    let out = orbdeck(home.path(), &["orb", "add", "Bad_Name", "--repo", &url]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a valid ORB name"),
        "{}",
        text(&out)
    );
}

#[test]
fn add_list_remove_and_drafts() {
    let home = tempfile::tempdir().unwrap();
    let origin = Origin::new();
    origin.seed(&[("orb.yaml", "name: alpha\n")]);
    let out = orbdeck(
        home.path(),
        &[
            "orb",
            "add",
            "alpha",
            "--repo",
            &origin.url(),
            "--context",
            "nowhere",
            "--write",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("added ORB alpha"), "{}", text(&out));
    let config = std::fs::read_to_string(home.path().join("fleet.yaml")).unwrap();
    assert!(
        config.contains("name: alpha") && config.contains("write: true"),
        "{config}"
    );

    let out = orbdeck(
        home.path(),
        &["orb", "add", "alpha", "--repo", &origin.url()],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("already"), "{}", text(&out));

    let out = orbdeck(home.path(), &["orb", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&out);
    assert!(
        listing.contains("alpha") && listing.contains("reachable at"),
        "{listing}"
    );
    assert!(
        listing.contains("unreachable"),
        "the cluster context does not exist: {listing}"
    );

    let drafts = orbdeck::repo::Drafts::new(home.path().join("data/drafts"));
    drafts
        .save(&orbdeck::repo::Draft::new(
            "alpha",
            "desired/x.yaml",
            None,
            None,
            Some("a: 1\n".into()),
        ))
        .unwrap();
    let out = orbdeck(home.path(), &["orb", "drafts"]);
    assert!(
        text(&out).contains("desired/x.yaml\tnew\t"),
        "a draft of a file not in the repo is new: {}",
        text(&out)
    );
    let out = orbdeck(
        home.path(),
        &["orb", "drafts", "discard", "alpha", "desired/x.yaml"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(drafts.load("alpha", "desired/x.yaml").is_none());
    let out = orbdeck(
        home.path(),
        &["orb", "drafts", "discard", "alpha", "desired/x.yaml"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing to discard: {}",
        text(&out)
    );
    drafts
        .save(&orbdeck::repo::Draft::new(
            "alpha",
            "desired/x.yaml",
            None,
            None,
            Some("a: 1\n".into()),
        ))
        .unwrap();

    let out = orbdeck(home.path(), &["orb", "remove", "alpha"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("draft(s) are kept"), "{}", text(&out));
    assert!(!home.path().join("data/clones/alpha.git").exists());
    let out = orbdeck(home.path(), &["orb", "remove", "alpha"]);
    assert!(!out.status.success());
}

fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team-a\ndata:\n  k: \"{value}\"\n"
    )
}

/// Applies `yaml` as the engine does: server-side apply by `orbdeck` with the ORB label.
async fn engine_apply(client: &kube::Client, yaml: &str) {
    let value: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    let value = orbdeck::wellknown::labelled(&value, "alpha");
    let obj: DynamicObject = serde_json::from_value(value).unwrap();
    let (api_version, kind) = (
        obj.types.clone().unwrap().api_version,
        obj.types.clone().unwrap().kind,
    );
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &kind));
    let api: Api<DynamicObject> = match &obj.metadata.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let name = obj.metadata.name.clone().unwrap();
    api.patch(
        &name,
        &PatchParams::apply("orbdeck").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_exactly_the_scripted_change() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n";
    let files = [
        ("desired/ns.yaml", ns.to_string()),
        ("desired/a1.yaml", configmap("a1", "1")),
        ("desired/a2.yaml", configmap("a2", "1")),
        ("desired/a3.yaml", configmap("a3", "1")),
    ];
    for (_, yaml) in &files {
        engine_apply(&client, yaml).await;
    }
    // Not the ORB's: never a delete.
    let foreign =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\n  namespace: team-a\n";
    let v: serde_json::Value = serde_saphyr::from_str(foreign).unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "team-a",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    api.patch("foreign", &PatchParams::apply("someone"), &Patch::Apply(&v))
        .await
        .unwrap();

    let origin = Origin::new();
    let seeded: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let base = origin.seed(&seeded);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = sim.kubeconfig.display().to_string();
    let h = home.path().to_path_buf();
    let url = origin.url();
    let run = move |args: Vec<String>| {
        let h = h.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                orbdeck(&h, &args)
            })
            .await
            .unwrap()
        }
    };
    let out = run(vec![
        "orb".into(),
        "add".into(),
        "alpha".into(),
        "--repo".into(),
        url.clone(),
        "--kubeconfig".into(),
        kubeconfig,
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cluster: reachable"), "{}", text(&out));

    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan".to_string(),
            "alpha".into(),
            "--color".into(),
            "never".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        run(args)
    };
    let out = plan(&[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("plan: 0 to create, 0 to update, 0 to delete, 4 unchanged"),
        "{}",
        text(&out)
    );

    // The scripted change: a1 changes, a2 goes, a4 arrives.
    let writer = tempfile::tempdir().unwrap();
    let repo =
        orbdeck::repo::OrbRepo::open(writer.path(), &url, "main", Default::default()).unwrap();
    let mut change = edit(Some(base), "desired/a1.yaml", &configmap("a1", "2"));
    change.changes.push(orbdeck::repo::Change {
        path: "desired/a2.yaml".into(),
        content: None,
    });
    change.changes.push(orbdeck::repo::Change {
        path: "desired/a4.yaml".into(),
        content: Some(configmap("a4", "1").into_bytes()),
    });
    tokio::task::spawn_blocking(move || {
        orbdeck::repo::write::write(&repo, &change, &RetryPolicy::default())
            .unwrap()
            .commit
    })
    .await
    .unwrap();

    let out = plan(&[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    let heads: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.starts_with("create ") || l.starts_with("update ") || l.starts_with("delete ")
        })
        .collect();
    assert_eq!(
        heads,
        vec![
            "create v1 ConfigMap/a4 (team-a)",
            "update v1 ConfigMap/a1 (team-a)",
            "delete v1 ConfigMap/a2 (team-a)",
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("-  k: '1'") || stdout.contains("-  k: \"1\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+  k: '2'") || stdout.contains("+  k: \"2\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("managedFields")
            && !stdout.contains("resourceVersion")
            && !stdout.contains("uid:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("plan: 1 to create, 1 to update, 1 to delete, 2 unchanged"),
        "{stdout}"
    );
    assert!(!stdout.contains("foreign"), "{stdout}");
    // Nothing was applied by planning.
    assert!(api.get_opt("a4").await.unwrap().is_none());

    // An invalid draft stops the plan with file:line.
    let drafts = orbdeck::repo::Drafts::new(home.path().join("data/drafts"));
    drafts
        .save(&orbdeck::repo::Draft::new(
            "alpha",
            "desired/bad.yaml",
            None,
            None,
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  nam: x\n".into()),
        ))
        .unwrap();
    let out = plan(&[]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("desired/bad.yaml:"), "{}", text(&out));
}

#[test]
fn validate_reports_every_error_with_file_line_and_field() {
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    std::fs::create_dir_all(d.join("desired/profiles")).unwrap();
    std::fs::write(
        d.join("orb.yaml"),
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  intervl: 5s\n",
    )
    .unwrap();
    std::fs::write(
        d.join("desired/profiles/alice.yaml"),
        "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: Robot\n    name: alice@example.com\n  resourceQuotaSpec:\n    hard:\n      requests.cpu: 12 cores\n",
    )
    .unwrap();
    std::fs::write(
        d.join("desired/widget.yaml"),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = orbdeck(home.path(), &["validate", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "desired/profiles/alice.yaml:7:11: spec.owner.kind: expected one of User, Group"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("desired/profiles/alice.yaml:11:21: spec.resourceQuotaSpec.hard[\"requests.cpu\"]: invalid quantity \"12 cores\""), "{stdout}");
    assert!(
        stdout.contains("orb.yaml:5:3:") && stdout.contains("intervl"),
        "{stdout}"
    );
    assert!(
        stdout.contains("desired/widget.yaml:2:7: warning: unknown kind example.com/v1 Widget"),
        "{stdout}"
    );

    std::fs::write(d.join("desired/profiles/alice.yaml"), "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n").unwrap();
    std::fs::write(
        d.join("orb.yaml"),
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\n",
    )
    .unwrap();
    let out = orbdeck(home.path(), &["validate", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A key typed without its `: ` on line 5: `orbdeck validate` names line 5 (not line 6, where the
/// parser fails) and prints no empty field path, as the editor does for the same text.
#[test]
fn validate_reports_a_syntax_error_on_the_line_to_fix_without_an_empty_path() {
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    std::fs::create_dir_all(d.join("desired/profiles")).unwrap();
    std::fs::write(
        d.join("desired/profiles/alice.yaml"),
        "apiVersion: kubeflow.org/v1\nkind: Profile\n# alice\nmetadata:\n  name alice\n  labels: {}\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = orbdeck(home.path(), &["validate", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "desired/profiles/alice.yaml:5:3: syntax error: mapping values are not allowed in this context (the text runs on into line 6"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains(": : "),
        "an empty path is not printed: {stdout}"
    );
}

#[test]
fn ten_orbdeck_pushes_and_ten_git_pushes_on_one_file_lose_nothing() {
    let origin = Origin::new();
    // Keys o0..o9 are changed through `orbdeck orb push`, g0..g9 by git CLI users.
    let keys: Vec<String> = (0..10)
        .flat_map(|i| [format!("o{i}"), format!("g{i}")])
        .collect();
    let data: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|k| (k.clone(), serde_json::json!("before")))
        .collect();
    let doc = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shared", "namespace": "team-a"},
        "data": data,
    });
    let file = serde_saphyr::to_string(&doc).unwrap();
    let path = "desired/shared.yaml";
    let seed = origin.seed(&[(path, file.as_str())]);
    let status = Command::new("git")
        .arg(format!("--git-dir={}", origin.path().display()))
        .args(["config", "core.logAllRefUpdates", "always"])
        .status()
        .unwrap();
    assert!(status.success());

    let mut handles = Vec::new();
    for i in 0..10 {
        let (url, file) = (origin.url(), file.clone());
        handles.push(std::thread::spawn(move || {
            // Each orbdeck user has a machine of their own: fleet file, clone and drafts.
            let home = tempfile::tempdir().unwrap();
            std::fs::write(
                home.path().join("fleet.yaml"),
                format!("orbs:\n- name: alpha\n  repo: {url}\n  write: true\n"),
            )
            .unwrap();
            let drafts = orbdeck::repo::Drafts::new(home.path().join("data/drafts"));
            let key = format!("o{i}");
            drafts
                .save(&orbdeck::repo::Draft::new(
                    "alpha",
                    path,
                    Some(seed),
                    Some(file.clone()),
                    Some(file.replace(&format!("  {key}: before"), &format!("  {key}: after"))),
                ))
                .unwrap();
            // A push that ran out of retries keeps the draft; the user pushes again.
            for _ in 0..5 {
                let out = orbdeck(home.path(), &["orb", "push", "alpha", path, "-m", &key]);
                if out.status.success() {
                    assert!(text(&out).contains("pushed"), "{}", text(&out));
                    let commit = text(&out)
                        .split_whitespace()
                        .nth(1)
                        .unwrap()
                        .trim_end_matches(';')
                        .to_owned();
                    return commit;
                }
                assert!(
                    drafts.load("alpha", path).is_some(),
                    "a failed push keeps the draft: {}",
                    text(&out)
                );
            }
            panic!("orbdeck user {key} never got its push in");
        }));
    }
    for i in 0..10 {
        let url = origin.url();
        handles.push(std::thread::spawn(move || {
            let key = format!("g{i}");
            common::repos::git_user_push(&url, &format!("Git User {i}"), |work| {
                common::repos::replace_in(
                    &work.join(path),
                    &format!("  {key}: before"),
                    &format!("  {key}: after"),
                )
            })
        }));
    }
    let pushed: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg(format!("--git-dir={}", origin.path().display()))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let last = git(&["show", &format!("main:{path}")]);
    let value: serde_json::Value = serde_saphyr::from_str(&last).unwrap();
    for key in &keys {
        assert_eq!(value["data"][key], "after", "{key} lost:\n{last}");
    }
    // Every pushed commit is in the history, and the branch only ever moved forward.
    for commit in &pushed {
        let ok = Command::new("git")
            .arg(format!("--git-dir={}", origin.path().display()))
            .args(["merge-base", "--is-ancestor", commit, "main"])
            .status()
            .unwrap();
        assert!(ok.success(), "{commit} is not in main's history");
    }
    let reflog = git(&["reflog", "show", "--format=%H", "refs/heads/main"]);
    let moves: Vec<&str> = reflog.lines().collect();
    assert!(moves.len() >= 20, "{} ref updates", moves.len());
    for pair in moves.windows(2) {
        let ok = Command::new("git")
            .arg(format!("--git-dir={}", origin.path().display()))
            .args(["merge-base", "--is-ancestor", pair[1], pair[0]])
            .status()
            .unwrap();
        assert!(ok.success(), "forced update {} -> {}", pair[1], pair[0]);
    }
}

/// (apiVersion, kind, name, namespace, labels/annotations block, expected message fragment)
type NameCase = (
    &'static str,
    &'static str,
    String,
    Option<&'static str>,
    &'static str,
    &'static str,
);

/// Hostile and invalid names through `orbdeck validate`: each case is reported at the line and
/// column of the offending name, label or annotation, naming the rule it breaks.
#[test]
fn validate_names_every_bad_name_with_its_rule_and_position() {
    let long_label = "a".repeat(64);
    let long_subdomain = "a".repeat(254);
    let cases: Vec<NameCase> = vec![
        (
            "kubeflow.org/v1",
            "Profile",
            "BadName_With_Caps".into(),
            None,
            "",
            "is not a DNS-1123 label (Profile names must be)",
        ),
        (
            "v1",
            "Namespace",
            "UPPER".into(),
            None,
            "",
            "only lowercase letters, digits and - are allowed",
        ),
        (
            "v1",
            "Namespace",
            long_label.clone(),
            None,
            "",
            "at most 63 characters",
        ),
        (
            "v1",
            "Namespace",
            "-lead".into(),
            None,
            "",
            "must start and end with a letter or digit",
        ),
        (
            "v1",
            "Service",
            "a.b".into(),
            Some("team-a"),
            "",
            "is not a DNS-1123 label (Service names must be)",
        ),
        (
            "v1",
            "ConfigMap",
            "ünïcode".into(),
            Some("team-a"),
            "",
            "is not a DNS-1123 subdomain",
        ),
        (
            "v1",
            "ConfigMap",
            "a..b".into(),
            Some("team-a"),
            "",
            "each dot-separated part",
        ),
        (
            "v1",
            "ConfigMap",
            long_subdomain,
            Some("team-a"),
            "",
            "at most 253 characters",
        ),
        (
            "v1",
            "ConfigMap",
            ".lead".into(),
            Some("team-a"),
            "",
            "each dot-separated part",
        ),
        (
            "v1",
            "ConfigMap",
            "trail-".into(),
            Some("team-a"),
            "",
            "each dot-separated part",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "Role",
            "a/b".into(),
            Some("team-a"),
            "",
            "is not a path segment (Role names must be): may not contain '/' or '%'",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "..".into(),
            None,
            "",
            "may not be '.' or '..'",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "50%".into(),
            Some("team-a"),
            "",
            "may not contain '/' or '%'",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-1".into(),
            Some("Team_A"),
            "",
            "\"Team_A\" is not a DNS-1123 label",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-2".into(),
            Some("team-a"),
            "  labels:\n    -bad: x\n",
            "label key \"-bad\": the name part: must start and end",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-3".into(),
            Some("team-a"),
            "  labels:\n    Bad_Prefix.com/x: y\n",
            "the prefix \"Bad_Prefix.com\" is not a DNS-1123 subdomain",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-4".into(),
            Some("team-a"),
            "  labels:\n    tier: LONGVALUE\n",
            "label value",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-5".into(),
            Some("team-a"),
            "  labels:\n    tier: -x\n",
            "label value \"-x\": must start and end",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-6".into(),
            Some("team-a"),
            "  annotations:\n    a/b/c: x\n",
            "annotation key \"a/b/c\"",
        ),
        (
            "v1",
            "ConfigMap",
            "ok-7".into(),
            Some("team-a"),
            "  labels:\n    \"\": x\n",
            "label key \"\": the name part is empty",
        ),
    ];
    assert_eq!(cases.len(), 20);
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("desired")).unwrap();
    std::fs::write(
        d.path().join("orb.yaml"),
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\n",
    )
    .unwrap();
    let mut text_out = String::new();
    // (line, column, fragment) expected per case.
    let mut expected = Vec::new();
    for (api_version, kind, name, namespace, extra, fragment) in &cases {
        let extra = extra.replace("LONGVALUE", &long_label);
        if !text_out.is_empty() {
            text_out.push_str("---\n");
        }
        let start = text_out.lines().count();
        text_out.push_str(&format!(
            "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: \"{name}\"\n"
        ));
        let mut at = (start + 4, 9);
        if let Some(ns) = namespace {
            text_out.push_str(&format!("  namespace: \"{ns}\"\n"));
            if ns.contains('_') {
                at = (start + 5, 14);
            }
        }
        if !extra.is_empty() {
            let first = text_out.lines().count() + 2;
            text_out.push_str(&extra);
            at = if fragment.starts_with("label value") {
                (first, 11)
            } else {
                (first, 5)
            };
        }
        expected.push((at, *fragment));
    }
    std::fs::write(d.path().join("desired/names.yaml"), &text_out).unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = orbdeck(home.path(), &["validate", d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for ((line, column), fragment) in expected {
        let at = format!("desired/names.yaml:{line}:{column}: ");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(fragment)),
            "no {fragment:?} at {at} in:\n{stdout}"
        );
    }
}

/// `orbdeck orb list` as a user sees it with an unreachable cluster and a long ORB name: a table
/// whose columns line up with its header, the cluster's error in its cell, and no log line or
/// escape sequence around it.
#[test]
fn list_is_an_aligned_table_without_log_lines_or_escapes() {
    let home = tempfile::tempdir().unwrap();
    let origin = Origin::new();
    origin.seed(&[("orb.yaml", "name: alpha\n")]);
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: dead\n  context: {cluster: dead, user: u}\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: dead\n",
    )
    .unwrap();
    let name = "a-rather-long-orb-name-for-a-column";
    let add = orbdeck(
        home.path(),
        &[
            "orb",
            "add",
            name,
            "--repo",
            &origin.url(),
            "--context",
            "dead",
        ],
    );
    assert!(add.status.success(), "{}", text(&add));
    let out = Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .env("ORBDECK_CONFIG", home.path().join("fleet.yaml"))
        .env("ORBDECK_DATA", home.path().join("data"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("ORBDECK_LOG")
        .env_remove("NO_COLOR")
        .args(["orb", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains('\u{1b}'), "no escape sequence: {all:?}");
    assert!(
        !all.contains("ERROR") && !all.contains("WARN"),
        "no log line: {all}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let (header, row) = (lines[0], lines[1]);
    assert!(row.starts_with(name), "{stdout}");
    for (column, cell) in [("CLUSTER", "unreachable: "), ("LAST SYNC", "never")] {
        let at = header.find(column).unwrap();
        assert_eq!(
            row.get(at..at + cell.len()),
            Some(cell),
            "{column} lines up:\n{stdout}"
        );
    }
}

#[test]
fn the_demo_desired_state_validates_except_beta_s_refused_policy() {
    let home = tempfile::tempdir().unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    for orb in ["orb-alpha", "orb-gamma", "orb-delta"] {
        let out = orbdeck(home.path(), &["validate", demo.join(orb).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{orb}: {}", text(&out));
    }
    let out = orbdeck(
        home.path(),
        &["validate", demo.join("orb-beta").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "desired/replication/policy.yaml:8:16: spec.maxAttempts: expected integer, got string"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn without_a_fleet_file_the_kubeconfig_contexts_are_checked_before_the_ui_opens() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: east\n  context: {cluster: c, user: u}\n- name: west\n  context: {cluster: c, user: u}\ncurrent-context: east\n",
    )
    .unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let run = |args: &[&str], kc: &str| {
        crate::run::orbdeck_with(home.path(), args, "", &[("KUBECONFIG", kc)])
    };
    let out = run(&["--context", "north"], kc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--context north: not in the kubeconfig (its contexts: east, west)"),
        "{}",
        text(&out)
    );
    let missing = home.path().join("none.kubeconfig");
    let out = run(&[], missing.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no kubeconfig context to open")
            && text(&out).contains("orbdeck orb add NAME --repo URL --context CTX"),
        "{}",
        text(&out)
    );
    // A fleet file decides what opens; --context is refused, and its live-only entry lists as such.
    std::fs::write(
        home.path().join("fleet.yaml"),
        "orbs:\n- name: east\n  context: east\n",
    )
    .unwrap();
    let out = run(&["--context", "west"], kc);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--context picks kubeconfig contexts when there is no fleet file"),
        "{}",
        text(&out)
    );
    let out = run(&["orb", "list"], kc);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("none (live only)"), "{}", text(&out));
}
