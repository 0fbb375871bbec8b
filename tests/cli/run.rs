//! The orbdeck binary as the CLI tests run it: config and data under a home of the test's own.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs orbdeck with its config and data under `home`, `stdin` as its input and `env` added.
pub fn orbdeck_with(home: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .env("ORBDECK_CONFIG", home.join("fleet.yaml"))
        .env("ORBDECK_DATA", home.join("data"))
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orbdeck runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("orbdeck finishes")
}

/// Runs orbdeck with no input, logging errors only.
pub fn orbdeck(home: &Path, args: &[&str]) -> Output {
    orbdeck_with(home, args, "", &[("ORBDECK_LOG", "error")])
}

/// Its stdout and stderr, as one text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
