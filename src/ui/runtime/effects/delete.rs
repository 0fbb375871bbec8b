//! Deleting from desired/ as a commit: a whole file, or one object's document in a
//! multi-document file (the other documents kept as they are written), validated and pushed
//! through the write path like any edit.

use super::{EffectError, Env, sanitize_lines, short, valid_after};
use crate::repo::write::write;
use crate::repo::{Change, Edit, OrbRepo, RetryPolicy};
use crate::ui::Action;
use crate::ui::state::DeleteTarget;

/// `text` without the document of `kind` `name`: None when it is not there, `Some(None)` when
/// nothing else is left (the file goes).
fn without_document(text: &str, kind: &str, name: &str) -> Option<Option<String>> {
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        }
        if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    let is_target = |doc: &str| {
        let body = doc.strip_prefix("---").unwrap_or(doc);
        serde_saphyr::from_str::<serde_json::Value>(body).is_ok_and(|v| {
            v.get("kind").and_then(|k| k.as_str()) == Some(kind)
                && v.pointer("/metadata/name").and_then(|n| n.as_str()) == Some(name)
        })
    };
    let before = docs.len();
    docs.retain(|d| !is_target(d));
    if docs.len() == before {
        return None;
    }
    let rest: String = docs.concat();
    let empty = rest
        .lines()
        .all(|l| l.trim().is_empty() || l.trim() == "---" || l.trim_start().starts_with('#'));
    Some((!empty).then_some(rest))
}

/// The change that deletes `target` at the tip, checked to leave desired/ valid.
fn deletion(repo: &OrbRepo, target: &DeleteTarget) -> Result<(Edit, String), String> {
    let tip = repo.fetch().map_err(|e| e.to_string())?;
    let text = repo
        .file(tip, &target.path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is not in the repo any more", target.path))?;
    let content = match &target.object {
        None => None,
        Some((kind, name)) => {
            let text = String::from_utf8_lossy(&text);
            without_document(&text, kind, name)
                .ok_or_else(|| format!("{kind} {name} is not in {} any more", target.path))?
                .map(String::into_bytes)
        }
    };
    let changes = vec![Change {
        path: target.path.clone(),
        content,
    }];
    valid_after(repo, tip, &changes)?;
    let what = target.describe();
    let edit = Edit {
        base: tip,
        changes,
        message: format!("orbdeck: delete {what}"),
    };
    Ok((edit, what))
}

/// Deletes `target` as a commit → a notice, or the error (nothing pushed).
pub(super) async fn delete(env: &Env, target: DeleteTarget) -> Result<Action, EffectError> {
    let orb = target.orb.clone();
    let done = env
        .with_repo(&orb, move |repo| {
            Ok(deletion(repo, &target).and_then(|(edit, what)| {
                let written =
                    write(repo, &edit, &RetryPolicy::default()).map_err(|e| e.to_string())?;
                Ok((written, what))
            }))
        })
        .await?;
    Ok(match done {
        Ok((w, what)) if w.created => Action::Notice(format!(
            "✔ pushed {} to {orb}: deleted {what}; the engine prunes it on its next sync.",
            short(w.commit)
        )),
        Ok((_, what)) => Action::Notice(format!("Nothing to commit: {orb} no longer has {what}.")),
        Err(e) => Action::Error(sanitize_lines(&format!("not deleted: {e}")).replace('\n', " · ")),
    })
}

#[cfg(test)]
mod tests {
    use super::without_document;

    #[test]
    fn one_document_goes_and_the_others_stay_as_written() {
        let text = "# team\n---\napiVersion: v1\nkind: Profile\nmetadata:\n  name: a # first\n---\nkind: Profile\nmetadata:\n  name: b\n";
        let left = without_document(text, "Profile", "b").unwrap().unwrap();
        assert_eq!(
            left,
            "# team\n---\napiVersion: v1\nkind: Profile\nmetadata:\n  name: a # first\n"
        );
        assert_eq!(without_document(text, "Profile", "c"), None, "not there");
        let only = "kind: Profile\nmetadata:\n  name: a\n";
        assert_eq!(
            without_document(only, "Profile", "a"),
            Some(None),
            "the file goes"
        );
    }
}
