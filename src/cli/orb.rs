//! `orbdeck orb add|list|remove|drafts|push`: the fleet config and the drafts on this machine.

use crate::fleet::config::{FleetConfig, OrbEntry, Paths, valid_orb_name};
use crate::fleet::connect::{self, ClusterHealth};
use crate::repo::{Drafts, RetryPolicy};
use crate::text::sanitize;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The `orb` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrbCommand {
    /// Add an ORB to the fleet (the repo must be reachable; nothing is written otherwise).
    Add(AddArgs),
    /// List the ORBs with the reachability of repo and cluster and the last sync.
    List,
    /// Remove an ORB from the fleet and its cached clone (drafts are kept).
    Remove {
        /// ORB name.
        name: String,
    },
    /// List unpushed drafts (new/edit/delete, base commit, last push error), or discard one.
    #[command(args_conflicts_with_subcommands = true)]
    Drafts {
        /// Only this ORB's drafts.
        orb: Option<String>,
        /// What to do with a draft.
        #[command(subcommand)]
        action: Option<DraftsCommand>,
    },
    /// Commit and push a draft; it is removed only when the remote accepted it.
    Push {
        /// ORB name.
        orb: String,
        /// File path of the draft in the repo.
        path: String,
        /// Commit message.
        #[arg(short, long)]
        message: Option<String>,
    },
}

/// `orb drafts` subcommands.
#[derive(Debug, Subcommand)]
pub enum DraftsCommand {
    /// Throw away the draft of PATH in ORB (the repo is not touched).
    Discard {
        /// ORB name.
        orb: String,
        /// File path of the draft in the repo.
        path: String,
    },
}

/// Options of `orb add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// ORB name (lowercase letters, digits and `-`).
    pub name: String,
    /// Repo URL: a path, file://, or ssh://.
    #[arg(long)]
    pub repo: String,
    /// Branch holding the ORB's state.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// kubeconfig context of the cluster.
    #[arg(long, conflicts_with = "kubeconfig")]
    pub context: Option<String>,
    /// kubeconfig file of the cluster.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Let the control room commit to this ORB.
    #[arg(long)]
    pub write: bool,
    /// ssh private key for this repo.
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// A label for rollout selectors, e.g. `env=prod` or `canary=true` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
}

/// Runs an `orb` subcommand.
pub async fn run(cmd: OrbCommand, paths: Paths) -> Result<(), String> {
    let mut config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    match cmd {
        OrbCommand::Add(args) => add(&mut config, &paths, args).await,
        OrbCommand::List => list(&config, &paths).await,
        OrbCommand::Remove { name } => remove(&mut config, &paths, &name),
        OrbCommand::Drafts {
            action: Some(DraftsCommand::Discard { orb, path }),
            ..
        } => {
            let drafts = Drafts::new(paths.drafts_dir());
            if drafts.load(&orb, &path).is_none() {
                return Err(format!("no draft of {path} for ORB {orb}"));
            }
            drafts.remove(&orb, &path).map_err(|e| e.to_string())?;
            println!("discarded the draft of {}", sanitize(&path));
            Ok(())
        }
        OrbCommand::Drafts { orb, action: None } => {
            let drafts = Drafts::new(paths.drafts_dir()).list(orb.as_deref());
            if drafts.is_empty() {
                println!("no drafts");
            }
            for d in drafts {
                let error = d
                    .last_error
                    .as_deref()
                    .map(|e| format!("  (last push failed: {})", sanitize(e).replace('\n', " · ")))
                    .unwrap_or_default();
                let base = d.base.as_deref().map_or("-", |b| &b[..b.len().min(8)]);
                println!(
                    "{}\t{}\t{}\tbase {base}\t{}{error}",
                    sanitize(&d.orb),
                    sanitize(&d.path),
                    d.kind().as_str(),
                    d.updated
                );
            }
            Ok(())
        }
        OrbCommand::Push { orb, path, message } => {
            let entry = config
                .orb(&orb)
                .ok_or_else(|| format!("no ORB named {orb:?} in {}", paths.config.display()))?
                .clone();
            let drafts = Drafts::new(paths.drafts_dir());
            let draft = drafts
                .load(&orb, &path)
                .ok_or_else(|| format!("no draft of {path} for ORB {orb}"))?;
            let message = message.unwrap_or_else(|| format!("orbdeck: edit {path}"));
            let written = tokio::task::spawn_blocking(move || {
                let repo =
                    connect::open_repo(&config, &paths, &entry).map_err(|e| e.to_string())?;
                drafts
                    .push(&repo, &draft, &message, &RetryPolicy::default())
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())??;
            if written.created {
                println!("pushed {}; draft removed", written.commit);
            } else {
                println!(
                    "nothing to commit: {} already equals {path} in the draft; draft removed",
                    written.commit
                );
            }
            Ok(())
        }
    }
}

async fn add(config: &mut FleetConfig, paths: &Paths, args: AddArgs) -> Result<(), String> {
    if !valid_orb_name(&args.name) {
        return Err(format!(
            "{:?} is not a valid ORB name (lowercase letters, digits and '-', at most 63)",
            args.name
        ));
    }
    if config.orb(&args.name).is_some() {
        return Err(format!(
            "ORB {} is already in {}",
            args.name,
            paths.config.display()
        ));
    }
    let mut labels = std::collections::BTreeMap::new();
    for label in &args.labels {
        let Some((key, value)) = label.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(format!(
                "--label {label:?}: expected KEY=VALUE, e.g. env=prod"
            ));
        };
        labels.insert(key.trim().to_string(), value.trim().to_string());
    }
    let entry = OrbEntry {
        name: args.name,
        repo: Some(args.repo),
        branch: args.branch,
        context: args.context,
        kubeconfig: args.kubeconfig,
        write: args.write,
        ssh_key: args.ssh_key,
        labels,
    };
    // Fetch into the cache first: an unreachable repo leaves neither config nor clone behind.
    let clone_dir = paths.clone_dir(&entry.name);
    let existed = clone_dir.exists();
    let probe = {
        let (config, paths, entry) = (config.clone(), paths.clone(), entry.clone());
        tokio::task::spawn_blocking(move || {
            let repo = connect::open_repo(&config, &paths, &entry)?;
            repo.fetch()
        })
        .await
        .map_err(|e| e.to_string())?
    };
    let tip = match probe {
        Ok(tip) => tip,
        Err(e) => {
            if !existed {
                let _ = std::fs::remove_dir_all(&clone_dir);
            }
            return Err(format!("cannot add ORB {}: {e}", entry.name));
        }
    };
    let cluster = connect::probe_cluster(&entry, Duration::from_secs(5)).await;
    config.orbs.push(entry.clone());
    config.save(&paths.config).map_err(|e| e.to_string())?;
    let tip = tip.map_or("empty repo".to_string(), |t| {
        format!("at {:.8}", t.to_string())
    });
    println!(
        "added ORB {} (repo {}, {tip}); cluster: {}",
        entry.name,
        sanitize(entry.repo.as_deref().unwrap_or_default()),
        describe(&cluster)
    );
    Ok(())
}

fn describe(health: &ClusterHealth) -> String {
    match health {
        ClusterHealth::Reachable(v) => format!("reachable ({})", sanitize(v)),
        ClusterHealth::AuthError(e) => format!("auth error: {}", sanitize(e)),
        ClusterHealth::Unreachable(e) => format!("unreachable: {}", sanitize(e)),
    }
}

async fn list(config: &FleetConfig, paths: &Paths) -> Result<(), String> {
    if config.orbs.is_empty() {
        println!(
            "no ORBs in {}; add one with `orbdeck orb add`",
            paths.config.display()
        );
        return Ok(());
    }
    let probes = config.orbs.iter().map(|orb| async move {
        let timeout = Duration::from_secs(config.remote.timeout_seconds.clamp(1, 10));
        let cluster = connect::probe_cluster(orb, timeout);
        let repo = {
            let (config, paths, orb) = (config.clone(), paths.clone(), orb.clone());
            tokio::task::spawn_blocking(move || repo_state(&config, &paths, &orb))
        };
        let (cluster, repo) = tokio::join!(cluster, repo);
        (orb, cluster, repo.unwrap_or_else(|e| Err(e.to_string())))
    });
    let mut rows = vec![["ORB", "MODE", "REPO", "CLUSTER", "LAST SYNC"].map(String::from)];
    for (orb, cluster, repo) in futures::future::join_all(probes).await {
        let mode = if orb.write { "write" } else { "read-only" };
        let repo = match repo {
            Ok(state) => state,
            Err(e) => format!("unreachable: {}\t-", sanitize(&e)),
        };
        let (repo_col, sync) = repo.split_once('\t').unwrap_or((&repo, "-"));
        rows.push([
            sanitize(&orb.name).into_owned(),
            mode.to_string(),
            repo_col.to_string(),
            describe(&cluster),
            sync.to_string(),
        ]);
    }
    print!("{}", crate::text::table(&rows));
    Ok(())
}

/// "reachable at COMMIT\tLAST SYNC" for one ORB's repo ("none (live only)" without one), or the error.
fn repo_state(config: &FleetConfig, paths: &Paths, orb: &OrbEntry) -> Result<String, String> {
    if orb.repo.is_none() {
        return Ok("none (live only)\t-".into());
    }
    let repo = connect::open_repo(config, paths, orb).map_err(|e| e.to_string())?;
    let tip = repo.fetch().map_err(|e| e.to_string())?;
    let Some(tip) = tip else {
        return Ok("reachable (empty)\t-".into());
    };
    let sync = crate::repo::status::last_sync(&repo, tip)
        .map(|s| sanitize(&s).into_owned())
        .unwrap_or_else(|| "never".into());
    Ok(format!("reachable at {:.8}\t{sync}", tip.to_string()))
}

fn remove(config: &mut FleetConfig, paths: &Paths, name: &str) -> Result<(), String> {
    let before = config.orbs.len();
    config.orbs.retain(|o| o.name != name);
    if config.orbs.len() == before {
        return Err(format!(
            "no ORB named {name:?} in {}",
            paths.config.display()
        ));
    }
    config.save(&paths.config).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(paths.clone_dir(name));
    let drafts = Drafts::new(paths.drafts_dir()).list(Some(name)).len();
    if drafts > 0 {
        println!(
            "removed ORB {name}; its {drafts} draft(s) are kept (see `orbdeck orb drafts {name}`)"
        );
    } else {
        println!("removed ORB {name}");
    }
    Ok(())
}
