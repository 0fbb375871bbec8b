//! How the agent upgrades its node: a command (argv, never a shell string) run with a timeout,
//! the tails of its output kept; or, for the demo and tests, the simulated node's kubelet
//! version changed through the API after a delay.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of output kept from each stream.
pub const TAIL: usize = 4096;
/// The placeholder for the target version in the command's arguments.
pub const VERSION_PLACEHOLDER: &str = "{version}";

/// How the node is upgraded.
#[derive(Clone, Debug)]
pub enum Executor {
    /// Run `argv` (`{version}` replaced by the target version) within `timeout`.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// How long it may run before it is killed.
        timeout: Duration,
    },
    /// Set the simulated node's kubelet version after `delay`.
    Sim {
        /// How long the "upgrade" takes.
        delay: Duration,
    },
}

/// How a run ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// It succeeded.
    pub ok: bool,
    /// What happened, e.g. `exit code 3`.
    pub message: String,
    /// The exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The last [`TAIL`] bytes of standard output, sanitised.
    pub stdout_tail: String,
    /// The last [`TAIL`] bytes of standard error, sanitised.
    pub stderr_tail: String,
}

impl Executor {
    /// Upgrades `node` to `version`.
    pub async fn run(&self, client: &kube::Client, node: &str, version: &str) -> Outcome {
        match self {
            Executor::Command { argv, timeout } => command(argv, version, *timeout).await,
            Executor::Sim { delay } => sim(client, node, version, *delay).await,
        }
    }
}

async fn sim(client: &kube::Client, node: &str, version: &str, delay: Duration) -> Outcome {
    tokio::time::sleep(delay).await;
    let v = format!("v{}", version.trim_start_matches('v'));
    let nodes: Api<Node> = Api::all(client.clone());
    let patch = json!({"status": {"nodeInfo": {"kubeletVersion": v, "kubeProxyVersion": v}}});
    match nodes
        .patch_status(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Outcome {
            ok: true,
            message: format!("simulated: kubelet set to {v}"),
            ..Default::default()
        },
        Err(e) => Outcome {
            message: format!("simulated upgrade: patching the node's status: {e}"),
            ..Default::default()
        },
    }
}

async fn command(argv: &[String], version: &str, timeout: Duration) -> Outcome {
    let args: Vec<String> = argv
        .iter()
        .map(|a| a.replace(VERSION_PLACEHOLDER, version))
        .collect();
    let Some((program, rest)) = args.split_first() else {
        return Outcome {
            message: "no upgrade command configured".into(),
            ..Default::default()
        };
    };
    let spawned = tokio::process::Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                message: format!("starting {program}: {e}"),
                ..Default::default()
            };
        }
    };
    let out = tokio::spawn(tail(child.stdout.take()));
    let err = tokio::spawn(tail(child.stderr.take()));
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    let (message, ok, exit_code) = match waited {
        Ok(Ok(status)) if status.success() => ("exit code 0".to_owned(), true, Some(0)),
        Ok(Ok(status)) => match status.code() {
            Some(c) => (format!("{program} failed: exit code {c}"), false, Some(c)),
            None => (format!("{program} was killed by a signal"), false, None),
        },
        Ok(Err(e)) => (format!("waiting for {program}: {e}"), false, None),
        Err(_) => {
            let _ = child.kill().await;
            (
                format!("{program} timed out after {timeout:?} and was killed"),
                false,
                None,
            )
        }
    };
    // A killed command's children may keep the pipes open: its tails are what came so far.
    let grace = Duration::from_secs(1);
    let stdout_tail = tokio::time::timeout(grace, out)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stderr_tail = tokio::time::timeout(grace, err)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Outcome {
        ok,
        message,
        exit_code,
        stdout_tail,
        stderr_tail,
    }
}

/// The last [`TAIL`] bytes of a stream, sanitised line by line.
async fn tail<R: AsyncRead + Unpin>(stream: Option<R>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(buf.get(..n).unwrap_or_default());
                if kept.len() > TAIL {
                    kept.drain(..kept.len() - TAIL);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&kept);
    text.split('\n')
        .map(|l| crate::text::sanitize(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Executor {
        Executor::Command {
            argv: vec![
                "sh".into(),
                "-c".into(),
                script.into(),
                "sh".into(),
                "{version}".into(),
            ],
            timeout,
        }
    }

    #[tokio::test]
    async fn a_command_gets_the_version_and_its_tails_are_kept_sanitised() {
        let client =
            kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap()))
                .unwrap();
        let ok = sh(
            "echo upgrading to $1; printf 'warn\\033[31m red\\n' >&2",
            Duration::from_secs(10),
        );
        let o = ok.run(&client, "n", "1.32.0").await;
        assert!(o.ok, "{o:?}");
        assert_eq!(o.stdout_tail, "upgrading to 1.32.0\n");
        assert_eq!(o.stderr_tail, "warn red\n");
        let big = sh(
            "head -c 100000 /dev/zero | tr '\\0' x >&2; echo; echo the end >&2; exit 3",
            Duration::from_secs(10),
        );
        let o = big.run(&client, "n", "1.32.0").await;
        assert!(!o.ok && o.exit_code == Some(3), "{o:?}");
        assert!(
            o.stderr_tail.len() <= TAIL && o.stderr_tail.ends_with("the end\n"),
            "{}",
            o.stderr_tail.len()
        );
        let slow = sh("echo started; sleep 30", Duration::from_millis(300));
        let started = std::time::Instant::now();
        let o = slow.run(&client, "n", "1.32.0").await;
        assert!(
            !o.ok && o.message.contains("timed out after 300ms"),
            "{o:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
