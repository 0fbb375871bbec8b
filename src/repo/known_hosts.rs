//! SSH host-key checking against an OpenSSH `known_hosts` file, as `ssh` does it: plain and
//! hashed (`|1|salt|hash`) host names, `[host]:port` for non-default ports, wildcard patterns,
//! negations and `@revoked` markers. An unknown host is refused unless the caller opts into
//! accept-new, which appends the key; a changed key is always refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What checking a host key against known_hosts found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line for this host holds exactly this key.
    Known,
    /// The host was not listed (with this key type or at all); it was added (accept-new).
    Added,
    /// The host is not listed and accept-new is off.
    Unknown {
        /// Host as written in known_hosts (`host` or `[host]:port`).
        host: String,
        /// The known_hosts file that was consulted.
        file: PathBuf,
    },
    /// The host is listed with a different key of the same type, or the key is revoked.
    Mismatch {
        /// Host as written in known_hosts.
        host: String,
        /// File and 1-based line of the entry that disagrees.
        file: PathBuf,
        /// Line number of that entry.
        line: usize,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Known => write!(f, "host key known"),
            Verdict::Added => write!(f, "host key added to known_hosts"),
            Verdict::Unknown { host, file } => write!(
                f,
                "host {host} is not in {}; add its key (ssh-keyscan) or allow accept-new host keys",
                file.display()
            ),
            Verdict::Mismatch { host, file, line } => write!(
                f,
                "host key for {host} does not match {}:{line}: refusing to connect (possible man-in-the-middle)",
                file.display()
            ),
        }
    }
}

/// The name a host has in known_hosts: `host` on port 22, else `[host]:port`.
pub fn host_name(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if p != 22 => format!("[{host}]:{p}"),
        _ => host.to_string(),
    }
}

/// Checks `key_type` + raw `key` (SSH wire format) for `host` against `file`; with
/// `accept_new`, an unlisted host is appended to the file (created if missing).
pub fn check(
    file: &Path,
    host: &str,
    key_type: &str,
    key: &[u8],
    accept_new: bool,
) -> std::io::Result<Verdict> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let key_b64 = STANDARD.encode(key);
    for (i, line) in text.lines().enumerate() {
        let Some(entry) = Entry::parse(line) else {
            continue;
        };
        if !entry.matches(host) {
            continue;
        }
        if entry.revoked && entry.key == key_b64 {
            return Ok(mismatch(host, file, i));
        }
        if entry.revoked || entry.cert_authority {
            continue;
        }
        if entry.key_type == key_type {
            if entry.key == key_b64 {
                return Ok(Verdict::Known);
            }
            return Ok(mismatch(host, file, i));
        }
        // As ssh: a key of another type for this host does not make this one known.
    }
    if !accept_new {
        return Ok(Verdict::Unknown {
            host: host.to_string(),
            file: file.to_path_buf(),
        });
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let sep = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(out, "{sep}{host} {key_type} {key_b64}")?;
    Ok(Verdict::Added)
}

fn mismatch(host: &str, file: &Path, index: usize) -> Verdict {
    Verdict::Mismatch {
        host: host.to_string(),
        file: file.to_path_buf(),
        line: index + 1,
    }
}

/// One parsed known_hosts line.
struct Entry<'a> {
    revoked: bool,
    cert_authority: bool,
    hosts: &'a str,
    key_type: &'a str,
    key: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Entry<'a>> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        let (mut revoked, mut cert_authority) = (false, false);
        if first == "@revoked" {
            revoked = true;
            first = fields.next()?;
        } else if first == "@cert-authority" {
            cert_authority = true;
            first = fields.next()?;
        }
        Some(Entry {
            revoked,
            cert_authority,
            hosts: first,
            key_type: fields.next()?,
            key: fields.next()?,
        })
    }

    /// Whether the host list names `host` (hashed, plain or by pattern; negations win).
    fn matches(&self, host: &str) -> bool {
        if let Some(hashed) = self.hosts.strip_prefix("|1|") {
            return hashed_matches(hashed, host);
        }
        let mut hit = false;
        for pattern in self.hosts.split(',') {
            if let Some(neg) = pattern.strip_prefix('!') {
                if wildcard(neg, host) {
                    return false;
                }
            } else if wildcard(pattern, host) {
                hit = true;
            }
        }
        hit
    }
}

fn hashed_matches(hashed: &str, host: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(host.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH host pattern matching: `*` any run, `?` one character, case-insensitive.
fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] =
        b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20abcdefghijklmnopqrstuvwxyz012345";

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn plain_hashed_and_pattern_entries_match() {
        let b64 = STANDARD.encode(KEY);
        // The hashed entry is HMAC-SHA1("[127.0.0.1]:2222") under the salt, as ssh-keygen -H writes it.
        let salt = [7u8; 20];
        let mut mac = Hmac::<Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = STANDARD.encode(mac.finalize().into_bytes());
        let text = format!(
            "# comment\n|1|{}|{hash} ssh-ed25519 {b64}\ngit.example.com,10.0.0.* ssh-ed25519 {b64}\n",
            STANDARD.encode(salt)
        );
        let (_d, path) = file_with(&text);
        for host in ["[127.0.0.1]:2222", "git.example.com", "10.0.0.9"] {
            assert_eq!(
                check(&path, host, "ssh-ed25519", KEY, false).unwrap(),
                Verdict::Known,
                "{host}"
            );
        }
        assert!(matches!(
            check(&path, "[127.0.0.1]:2223", "ssh-ed25519", KEY, false).unwrap(),
            Verdict::Unknown { .. }
        ));
    }

    #[test]
    fn changed_key_is_refused_naming_the_line() {
        let (_d, path) = file_with("\n[h]:2222 ssh-ed25519 AAAAother\n");
        let v = check(&path, "[h]:2222", "ssh-ed25519", KEY, true).unwrap();
        assert_eq!(
            v,
            Verdict::Mismatch {
                host: "[h]:2222".into(),
                file: path.clone(),
                line: 2
            }
        );
        assert!(v.to_string().contains("[h]:2222"));
    }

    #[test]
    fn accept_new_appends_once_then_knows() {
        let (_d, path) = file_with("other ssh-ed25519 AAAA");
        assert_eq!(
            check(&path, "[h]:2222", "ssh-ed25519", KEY, true).unwrap(),
            Verdict::Added
        );
        assert_eq!(
            check(&path, "[h]:2222", "ssh-ed25519", KEY, false).unwrap(),
            Verdict::Known
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn negation_and_revocation_win() {
        let b64 = STANDARD.encode(KEY);
        let (_d, path) = file_with(&format!("*.corp,!bad.corp ssh-ed25519 {b64}\n"));
        assert_eq!(
            check(&path, "good.corp", "ssh-ed25519", KEY, false).unwrap(),
            Verdict::Known
        );
        assert!(matches!(
            check(&path, "bad.corp", "ssh-ed25519", KEY, false).unwrap(),
            Verdict::Unknown { .. }
        ));
        let (_d2, path) = file_with(&format!("@revoked * ssh-ed25519 {b64}\n"));
        assert!(matches!(
            check(&path, "any", "ssh-ed25519", KEY, true).unwrap(),
            Verdict::Mismatch { .. }
        ));
        assert_eq!(host_name("h", Some(22)), "h");
        assert_eq!(host_name("h", Some(2222)), "[h]:2222");
    }
}
