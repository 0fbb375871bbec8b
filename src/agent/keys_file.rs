//! One user's authorized_keys: the lines above orbdeck's marker kept as they are (the keys
//! orbdeck does not manage), the marker and everything below it orbdeck's; written atomically
//! (a temporary file in the same directory, fsync, rename; mode 0600, owner kept).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The line where orbdeck's section starts; it runs to the end of the file.
pub const MARKER: &str = "# orbdeck managed keys: this line and every line below it are rewritten by the orbdeck agent; put your own keys above it";

/// The file's wanted text: `current`'s lines above [`MARKER`] (all of them when it has none),
/// then the marker and `keys`.
pub fn render(current: Option<&str>, keys: &[String]) -> String {
    let head = current
        .map(|c| match c.find(MARKER) {
            Some(at) => c.get(..at).unwrap_or_default(),
            None => c,
        })
        .unwrap_or_default();
    let mut out = head.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(MARKER);
    out.push('\n');
    for k in keys {
        out.push_str(k.trim());
        out.push('\n');
    }
    out
}

/// Makes `path` hold `keys` in orbdeck's section with mode 0600; whether it had to be written.
pub fn sync(path: &Path, keys: &[String]) -> std::io::Result<bool> {
    let current = fs::read(path).ok();
    let meta = fs::metadata(path).ok();
    let text = current.as_deref().map(String::from_utf8_lossy);
    let wanted = render(text.as_deref(), keys);
    let mode_ok = meta
        .as_ref()
        .is_some_and(|m| m.permissions().mode() & 0o777 == 0o600);
    if current.as_deref() == Some(wanted.as_bytes()) && mode_ok {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    // The owner of the file, else of its directory (the user's .ssh).
    let owner = meta
        .as_ref()
        .map(|m| (m.uid(), m.gid()))
        .or_else(|| fs::metadata(dir).ok().map(|m| (m.uid(), m.gid())));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("authorized_keys");
    let tmp = dir.join(format!(".{file_name}.orbdeck-{}", std::process::id()));
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(wanted.as_bytes())?;
        f.sync_all()?;
        if let Some((uid, gid)) = owner
            && let Err(e) = std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
            && meta
                .as_ref()
                .is_some_and(|m| m.uid() != uid || m.gid() != gid)
        {
            return Err(e);
        }
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_above_the_marker_are_kept_and_the_rest_is_orbdecks() {
        let keys = vec!["ssh-ed25519 AAAA alice".to_owned()];
        let fresh = render(None, &keys);
        assert_eq!(fresh, format!("{MARKER}\nssh-ed25519 AAAA alice\n"));
        let mine = format!("ssh-rsa BBBB mine\n{MARKER}\nssh-ed25519 OLD\nssh-ed25519 APPENDED\n");
        assert_eq!(
            render(Some(&mine), &keys),
            format!("ssh-rsa BBBB mine\n{fresh}")
        );
        assert_eq!(
            render(Some("ssh-rsa BBBB mine"), &keys),
            format!("ssh-rsa BBBB mine\n{fresh}")
        );
    }

    #[test]
    fn sync_writes_mode_0600_and_only_when_something_differs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice/.ssh/authorized_keys");
        let keys = vec!["ssh-ed25519 AAAA alice".to_owned()];
        assert!(sync(&path, &keys).unwrap());
        assert!(!sync(&path, &keys).unwrap(), "nothing to do");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(sync(&path, &keys).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }
}
