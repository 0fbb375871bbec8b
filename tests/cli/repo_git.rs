//! ORB repositories against real bare repos on disk (file:// and plain paths) and a real sshd:
//! clone, fetch, read, commit, push, concurrent writers, conflicts with drafts, timeouts.

use crate::common;

use common::repos::{Origin, edit, yaml_file};
use common::sshd::Sshd;
use orbdeck::repo::{Change, Draft, Drafts, OrbRepo, RemoteOptions, RepoError, RetryPolicy};
use std::time::{Duration, Instant};

#[test]
fn commit_push_fetch_and_read_without_checkout() {
    let origin = Origin::new();
    let tip = origin.seed(&[
        ("orb.yaml", "name: alpha\n"),
        ("desired/a.yaml", "kind: A\n"),
    ]);
    let (_d1, repo) = origin.clone_repo("plain path");
    assert_eq!(repo.fetch().unwrap(), Some(tip));
    assert_eq!(
        repo.file(Some(tip), "desired/a.yaml").unwrap().as_deref(),
        Some(&b"kind: A\n"[..])
    );
    assert_eq!(repo.file(Some(tip), "desired/missing.yaml").unwrap(), None);
    let files = repo.files(tip, "desired/").unwrap();
    assert_eq!(files.len(), 1);

    let pushed = orbdeck::repo::write::write(
        &repo,
        &edit(Some(tip), "desired/b.yaml", "kind: B\n"),
        &RetryPolicy::default(),
    )
    .unwrap()
    .commit;
    // A second clone over file:// sees the commit; the first clone's tree was never checked out.
    let (_d2, other) = origin.clone_repo("file url");
    assert_eq!(other.fetch().unwrap(), Some(pushed));
    assert_eq!(other.files(pushed, "desired/").unwrap().len(), 2);
    assert!(!repo.dir().join("desired").exists());
    // An edit that changes nothing makes no commit.
    let same = orbdeck::repo::write::write(
        &other,
        &edit(Some(pushed), "desired/b.yaml", "kind: B\n"),
        &RetryPolicy::default(),
    )
    .unwrap();
    assert_eq!(same.commit, pushed);
    assert!(!same.created, "a commit that changes nothing was made");
}

#[test]
fn ten_writers_and_the_engine_all_land_without_force() {
    let origin = Origin::new();
    let base = origin.seed(&[("orb.yaml", "name: alpha\n")]);
    let mut handles = Vec::new();
    for i in 0..10 {
        let url = origin.url();
        handles.push(std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let repo = OrbRepo::open(dir.path(), &url, "main", RemoteOptions::default()).unwrap();
            let path = format!("desired/team-{i}.yaml");
            orbdeck::repo::write::write(
                &repo,
                &edit(Some(base), &path, &yaml_file(i)),
                &RetryPolicy::default(),
            )
            .unwrap()
            .commit
        }));
    }
    let url = origin.url();
    handles.push(std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let repo = OrbRepo::open(dir.path(), &url, "main", RemoteOptions::default()).unwrap();
        orbdeck::repo::write::write(
            &repo,
            &edit(Some(base), "current/status.yaml", "result: Synced\n"),
            &RetryPolicy::default(),
        )
        .unwrap()
        .commit
    }));
    let commits: Vec<git2::Oid> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let (_d, repo) = origin.clone_repo("checker");
    let tip = repo.fetch().unwrap().unwrap();
    let desired = repo.files(tip, "desired/").unwrap();
    assert_eq!(desired.len(), 10, "{desired:?}");
    for (i, (path, content)) in (0..10).zip(desired.iter()) {
        assert_eq!(path, &format!("desired/team-{i}.yaml"));
        assert_eq!(String::from_utf8_lossy(content), yaml_file(i));
    }
    assert!(
        repo.file(Some(tip), "current/status.yaml")
            .unwrap()
            .is_some()
    );
    // No force push: every writer's commit is in the final history.
    for c in commits {
        assert!(repo.contains(tip, c).unwrap(), "commit {c} was lost");
    }
}

#[test]
fn same_key_conflict_is_reported_and_the_draft_survives_until_resolved() {
    let origin = Origin::new();
    let profile = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n  resourceQuotaSpec:\n    hard:\n      requests.cpu: \"8\"\n";
    let base = origin.seed(&[("desired/alice.yaml", profile)]);
    let (_d1, first) = origin.clone_repo("first");
    let (_d2, second) = origin.clone_repo("second");
    first.fetch().unwrap();
    second.fetch().unwrap();
    let theirs = profile.replace("\"8\"", "\"16\"");
    orbdeck::repo::write::write(
        &first,
        &edit(Some(base), "desired/alice.yaml", &theirs),
        &RetryPolicy::default(),
    )
    .unwrap();

    let data = tempfile::tempdir().unwrap();
    let drafts = Drafts::new(data.path());
    let mine = profile.replace("\"8\"", "\"4\"");
    let draft = Draft::new(
        "alpha",
        "desired/alice.yaml",
        Some(base),
        Some(profile.to_string()),
        Some(mine.clone()),
    );
    drafts.save(&draft).unwrap();
    let err = drafts
        .push(&second, &draft, "less cpu", &RetryPolicy::default())
        .unwrap_err();
    match &err {
        RepoError::Conflict { file, conflicts } => {
            assert_eq!(file, "desired/alice.yaml");
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(
                conflicts[0].path,
                "spec.resourceQuotaSpec.hard[\"requests.cpu\"]"
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(err.to_string().contains("requests.cpu"), "{err}");
    let kept = drafts
        .load("alpha", "desired/alice.yaml")
        .expect("the draft survives");
    assert_eq!(kept.content.as_deref(), Some(mine.as_str()));
    assert!(kept.last_error.as_deref().unwrap().contains("requests.cpu"));

    // The user resolves against the new tip (keeps 4) and pushes again.
    let tip = second.fetch().unwrap();
    let resolved = Draft {
        base: tip.map(|t| t.to_string()),
        ..kept
    };
    drafts.save(&resolved).unwrap();
    let pushed = drafts
        .push(&second, &resolved, "less cpu", &RetryPolicy::default())
        .unwrap();
    assert!(
        drafts.load("alpha", "desired/alice.yaml").is_none(),
        "removed once accepted"
    );
    let content = second
        .file(Some(pushed.commit), "desired/alice.yaml")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8(content).unwrap().contains("\"4\""));
}

#[test]
fn different_keys_in_one_file_merge_on_rebase() {
    let origin = Origin::new();
    let text =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n  b: \"1\"\n";
    let base = origin.seed(&[("desired/c.yaml", text)]);
    let (_d1, first) = origin.clone_repo("first");
    let (_d2, second) = origin.clone_repo("second");
    orbdeck::repo::write::write(
        &first,
        &edit(
            Some(base),
            "desired/c.yaml",
            &text.replace("a: \"1\"", "a: \"2\""),
        ),
        &RetryPolicy::default(),
    )
    .unwrap();
    let merged = orbdeck::repo::write::write(
        &second,
        &edit(
            Some(base),
            "desired/c.yaml",
            &text.replace("b: \"1\"", "b: \"3\""),
        ),
        &RetryPolicy::default(),
    )
    .unwrap()
    .commit;
    let out = String::from_utf8(
        second
            .file(Some(merged), "desired/c.yaml")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(v["data"], serde_json::json!({"a": "2", "b": "3"}), "{out}");
    assert!(!out.contains("<<<<<<<"));
}

#[test]
fn dead_remotes_fail_within_the_timeout_naming_the_remote() {
    let opts = RemoteOptions {
        timeout: Duration::from_secs(2),
        accept_new_host_keys: true,
        known_hosts: Some(std::env::temp_dir().join(format!("orbdeck-kh-{}", std::process::id()))),
        ..Default::default()
    };
    // Refuses connections: the discard port, which nothing here listens on (a port picked and
    // freed could be taken by a parallel test's listener meanwhile).
    let url = "ssh://git@127.0.0.1:9/orb.git".to_string();
    let dir = tempfile::tempdir().unwrap();
    let repo = OrbRepo::open(dir.path(), &url, "main", opts.clone()).unwrap();
    let started = Instant::now();
    let err = repo.fetch().unwrap_err().to_string();
    assert!(err.contains(&url), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Accepts, then never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let conn = silent.accept();
        std::thread::sleep(Duration::from_secs(8));
        drop(conn);
    });
    let url = format!("ssh://git@127.0.0.1:{port}/orb.git");
    let dir = tempfile::tempdir().unwrap();
    let repo = OrbRepo::open(dir.path(), &url, "main", opts).unwrap();
    let started = Instant::now();
    let err = repo.fetch().unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, RepoError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(took < Duration::from_secs(7), "took {took:?}");
    held.join().unwrap();
}

#[test]
fn ssh_remote_clone_push_and_host_key_checks() {
    let Some(sshd) = Sshd::start() else {
        panic!("sshd (Debian openssh-server) is required; scripts/test installs it");
    };
    let origin = Origin::new();
    let tip = origin.seed(&[("desired/a.yaml", "kind: A\n")]);
    let url = sshd.url(origin.path());
    let dir = tempfile::tempdir().unwrap();
    let repo = OrbRepo::open(dir.path(), &url, "main", sshd.options()).unwrap();
    assert_eq!(repo.fetch().unwrap(), Some(tip));
    let pushed = orbdeck::repo::write::write(
        &repo,
        &edit(Some(tip), "desired/b.yaml", "kind: B\n"),
        &RetryPolicy::default(),
    )
    .unwrap()
    .commit;
    let (_d, local) = origin.clone_repo("check");
    assert_eq!(local.fetch().unwrap(), Some(pushed));

    // A known_hosts entry with another key for this host is refused, naming the host.
    let wrong = sshd.dir.path().join("wrong_known_hosts");
    std::fs::write(
        &wrong,
        format!("{} {}\n", sshd.host_name(), common::sshd::OTHER_KEY),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = RemoteOptions {
        known_hosts: Some(wrong),
        ..sshd.options()
    };
    let repo = OrbRepo::open(dir.path(), &url, "main", opts).unwrap();
    let err = repo.fetch().unwrap_err();
    assert!(matches!(err, RepoError::HostKey { .. }), "{err}");
    assert!(err.to_string().contains(&sshd.host_name()), "{err}");

    // An unknown host is refused unless accept-new is on; then it is remembered.
    let empty = sshd.dir.path().join("empty_known_hosts");
    let opts = RemoteOptions {
        known_hosts: Some(empty.clone()),
        ..sshd.options()
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = OrbRepo::open(dir.path(), &url, "main", opts.clone()).unwrap();
    let err = repo.fetch().unwrap_err().to_string();
    assert!(err.contains("not in"), "{err}");
    let repo = OrbRepo::open(
        dir.path(),
        &url,
        "main",
        RemoteOptions {
            accept_new_host_keys: true,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(repo.fetch().unwrap(), Some(pushed));
    let repo = OrbRepo::open(dir.path(), &url, "main", opts).unwrap();
    assert_eq!(repo.fetch().unwrap(), Some(pushed));
}

#[test]
fn a_merge_keeps_the_files_comments_when_git_s_line_merge_means_the_same() {
    let origin = Origin::new();
    let text = "# Team settings, owned by ops.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c # the one\ndata:\n  a: '1' # first\n  x: y\n  z: w\n  b: '1' # second\n";
    let base = origin.seed(&[("desired/c.yaml", text)]);
    let (_d1, first) = origin.clone_repo("first");
    let (_d2, second) = origin.clone_repo("second");
    let theirs = text.replace("a: '1'", "a: '2'");
    orbdeck::repo::write::write(
        &first,
        &edit(Some(base), "desired/c.yaml", &theirs),
        &RetryPolicy::default(),
    )
    .unwrap();
    let merged = orbdeck::repo::write::write(
        &second,
        &edit(
            Some(base),
            "desired/c.yaml",
            &text.replace("b: '1'", "b: '3'"),
        ),
        &RetryPolicy::default(),
    )
    .unwrap();
    assert!(merged.created);
    let out = second
        .file(Some(merged.commit), "desired/c.yaml")
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        text.replace("a: '1'", "a: '2'").replace("b: '1'", "b: '3'"),
        "both changes, every comment and the quoting kept"
    );

    // A same-key conflict settled by the user ("keep mine") keeps the layout too.
    let tip = second.fetch().unwrap();
    let mine = Change {
        path: "desired/c.yaml".into(),
        content: Some(text.replace("a: '1'", "a: '9'").into_bytes()),
    };
    let err =
        orbdeck::repo::write::rebase_change(&second, Some(base), &mine, tip, &[]).unwrap_err();
    let RepoError::Conflict { conflicts, .. } = err else {
        panic!("expected a conflict, got {err}");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "data.a");
    let keep = orbdeck::repo::merge3::Resolution {
        doc: conflicts[0].doc.clone(),
        path: conflicts[0].path.clone(),
        take: orbdeck::repo::merge3::Side::Ours,
    };
    let settled =
        orbdeck::repo::write::rebase_change(&second, Some(base), &mine, tip, &[keep]).unwrap();
    assert_eq!(
        String::from_utf8(settled.content.unwrap()).unwrap(),
        text.replace("a: '1'", "a: '9'").replace("b: '1'", "b: '3'"),
    );
}

#[test]
fn a_push_never_replaces_a_commit_another_handle_on_the_clone_fetched_meanwhile() {
    let origin = Origin::new();
    let tip = origin.seed(&[("desired/a.yaml", "a: 1\n")]);
    let clone = tempfile::tempdir().unwrap();
    let open = || {
        OrbRepo::open(
            clone.path(),
            &origin.url(),
            "main",
            RemoteOptions::default(),
        )
        .unwrap()
    };
    let (mine, background) = (open(), open());
    assert_eq!(mine.fetch().unwrap(), Some(tip));
    let built = mine
        .commit(
            Some(tip),
            &[Change {
                path: "desired/b.yaml".into(),
                content: Some(b"b: 1\n".to_vec()),
            }],
            "mine",
        )
        .unwrap();
    // Someone else pushes; the UI's background fetch (another handle) moves the tracking ref.
    let (_d, other) = origin.clone_repo("other");
    let theirs = orbdeck::repo::write::write(
        &other,
        &edit(Some(tip), "desired/c.yaml", "c: 1\n"),
        &RetryPolicy::default(),
    )
    .unwrap()
    .commit;
    assert_eq!(background.fetch().unwrap(), Some(theirs));
    let err = mine.push(built).unwrap_err();
    assert!(matches!(err, RepoError::Rejected { .. }), "{err}");
    let (_d, check) = origin.clone_repo("check");
    assert_eq!(
        check.fetch().unwrap(),
        Some(theirs),
        "their commit stays the tip"
    );
}

#[test]
fn a_draft_edited_while_it_was_pushed_stays() {
    let origin = Origin::new();
    let tip = origin.seed(&[("desired/a.yaml", "a: 1\n")]);
    let (_d, repo) = origin.clone_repo("file url");
    let data = tempfile::tempdir().unwrap();
    let drafts = Drafts::new(data.path());
    let pushed = Draft::new(
        "alpha",
        "desired/a.yaml",
        Some(tip),
        Some("a: 1\n".into()),
        Some("a: 2\n".into()),
    );
    // The editor saved a newer text after the push had read the draft.
    let newer = Draft {
        content: Some("a: 3\n".into()),
        ..pushed.clone()
    };
    drafts.save(&newer).unwrap();
    drafts
        .push(&repo, &pushed, "a to 2", &RetryPolicy::default())
        .unwrap();
    assert_eq!(
        drafts
            .load("alpha", "desired/a.yaml")
            .unwrap()
            .content
            .as_deref(),
        Some("a: 3\n"),
        "the newer edit is kept"
    );
}
