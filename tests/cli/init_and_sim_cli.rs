//! `orbdeck init DIR` and `orbdeck sim --user` through the binary, as the README shows them.

use crate::run::{orbdeck_with, text};
use std::time::{Duration, Instant};

#[test]
fn init_writes_a_skeleton_that_validates_and_keeps_what_is_there() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("alpha");
    let run = |args: &[&str]| orbdeck_with(home.path(), args, "", &[("ORBDECK_LOG", "error")]);
    let out = run(&["init", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    for file in ["orb.yaml", "desired/README.md", "README.md"] {
        assert!(dir.join(file).is_file(), "no {file}: {}", text(&out));
    }
    assert!(
        std::fs::read_to_string(dir.join("orb.yaml"))
            .unwrap()
            .contains("name: alpha")
    );
    let out = run(&["validate", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "the skeleton does not validate: {}",
        text(&out)
    );
    std::fs::write(dir.join("README.md"), "mine\n").unwrap();
    let out = run(&["init", dir.to_str().unwrap()]);
    assert!(
        text(&out).contains("README.md exists, kept"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "mine\n"
    );
    let out = run(&["init", home.path().join("Bad_Name").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a valid ORB name"),
        "{}",
        text(&out)
    );
}

#[test]
fn sim_user_flag_adds_a_user_that_rbac_governs() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("sim.kubeconfig");
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "0",
            "--user",
            "alice:s3cret:devs",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "the sim wrote no kubeconfig");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .env("KUBECONFIG", &kubeconfig)
            .arg("--cache-dir")
            .arg(home.path().join("cache"))
            .args(args)
            .output()
            .unwrap()
    };
    let whoami = kubectl(&["--token", "s3cret", "auth", "whoami"]);
    let said = String::from_utf8_lossy(&whoami.stdout);
    assert!(said.contains("alice") && said.contains("devs"), "{said}");
    let denied = kubectl(&["--token", "s3cret", "get", "pods"]);
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains(
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    assert!(kubectl(&["get", "pods"]).status.success(), "the admin may");
    let _ = sim.kill();
    let _ = sim.wait();
}
