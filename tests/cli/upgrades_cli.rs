//! `orbdeck validate` on ClusterUpgrades and NodeUsers: a bad version, window or SSH key is
//! refused with its file:line and field.

use crate::run::{orbdeck_with, text};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@example.com";

#[test]
fn validate_refuses_a_bad_version_window_or_key_at_its_line() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("orb");
    let run = |args: &[&str]| orbdeck_with(home.path(), args, "", &[("ORBDECK_LOG", "error")]);
    assert!(run(&["init", dir.to_str().unwrap()]).status.success());
    let good = format!(
        "apiVersion: orbdeck.io/v1alpha1
kind: ClusterUpgrade
metadata:
  name: to-1-32
spec:
  targetVersion: v1.32.0
  window: {{days: [Sat, Sun], start: \"02:00\", end: \"06:00\", timeZone: Europe/Paris}}
---
apiVersion: orbdeck.io/v1alpha1
kind: NodeUser
metadata:
  name: alice
spec:
  username: alice
  sshKeys:
    - {KEY}
"
    );
    std::fs::write(dir.join("desired/upgrade.yaml"), &good).unwrap();
    let out = run(&["validate", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "a good upgrade is refused: {}",
        text(&out)
    );

    let bad = good
        .replace("v1.32.0", "v1.32")
        .replace("[Sat, Sun]", "[Sat, Sunday]")
        .replace("\"06:00\"", "\"25:00\"")
        .replace("Europe/Paris", "Mars/Olympus")
        .replace(
            &format!("    - {KEY}\n"),
            &format!("    - {KEY}\n    - ssh-ed25519 not-base64\n"),
        );
    std::fs::write(dir.join("desired/upgrade.yaml"), &bad).unwrap();
    let out = run(&["validate", dir.to_str().unwrap()]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [
        "desired/upgrade.yaml:6:18: spec.targetVersion: \"v1.32\" is not a version like 1.32.0",
        "desired/upgrade.yaml:7:24: spec.window.days[1]: \"Sunday\" is not a day",
        "spec.window.end: \"25:00\" is not a time like 02:30",
        "spec.window.timeZone: \"Mars/Olympus\" is not a known time zone",
        "desired/upgrade.yaml:17:7: spec.sshKeys[1]: not an SSH public key",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(
        !said.contains("sshKeys[0]"),
        "the good key is refused:\n{said}"
    );
}

#[test]
fn agent_refuses_bad_options_before_touching_anything() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| orbdeck_with(home.path(), args, "", &[("ORBDECK_LOG", "error")]);
    let out = run(&["agent", "--node", "n1", "--authorized-keys", "/tmp/keys"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("has no {user}: every user would share one file"),
        "{}",
        text(&out)
    );
    let out = run(&["agent", "--node", "n1", "--timeout", "soon"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--timeout \"soon\""), "{}", text(&out));
    let out = run(&["agent"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no node: a usage error: {}",
        text(&out)
    );
}
