//! How orbdeck talks to a remote: credentials (key file or ssh-agent), host-key checks against
//! known_hosts, and a deadline on every operation. libgit2 has no timeout of its own by default;
//! we set its socket connect/read timeouts (they also bound libssh2) and abort from progress
//! callbacks once the deadline passes.

use super::RepoError;
use super::known_hosts::{self, Verdict};
use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings for remote operations, shared by every ORB unless overridden.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Deadline of one remote operation (connect + transfer).
    pub timeout: Duration,
    /// Private key for ssh remotes; ssh-agent is used when absent.
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file; `~/.ssh/known_hosts` when absent.
    pub known_hosts: Option<PathBuf>,
    /// Add unknown hosts to known_hosts instead of refusing them (ssh's accept-new).
    pub accept_new_host_keys: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(30),
            ssh_key: None,
            known_hosts: None,
            accept_new_host_keys: false,
        }
    }
}

impl RemoteOptions {
    fn known_hosts_file(&self) -> PathBuf {
        self.known_hosts.clone().unwrap_or_else(|| {
            directories::BaseDirs::new()
                .map(|d| d.home_dir().join(".ssh/known_hosts"))
                .unwrap_or_else(|| PathBuf::from(".ssh/known_hosts"))
        })
    }
}

/// The process-wide libgit2 socket timeouts currently set (libgit2 keeps them globally).
static SOCKET_TIMEOUT_MS: Mutex<i32> = Mutex::new(0);

fn set_socket_timeouts(timeout: Duration) -> Result<(), git2::Error> {
    let ms = i32::try_from(timeout.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    let mut current = SOCKET_TIMEOUT_MS.lock().unwrap_or_else(|e| e.into_inner());
    if *current != ms {
        // SAFETY: libgit2 reads these integers when opening a socket; setting them is a plain store.
        unsafe {
            git2::opts::set_server_connect_timeout_in_milliseconds(ms)?;
            git2::opts::set_server_timeout_in_milliseconds(ms)?;
        }
        *current = ms;
    }
    Ok(())
}

/// One remote operation in progress: its deadline and what the callbacks learnt.
pub struct Session<'o> {
    url: String,
    opts: &'o RemoteOptions,
    deadline: Instant,
    host_key_problem: RefCell<Option<String>>,
    credential_tries: Cell<u32>,
    /// Refs the server refused during a push, with its reason.
    pub rejected: RefCell<Vec<(String, String)>>,
}

impl<'o> Session<'o> {
    /// Starts the clock for one operation on `url`.
    pub fn new(url: &str, opts: &'o RemoteOptions) -> Result<Session<'o>, RepoError> {
        set_socket_timeouts(opts.timeout).map_err(|e| RepoError::remote(url, e.message()))?;
        Ok(Session {
            url: url.to_string(),
            opts,
            deadline: Instant::now() + opts.timeout,
            host_key_problem: RefCell::new(None),
            credential_tries: Cell::new(0),
            rejected: RefCell::new(Vec::new()),
        })
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Callbacks for fetch and push bound to this session.
    pub fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut cb = RemoteCallbacks::new();
        cb.credentials(move |_url, user, allowed| self.credentials(user, allowed));
        cb.certificate_check(move |cert, host| self.certificate(cert, host));
        cb.transfer_progress(move |_| !self.expired());
        cb.sideband_progress(move |_| !self.expired());
        cb.push_update_reference(move |refname, status| {
            if let Some(reason) = status {
                self.rejected
                    .borrow_mut()
                    .push((refname.to_string(), reason.to_string()));
            }
            Ok(())
        });
        cb
    }

    fn credentials(
        &self,
        user: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let tries = self.credential_tries.get() + 1;
        self.credential_tries.set(tries);
        if tries > 2 {
            // libgit2 asks again after each refusal; stop instead of looping forever.
            return Err(git2::Error::from_str("authentication failed"));
        }
        let user = user.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return match &self.opts.ssh_key {
                Some(key) => Cred::ssh_key(user, None, key, None),
                None => Cred::ssh_key_from_agent(user),
            };
        }
        Err(git2::Error::from_str(
            "the remote asks for credentials orbdeck does not hold (only ssh keys are supported)",
        ))
    }

    fn certificate(
        &self,
        cert: &git2::cert::Cert<'_>,
        host: &str,
    ) -> Result<CertificateCheckStatus, git2::Error> {
        let Some(hostkey) = cert.as_hostkey() else {
            // TLS certificates are checked by libgit2's own verification.
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        let (Some(key), Some(kind)) = (hostkey.hostkey(), hostkey.hostkey_type()) else {
            return Err(self.refuse("the server sent no raw host key"));
        };
        let name = known_hosts::host_name(host, port_of(&self.url));
        let file = self.opts.known_hosts_file();
        match known_hosts::check(
            &file,
            &name,
            kind.name(),
            key,
            self.opts.accept_new_host_keys,
        ) {
            Ok(Verdict::Known) | Ok(Verdict::Added) => Ok(CertificateCheckStatus::CertificateOk),
            Ok(verdict) => Err(self.refuse(&verdict.to_string())),
            Err(e) => Err(self.refuse(&format!("cannot read {}: {e}", file.display()))),
        }
    }

    fn refuse(&self, why: &str) -> git2::Error {
        *self.host_key_problem.borrow_mut() = Some(why.to_string());
        git2::Error::from_str(why)
    }

    /// Turns a libgit2 error from this session into one naming the remote (and the deadline when
    /// that is what ended it).
    pub fn error(&self, e: git2::Error) -> RepoError {
        if let Some(why) = self.host_key_problem.borrow().clone() {
            return RepoError::HostKey {
                remote: self.url.clone(),
                message: why,
            };
        }
        // libssh2 says "Timed out waiting on socket" when its own timer fires first.
        let timed_out = self.expired()
            || e.message().to_ascii_lowercase().contains("timed out")
            || e.code() == git2::ErrorCode::Timeout;
        if timed_out {
            return RepoError::Timeout {
                remote: self.url.clone(),
                seconds: self.opts.timeout.as_secs_f64(),
            };
        }
        RepoError::remote(&self.url, e.message())
    }
}

/// The port of an ssh URL (`ssh://user@host:port/path`), if it names one.
fn port_of(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split_once("]:").and_then(|(_, p)| p.parse().ok());
    }
    host_port.split_once(':').and_then(|(_, p)| p.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn ports_are_read_from_ssh_urls() {
        assert_eq!(port_of("ssh://git@127.0.0.1:2222/srv/orb.git"), Some(2222));
        assert_eq!(port_of("ssh://git@[::1]:2200/orb.git"), Some(2200));
        assert_eq!(port_of("ssh://host/orb.git"), None);
        assert_eq!(port_of("file:///srv/orb.git"), None);
    }
}
