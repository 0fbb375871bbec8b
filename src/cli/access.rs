//! `orbdeck access ORB [--who SUBJECT] [--can VERB RESOURCE]`: who can do what, where, in an
//! ORB's cluster, from its live RBAC objects, or from its desired/ alone when the cluster cannot
//! be reached (or `--desired`).

use crate::access::{self, Grant, Objects, Policy, Request, Subject};
use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::repo::DESIRED;
use crate::text::sanitize;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `orbdeck access`.
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// ORB name from the fleet config.
    pub orb: String,
    /// Only what this subject can do: `User:NAME` (or a bare name), `Group:NAME`,
    /// `ServiceAccount:NAMESPACE:NAME` or `system:serviceaccount:NAMESPACE:NAME`.
    #[arg(long, value_name = "SUBJECT")]
    pub who: Option<String>,
    /// A group the `--who` user is in (repeatable), as the authenticator would add it.
    #[arg(long = "group", value_name = "GROUP", requires = "who")]
    pub groups: Vec<String>,
    /// Only who can do this: a verb and a resource as kubectl takes them (`get pods`,
    /// `create deployments.apps`, `get pods/log`).
    #[arg(long, num_args = 2, value_names = ["VERB", "RESOURCE"])]
    pub can: Option<Vec<String>>,
    /// The namespace the question is about (without it: cluster-scoped or across every
    /// namespace, which only cluster-wide bindings grant).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// With `--can`, the name of the object asked about (for rules limited by resourceNames).
    #[arg(long, requires = "can")]
    pub name: Option<String>,
    /// Do not ask the cluster: resolve the bindings in desired/ alone.
    #[arg(long)]
    pub desired: bool,
}

/// Runs `orbdeck access`; exits 1 when `--who` and `--can` are both given and the answer is no
/// (as `kubectl auth can-i` does).
pub async fn run(args: AccessArgs, paths: Paths) -> Result<ExitCode, String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let entry = config
        .orb(&args.orb)
        .ok_or_else(|| format!("no ORB named {:?} in {}", args.orb, paths.config.display()))?
        .clone();
    let who = args.who.as_deref().map(Subject::parse).transpose()?;
    let request = args.can.as_ref().map(|can| {
        let (group, resource, subresource) = access::parse_resource(&can[1]);
        Request {
            verb: can[0].clone(),
            group,
            resource,
            subresource,
            name: args.name.clone(),
            path: None,
        }
    });
    let (objects, source) = objects(&config, &paths, &entry, args.desired).await?;
    let policy = Policy::resolve(&objects);
    println!("{}: {}", safe(&entry.name), source);
    let ns = args.namespace.as_deref();
    let place = ns.map_or("cluster-wide".to_owned(), |n| {
        format!("in namespace {}", safe(n))
    });
    match (who, request) {
        (Some(who), Some(r)) => {
            let can = args.can.as_deref().unwrap_or_default();
            let question = format!("{} {} {place}", safe(&can[0]), safe(&can[1]));
            return Ok(match policy.allows(&who, &args.groups, ns, &r) {
                Some(g) => {
                    println!(
                        "yes: {} can {question}, through {}",
                        safe(&who.to_string()),
                        via(g)
                    );
                    ExitCode::SUCCESS
                }
                None => {
                    println!("no: {} cannot {question}", safe(&who.to_string()));
                    ExitCode::FAILURE
                }
            });
        }
        (Some(who), None) => {
            let grants = policy.of(&who, &args.groups);
            if grants.is_empty() {
                println!("{} is bound to nothing", safe(&who.to_string()));
            }
            table(&grants);
        }
        (None, Some(r)) => {
            let can = args.can.as_deref().unwrap_or_default();
            let grants = policy.who_can(ns, &r);
            println!(
                "who can {} {} {place}: {}",
                safe(&can[0]),
                safe(&can[1]),
                if grants.is_empty() {
                    "nobody bound"
                } else {
                    ""
                }
            );
            table(&grants);
        }
        (None, None) => table(&policy.grants().iter().collect::<Vec<_>>()),
    }
    if !policy.findings().is_empty() {
        println!();
        println!("Findings:");
        for f in policy.findings() {
            println!("  ! {}", safe(&f.to_string()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The RBAC objects to resolve and where they came from: the live cluster unless it cannot be
/// reached or `desired_only`, else the ORB's desired/ at its remote's tip.
async fn objects(
    config: &FleetConfig,
    paths: &Paths,
    entry: &OrbEntry,
    desired_only: bool,
) -> Result<(Objects, String), String> {
    let mut why = "asked with --desired".to_owned();
    if !desired_only {
        let timeout = Duration::from_secs(config.remote.timeout_seconds.clamp(1, 30));
        let live = match connect::client(entry, timeout).await {
            Ok(client) => access::live::load(&client)
                .await
                .map_err(|e| crate::text::error_chain(&e)),
            Err(e) => Err(e.to_string()),
        };
        match live {
            Ok(objects) => return Ok((objects, "from the live cluster's bindings".into())),
            Err(e) => why = format!("cluster unreachable: {e}"),
        }
    }
    let (config, paths, entry) = (config.clone(), paths.clone(), entry.clone());
    tokio::task::spawn_blocking(move || {
        let repo = connect::open_repo(&config, &paths, &entry).map_err(|e| e.to_string())?;
        let tip = repo.fetch().map_err(|e| e.to_string())?;
        let files = match tip {
            Some(tip) => repo.files(tip, DESIRED).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let files: Vec<(PathBuf, Vec<u8>)> = files
            .into_iter()
            .filter(|(p, _)| crate::validate::is_manifest_path(p))
            .map(|(p, b)| (PathBuf::from(p), b))
            .collect();
        let report = crate::validate::validate_files(&files, &crate::validate::ModelSchemas);
        let objects = Objects::from_manifests(report.objects.iter().map(|o| &o.value));
        let at = tip.map_or("an empty repo".to_owned(), |t| {
            format!("commit {}", crate::repo::short_hex(&t.to_string()))
        });
        Ok((objects, format!("from desired/ at {at} ({why})")))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The grant's binding and role, as a reason.
fn via(g: &Grant) -> String {
    safe(&format!("{} ({})", g.binding, g.role))
}

/// Grants as a table: subject, where, role, what.
fn table(grants: &[&Grant]) {
    let rows: Vec<[String; 4]> = grants
        .iter()
        .map(|g| {
            let what = if g.role_found {
                g.rules
                    .iter()
                    .map(|r| r.summary())
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                "(role missing: grants nothing)".into()
            };
            let mark = if g.is_cluster_admin() { "! " } else { "" };
            [
                safe(&format!("{mark}{}", g.subject)),
                safe(g.namespace.as_deref().unwrap_or("*")),
                safe(&g.role),
                safe(&what),
            ]
        })
        .collect();
    let header = ["SUBJECT", "NAMESPACE", "ROLE", "RULES"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (a, b, c) = (width(0), width(1), width(2));
    println!(
        "{:a$}  {:b$}  {:c$}  {}",
        header[0], header[1], header[2], header[3]
    );
    for r in rows {
        println!("{:a$}  {:b$}  {:c$}  {}", r[0], r[1], r[2], r[3]);
    }
}

/// An outside string made safe to print.
fn safe(s: &str) -> String {
    sanitize(s).into_owned()
}
