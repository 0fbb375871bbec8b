//! `orbdeck secret edit|set`: age-encrypted Secrets in an ORB repo. Plaintext exists only in
//! memory and, while $EDITOR runs, in a private temporary file outside the repo and data dir
//! (in /dev/shm when available), removed as soon as the editor exits.

use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::model::OrbFile;
use crate::repo::{Draft, Drafts, ORB_FILE, OrbRepo, RetryPolicy};
use crate::secrets;
use clap::Subcommand;
use serde_json::Value;
use std::io::Read as _;
use std::path::PathBuf;

/// The `secret` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Decrypt a Secret into $EDITOR, then re-encrypt, commit and push it.
    Edit {
        /// ORB name.
        orb: String,
        /// Path of the Secret's file in the repo (e.g. desired/secrets/db.yaml).
        path: String,
        /// age identity file (default: $ORBDECK_AGE_IDENTITY, else age.txt in the config dir).
        #[arg(long)]
        identity: Option<PathBuf>,
    },
    /// Set one key of a Secret from stdin (no identity needed), then commit and push.
    Set {
        /// ORB name.
        orb: String,
        /// Path of the Secret's file in the repo.
        path: String,
        /// The key under data.
        key: String,
        /// Namespace of a new Secret.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
}

/// Runs a `secret` subcommand.
pub async fn run(cmd: SecretCommand, paths: Paths) -> Result<(), String> {
    tokio::task::spawn_blocking(move || run_blocking(cmd, paths))
        .await
        .map_err(|e| e.to_string())?
}

fn run_blocking(cmd: SecretCommand, paths: Paths) -> Result<(), String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let (orb, path) = match &cmd {
        SecretCommand::Edit { orb, path, .. } | SecretCommand::Set { orb, path, .. } => {
            (orb.clone(), path.clone())
        }
    };
    let entry: OrbEntry = config
        .orb(&orb)
        .ok_or_else(|| format!("no ORB named {orb:?} in {}", paths.config.display()))?
        .clone();
    let repo = connect::open_repo(&config, &paths, &entry).map_err(|e| e.to_string())?;
    let tip = repo.fetch().map_err(|e| e.to_string())?;
    let recipients = recipients(&repo, tip)?;
    let drafts = Drafts::new(paths.drafts_dir());
    // An earlier unpushed edit of this file (always encrypted) is the starting point.
    let (base, base_content, current) = match drafts.load(&orb, &path) {
        Some(d) => (
            d.base_oid(),
            d.base_content,
            d.content.map(String::into_bytes),
        ),
        None => {
            let at_tip = repo.file(tip, &path).map_err(|e| e.to_string())?;
            let text = at_tip
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned());
            (tip, text, at_tip)
        }
    };
    let current: Option<Value> = current
        .map(|b| serde_saphyr::from_slice(&b).map_err(|e| format!("{path}: {e}")))
        .transpose()?;
    let updated = match cmd {
        SecretCommand::Set { key, namespace, .. } => {
            let mut value = Vec::new();
            std::io::stdin()
                .read_to_end(&mut value)
                .map_err(|e| format!("stdin: {e}"))?;
            if value.ends_with(b"\n") {
                value.pop();
            }
            let doc = current.unwrap_or_else(|| secrets::new_secret(&namespace, &name_from(&path)));
            secrets::set_key(&doc, &key, &value, &recipients).map_err(|e| format!("{path}: {e}"))?
        }
        SecretCommand::Edit { identity, .. } => {
            let identities = load_identities(identity)?;
            let old_plain = match &current {
                Some(doc) if secrets::is_encrypted(doc) => Some(
                    secrets::decrypt_secret(doc, &identities)
                        .map_err(|e| format!("{path}: {e}"))?,
                ),
                Some(_) => {
                    return Err(format!(
                        "{path}: not an encrypted Secret (no orbdeck.io/encrypted annotation)"
                    ));
                }
                None => None,
            };
            let shown = old_plain
                .clone()
                .unwrap_or_else(|| secrets::new_secret("default", &name_from(&path)));
            let edited = edit_in_editor(&secrets::to_editable(&shown))?;
            let plain = secrets::from_editable(&edited).map_err(|e| format!("{path}: {e}"))?;
            secrets::reencrypt(current.as_ref(), old_plain.as_ref(), &plain, &recipients)
                .map_err(|e| format!("{path}: {e}"))?
        }
    };
    let text = serde_saphyr::to_string(&updated).map_err(|e| e.to_string())?;
    let draft = Draft::new(&orb, &path, base, base_content, Some(text));
    drafts.save(&draft).map_err(|e| e.to_string())?;
    let written = drafts
        .push(
            &repo,
            &draft,
            &format!("orbdeck: update secret {path}"),
            &RetryPolicy::default(),
        )
        .map_err(|e| {
            format!("{e}\nthe encrypted edit is kept as a draft (`orbdeck orb drafts {orb}`)")
        })?;
    if written.created {
        println!(
            "pushed {} (values encrypted to {} recipient(s))",
            written.commit,
            recipients.len()
        );
    } else {
        println!(
            "nothing to commit: {path} already equals {}",
            written.commit
        );
    }
    Ok(())
}

fn recipients(repo: &OrbRepo, tip: Option<git2::Oid>) -> Result<Vec<String>, String> {
    let bytes = repo
        .file(tip, ORB_FILE)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{ORB_FILE} is missing: it lists the secrets' recipients"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{ORB_FILE}: not UTF-8"))?;
    let orb = OrbFile::parse(&text).map_err(|e| format!("{ORB_FILE}: {e}"))?;
    if orb.secrets.recipients.is_empty() {
        return Err(format!(
            "{ORB_FILE}: secrets.recipients is empty; add an age public key"
        ));
    }
    Ok(orb.secrets.recipients)
}

fn name_from(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "secret".into())
}

fn load_identities(flag: Option<PathBuf>) -> Result<Vec<age::x25519::Identity>, String> {
    let path = flag
        .or_else(|| std::env::var_os("ORBDECK_AGE_IDENTITY").map(PathBuf::from))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "orbdeck")
                .map(|d| d.config_dir().join("age.txt"))
        })
        .ok_or("no age identity: pass --identity or set ORBDECK_AGE_IDENTITY")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    secrets::parse_identities(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Lets the user edit `text` in $VISUAL/$EDITOR (vi by default) and returns the result.
fn edit_in_editor(text: &str) -> Result<String, String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let file = dir.join(format!(
        "orbdeck-secret-{}-{}.yaml",
        std::process::id(),
        rand::random::<u64>()
    ));
    let guard = Remove(file.clone());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    drop(f);
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status()
        .map_err(|e| format!("cannot run {editor}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{editor} exited with {status}; nothing was changed"
        ));
    }
    let out = std::fs::read_to_string(&file).map_err(|e| e.to_string());
    drop(guard);
    out
}

/// Removes the plaintext file however the edit ends.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
