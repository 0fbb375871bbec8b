//! The operator's fleet config (`fleet.yaml`): which ORBs exist, where their repos and clusters
//! are, and how to reach remotes. Found at `--config`, else `$ORBDECK_CONFIG`, else the
//! platform config dir (`~/.config/orbdeck/fleet.yaml` on Linux). Data (clones, drafts) lives
//! under `$ORBDECK_DATA` or the platform data dir (`~/.local/share/orbdeck`).

use crate::repo::{Author, RemoteOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole fleet file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetConfig {
    /// Author of the commits made from this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<AuthorConfig>,
    /// How remotes are reached.
    #[serde(default)]
    pub remote: RemoteConfig,
    /// The ORBs, in display order.
    #[serde(default)]
    pub orbs: Vec<OrbEntry>,
    /// The control room's look and keys.
    #[serde(default, skip_serializing_if = "UiConfig::is_default")]
    pub ui: UiConfig,
    /// Where clones and drafts of this fleet live (relative to this file's folder), unless
    /// `$ORBDECK_DATA` says otherwise; default: the platform data dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// The control room's settings in the fleet file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UiConfig {
    /// `dark` (the default) or `light`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Key overrides: action name to keys, e.g. `quit: "q, ctrl-c"` (`?` in the UI lists them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub keys: std::collections::BTreeMap<String, String>,
}

impl UiConfig {
    /// Whether nothing is set (then it is left out of the file).
    pub fn is_default(&self) -> bool {
        *self == UiConfig::default()
    }
}

/// Commit author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorConfig {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// Remote settings shared by every ORB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteConfig {
    /// Deadline of one fetch or push, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Default ssh private key (ssh-agent when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file (`~/.ssh/known_hosts` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// Add unknown ssh hosts to known_hosts instead of refusing them.
    #[serde(default)]
    pub accept_new_host_keys: bool,
}

fn default_timeout() -> u64 {
    30
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            timeout_seconds: default_timeout(),
            ssh_key: None,
            known_hosts: None,
            accept_new_host_keys: false,
        }
    }
}

/// One ORB: a cluster and the repo branch holding its state, or a cluster alone (live only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrbEntry {
    /// Unique name.
    pub name: String,
    /// Repo URL (path, file://, ssh://); none for a live-only ORB (a kubeconfig context the
    /// control room opened without a fleet file): live views only, no desired or current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Branch.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// kubeconfig context (default: the kubeconfig's current one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Whether the control room may commit to this ORB.
    #[serde(default)]
    pub write: bool,
    /// ssh key for this ORB's repo (overrides the fleet's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<PathBuf>,
    /// Labels for selectors (`env: prod`, `region: eu`, `canary: true`); scalars are kept as text.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "label_values"
    )]
    pub labels: BTreeMap<String, String>,
}

/// A label value as written in the file: text, or a bare boolean or number kept as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum LabelValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// Reads `labels:` whose values may be unquoted booleans or numbers (`canary: true`).
fn label_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, LabelValue>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                LabelValue::Bool(b) => b.to_string(),
                LabelValue::Int(i) => i.to_string(),
                LabelValue::Float(f) => f.to_string(),
                LabelValue::Text(t) => t,
            };
            (k, text)
        })
        .collect())
}

impl OrbEntry {
    /// A live-only ORB on `context` of the default kubeconfig (`$KUBECONFIG`, else
    /// ~/.kube/config), named after the context.
    pub fn live_only(context: &str) -> OrbEntry {
        OrbEntry {
            name: context.to_owned(),
            repo: None,
            branch: default_branch(),
            context: Some(context.to_owned()),
            kubeconfig: None,
            write: false,
            ssh_key: None,
            labels: BTreeMap::new(),
        }
    }
}

fn default_branch() -> String {
    "main".into()
}

/// Errors reading or writing the fleet file; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a valid fleet config.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
}

impl FleetConfig {
    /// Reads `path`; a missing file is an empty fleet.
    pub fn load(path: &Path) -> Result<FleetConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FleetConfig::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config: FleetConfig =
            serde_saphyr::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut seen = std::collections::HashSet::new();
        for orb in &config.orbs {
            if !seen.insert(orb.name.as_str()) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("orbs: ORB {:?} is listed twice", orb.name),
                });
            }
        }
        Ok(config)
    }

    /// Writes the config to `path` atomically (temp file + rename), creating its directory.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_saphyr::to_string(self).expect("the fleet config serializes");
        let tmp = path.with_extension("yaml.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The ORB called `name`.
    pub fn orb(&self, name: &str) -> Option<&OrbEntry> {
        self.orbs.iter().find(|o| o.name == name)
    }

    /// Remote options for `orb` (its own ssh key wins over the fleet's).
    pub fn remote_options(&self, orb: &OrbEntry) -> RemoteOptions {
        RemoteOptions {
            timeout: Duration::from_secs(self.remote.timeout_seconds.max(1)),
            ssh_key: orb.ssh_key.clone().or_else(|| self.remote.ssh_key.clone()),
            known_hosts: self.remote.known_hosts.clone(),
            accept_new_host_keys: self.remote.accept_new_host_keys,
        }
    }

    /// The commit author (config, else orbdeck's default).
    pub fn author(&self) -> Author {
        self.author
            .as_ref()
            .map(|a| Author {
                name: a.name.clone(),
                email: a.email.clone(),
            })
            .unwrap_or_default()
    }
}

/// Where orbdeck keeps its files on this machine.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The fleet file.
    pub config: PathBuf,
    /// Clones and drafts live under here.
    pub data: PathBuf,
}

impl Paths {
    /// Resolves the paths: `config` (from `--config`) > `$ORBDECK_CONFIG` > platform config dir;
    /// `$ORBDECK_DATA` > the fleet file's `dataDir` > platform data dir.
    pub fn resolve(config: Option<&Path>) -> Paths {
        let dirs = directories::ProjectDirs::from("", "", "orbdeck");
        let config = config
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("ORBDECK_CONFIG").map(PathBuf::from))
            .or_else(|| dirs.as_ref().map(|d| d.config_dir().join("fleet.yaml")))
            .unwrap_or_else(|| PathBuf::from("fleet.yaml"));
        let from_config = || {
            let dir = FleetConfig::load(&config).ok()?.data_dir?;
            Some(config.parent().unwrap_or(Path::new(".")).join(dir))
        };
        let data = std::env::var_os("ORBDECK_DATA")
            .map(PathBuf::from)
            .or_else(from_config)
            .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".orbdeck"));
        Paths { config, data }
    }

    /// The bare clone of `orb`.
    pub fn clone_dir(&self, orb: &str) -> PathBuf {
        self.data.join("clones").join(format!("{orb}.git"))
    }

    /// The drafts directory.
    pub fn drafts_dir(&self) -> PathBuf {
        self.data.join("drafts")
    }
}

/// Whether `name` is usable as an ORB name (a DNS label: lowercase letters, digits, `-`).
pub fn valid_orb_name(name: &str) -> bool {
    crate::names::is_dns_label(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/fleet.yaml");
        assert_eq!(FleetConfig::load(&path).unwrap(), FleetConfig::default());
        let mut config = FleetConfig::default();
        config.orbs.push(OrbEntry {
            name: "alpha".into(),
            repo: Some("file:///srv/alpha.git".into()),
            branch: "main".into(),
            context: Some("orb-alpha".into()),
            kubeconfig: None,
            write: true,
            ssh_key: None,
            labels: BTreeMap::from([("env".into(), "prod".into())]),
        });
        config.save(&path).unwrap();
        assert_eq!(FleetConfig::load(&path).unwrap(), config);

        std::fs::write(&path, "orbs:\n  - name: a\n    repo: x\n    colour: red\n").unwrap();
        let err = FleetConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("fleet.yaml") && err.contains("colour"),
            "{err}"
        );
        std::fs::write(
            &path,
            "orbs:\n  - {name: a, repo: x}\n  - {name: a, repo: y}\n",
        )
        .unwrap();
        let err = FleetConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");

        std::fs::write(
            &path,
            "orbs:\n  - name: a\n    labels: {canary: true, tier: 2, region: eu}\n",
        )
        .unwrap();
        let labels = &FleetConfig::load(&path).unwrap().orbs[0].labels;
        assert_eq!(labels["canary"], "true");
        assert_eq!(labels["tier"], "2");
        assert_eq!(labels["region"], "eu");
    }

    #[test]
    fn orb_names_are_dns_labels() {
        assert!(valid_orb_name("orb-alpha-2"));
        for bad in ["", "Alpha", "a/b", "-a", "a-", "a.b", &"x".repeat(64)] {
            assert!(!valid_orb_name(bad), "{bad}");
        }
    }
}
