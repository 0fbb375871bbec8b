//! The command tree of `orbdeck` (clap derive) and the dispatch to each part of the library.
//! Exit codes: 0 success, 1 failure, 2 usage error.

use crate::fleet::config::Paths;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod access;
mod agent;
mod bootstrap;
#[cfg(feature = "sim")]
mod demo;
mod engine;
mod manifests;
mod orb;
mod plan;
mod secret;
#[cfg(feature = "sim")]
mod servers;
mod validate;

/// orbdeck: watch and steer many Kubernetes clusters, each paired with a Git repository (an ORB).
#[derive(Debug, Parser)]
#[command(name = "orbdeck", version, about, propagate_version = true)]
pub struct Cli {
    /// The fleet file (default: $ORBDECK_CONFIG, else ~/.config/orbdeck/fleet.yaml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The control room's options when no command is given (`orbdeck --write` is `orbdeck ui --write`).
    #[command(flatten)]
    pub ui: UiArgs,
    /// What to do; without a command, the control room opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the control room on the fleet from the config (the default).
    Ui(UiArgs),
    /// Start embedded clusters with local ORB repositories and open the control room on them.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
    /// Run the headless engine that applies an ORB repository to its cluster.
    Engine(engine::EngineArgs),
    /// Run the node agent on one node: its NodeUpgrades, its node users' authorized_keys.
    Agent(agent::AgentArgs),
    /// Run the embedded Kubernetes API server.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
    /// Manage the fleet: add, list and remove ORBs; list and push drafts.
    #[command(subcommand)]
    Orb(orb::OrbCommand),
    /// Check the desired state of an ORB repository or directory (exit 1 on errors).
    Validate(validate::ValidateArgs),
    /// Show what applying desired state would change in the cluster.
    Plan(plan::PlanArgs),
    /// Who can do what, where, in an ORB's cluster (from its live bindings, or desired/).
    Access(access::AccessArgs),
    /// Print generated manifests (CRDs, engine deployment).
    #[command(subcommand)]
    Manifests(manifests::ManifestsCommand),
    /// Edit encrypted secrets in an ORB repository.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// From a bare cluster and an (empty) repo to a running ORB: skeleton, identity, CRDs, engine,
    /// first sync, fleet entry. Safe to run again.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Write an ORB repo's skeleton (orb.yaml, desired/, README.md) into a directory.
    Init(bootstrap::InitArgs),
}

/// Options of `orbdeck sim`.
#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address of the first cluster; more clusters use the following ports (port 0 picks free ports).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: std::net::SocketAddr,
    /// Where to write the kubeconfig (one context per cluster).
    #[arg(long, default_value = "orbdeck-sim.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Number of clusters (contexts sim-1, sim-2, ...).
    #[arg(long, default_value_t = 1)]
    pub clusters: usize,
    /// Number of simulated nodes per cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Keep state across restarts in this directory (snapshot on shutdown and every 10 s), with
    /// the CA, the admin's token and the ServiceAccount token signing key.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Another user besides the admin, authorised by RBAC: `NAME:TOKEN[:GROUP,GROUP...]`
    /// (repeatable).
    #[arg(long = "user", value_name = "NAME:TOKEN:GROUPS")]
    pub users: Vec<kube_sim::StaticUser>,
}

/// Options of `orbdeck demo`.
#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's clusters' state and kubeconfig in this directory instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// Options of `orbdeck ui` (also taken by plain `orbdeck`).
#[derive(Debug, Args, Default)]
pub struct UiArgs {
    /// Make every ORB writable (otherwise only those with `write: true`); every write is a commit.
    #[arg(long)]
    pub write: bool,
    /// Without a fleet file, open only this kubeconfig context (repeatable); by default every one.
    #[arg(long = "context", value_name = "CTX")]
    pub contexts: Vec<String>,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let paths = Paths::resolve(cli.config.as_deref());
    let command = cli.command.unwrap_or(Command::Ui(cli.ui));
    match command {
        #[cfg(feature = "sim")]
        Command::Sim(args) => with_runtime(QUIET, servers::run_sim(args)),
        #[cfg(feature = "sim")]
        Command::Demo(args) => with_ui_runtime(|slot| demo::run(args, slot)),
        Command::Orb(cmd) => with_runtime(QUIET, orb::run(cmd, paths)),
        Command::Validate(args) => validate::run(args),
        Command::Bootstrap(args) => with_runtime(QUIET, bootstrap::run(args, paths)),
        Command::Init(args) => match bootstrap::init(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("orbdeck init: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Plan(args) => with_runtime(QUIET, plan::run(args, paths)),
        Command::Access(args) => with_runtime_exit(QUIET, access::run(args, paths)),
        Command::Manifests(cmd) => manifests::run(cmd),
        Command::Secret(cmd) => with_runtime(QUIET, secret::run(cmd, paths)),
        Command::Ui(args) => {
            let slot_paths = paths.clone();
            with_ui_runtime(move |slot| ui(args, slot_paths, slot))
        }
        // The engine says what each sync did (INFO) unless ORBDECK_LOG says otherwise.
        Command::Engine(args) => {
            init_logging("warn,orbdeck=info", args.log_format);
            with_runtime("warn,orbdeck=info", engine::run(args))
        }
        // The agent says what it does (INFO) unless ORBDECK_LOG says otherwise.
        Command::Agent(args) => with_runtime("warn,orbdeck=info", agent::run(args)),
    }
}

/// Where a UI command keeps its data (and log), once known, for the error message at exit.
#[derive(Clone, Default)]
pub struct LogSlot(std::sync::Arc<std::sync::Mutex<Option<Paths>>>);

impl LogSlot {
    /// Records the paths in use.
    pub fn set(&self, paths: &Paths) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(paths.clone());
    }

    /// The paths recorded, if any.
    pub fn get(&self) -> Option<Paths> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Opens the control room on the fleet from the config, else on the kubeconfig's contexts.
async fn ui(args: UiArgs, paths: Paths, slot: LogSlot) -> Result<(), String> {
    let mut config =
        crate::fleet::config::FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    if config.orbs.is_empty() {
        config.orbs = live_only_orbs(&args.contexts, &paths)?;
    } else if !args.contexts.is_empty() {
        return Err(format!(
            "--context picks kubeconfig contexts when there is no fleet file; {} lists the ORBs to open (orbdeck orb list)",
            paths.config.display()
        ));
    }
    slot.set(&paths);
    let _log = crate::ui::runtime::start_logging(&paths);
    let keys = config.ui.keys.clone();
    let theme = if config.ui.theme.as_deref() == Some("light") {
        "light"
    } else {
        "dark"
    };
    crate::ui::runtime::run(crate::ui::runtime::Options {
        config,
        paths,
        write_all: args.write,
        keys,
        theme,
        drafts_are_temporary: false,
    })
    .await
    .map_err(|e| e.to_string())
}

/// Without a fleet file: one live-only ORB per context of the kubeconfig, or per `--context`.
fn live_only_orbs(
    wanted: &[String],
    paths: &Paths,
) -> Result<Vec<crate::fleet::config::OrbEntry>, String> {
    use crate::text::sanitize;
    let no_fleet = format!(
        "no ORBs in {} and no kubeconfig context to open",
        paths.config.display()
    );
    let hint =
        "add an ORB with `orbdeck orb add NAME --repo URL --context CTX`, or try `orbdeck demo`";
    let contexts = crate::fleet::connect::kubeconfig_contexts()
        .map_err(|e| format!("{no_fleet} ({}); {hint}", sanitize(&e.to_string())))?;
    if contexts.is_empty() {
        return Err(format!("{no_fleet}; {hint}"));
    }
    let mut chosen: Vec<&String> = Vec::new();
    for c in wanted {
        if !contexts.contains(c) {
            return Err(format!(
                "--context {}: not in the kubeconfig (its contexts: {})",
                sanitize(c),
                sanitize(&contexts.join(", "))
            ));
        }
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    if chosen.is_empty() {
        chosen = contexts.iter().collect();
    }
    Ok(chosen
        .into_iter()
        .map(|c| crate::fleet::config::OrbEntry::live_only(c))
        .collect())
}

/// Runs the control room (or the demo around it): logs go to a file, never to the terminal;
/// errors are printed after the terminal is restored, with where the log is.
fn with_ui_runtime<F, Fut>(body: F) -> ExitCode
where
    F: FnOnce(LogSlot) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let slot = LogSlot::default();
    let result = runtime.block_on(body(slot.clone()));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    let paths = slot.get();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orbdeck: {e}");
            if let Some(p) = paths {
                eprintln!(
                    "the log is at {}",
                    crate::ui::runtime::log_path(&p).display()
                );
            }
            ExitCode::FAILURE
        }
    }
}

/// The multi-threaded tokio runtime (None, said on stderr, when it cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("orbdeck: cannot start the async runtime: {e}");
            None
        }
    }
}

/// The log filter of commands that only speak when something is wrong (kube's client logs
/// every failed connection at ERROR; the commands report those errors themselves).
const QUIET: &str = "warn,kube_client=off";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for log collectors.
    Json,
}

/// Logs to stderr by `ORBDECK_LOG`, else by `default_filter`, in `format`, in colour only on a
/// terminal without `NO_COLOR` (a no-op when logging is already set up).
fn init_logging(default_filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORBDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs `fut` on a runtime, logging to stderr by `ORBDECK_LOG`, else by `default_filter`.
fn with_runtime(
    default_filter: &str,
    fut: impl std::future::Future<Output = Result<(), String>>,
) -> ExitCode {
    with_runtime_exit(default_filter, async {
        fut.await.map(|()| ExitCode::SUCCESS)
    })
}

/// [`with_runtime`] for a command that chooses its exit code.
fn with_runtime_exit(
    default_filter: &str,
    fut: impl std::future::Future<Output = Result<ExitCode, String>>,
) -> ExitCode {
    init_logging(default_filter, LogFormat::Text);
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(fut) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("orbdeck: {e}");
            ExitCode::FAILURE
        }
    }
}
