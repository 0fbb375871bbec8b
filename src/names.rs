//! Kubernetes' rules for names (per kind: DNS-1123 label, DNS-1123 subdomain, or path segment),
//! label keys and values, and the size of annotations, each answering with the rule broken so a
//! message can name it. A leaf: it imports nothing of the crate.

/// The rule an object's name must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a
    /// letter or digit (Namespaces, Services, Profiles: their name becomes a DNS name or namespace).
    Label,
    /// DNS-1123 subdomain: at most 253 characters of dot-separated labels (most kinds).
    Subdomain,
    /// A path segment: anything but `.`, `..`, `/` and `%` (RBAC kinds).
    PathSegment,
}

impl NameRule {
    /// The rule's name as messages say it.
    pub fn describe(self) -> &'static str {
        match self {
            NameRule::Label => "a DNS-1123 label",
            NameRule::Subdomain => "a DNS-1123 subdomain",
            NameRule::PathSegment => "a path segment",
        }
    }
}

/// The rule the name of an object of `kind` (in `api_version`) follows, as the API server
/// validates it.
pub fn rule_for(api_version: &str, kind: &str) -> NameRule {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, kind) {
        ("", "Namespace" | "Service") | ("kubeflow.org", "Profile") => NameRule::Label,
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

/// Why `name` breaks `rule`, or `None`.
pub fn name_problem(rule: NameRule, name: &str) -> Option<&'static str> {
    match rule {
        NameRule::Label => dns_label_problem(name),
        NameRule::Subdomain => dns_subdomain_problem(name),
        NameRule::PathSegment => {
            if name.is_empty() {
                Some("a name is needed")
            } else if name == "." || name == ".." {
                Some("may not be '.' or '..'")
            } else if name.contains(['/', '%']) {
                Some("may not contain '/' or '%'")
            } else {
                None
            }
        }
    }
}

/// Why `name` is not a DNS-1123 label (what namespaces, ORBs and most object names must be:
/// at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit).
pub fn dns_label_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("a name is needed");
    }
    if name.len() > 63 {
        return Some("at most 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("only lowercase letters, digits and - are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// Whether `name` is a DNS-1123 label.
pub fn is_dns_label(name: &str) -> bool {
    dns_label_problem(name).is_none()
}

/// Why `name` is not a DNS-1123 subdomain (at most 253 characters; dot-separated parts of
/// lowercase letters, digits and `-`, each starting and ending with a letter or digit).
pub fn dns_subdomain_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("a name is needed");
    }
    if name.len() > 253 {
        return Some("at most 253 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Some("only lowercase letters, digits, '-' and '.' are allowed");
    }
    let parts_ok = name
        .split('.')
        .all(|part| !part.is_empty() && !part.starts_with('-') && !part.ends_with('-'));
    if !parts_ok {
        return Some("each dot-separated part must start and end with a letter or digit");
    }
    None
}

/// Why `name` is not a qualified name's name part (label values, and label keys after the
/// prefix): at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or
/// digit.
fn qualified_part_problem(name: &str) -> Option<&'static str> {
    if name.len() > 63 {
        return Some("at most 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("only letters, digits, '-', '_' and '.' are allowed");
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// Why `key` is not a valid label or annotation key (`[prefix/]name`, the prefix a DNS-1123
/// subdomain).
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && let Some(why) = dns_subdomain_problem(prefix)
    {
        return Some(format!(
            "the prefix {prefix:?} is not a DNS-1123 subdomain: {why}"
        ));
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    qualified_part_problem(name).map(|why| format!("the name part: {why}"))
}

/// Why `value` is not a valid label value (empty is valid).
pub fn label_value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return None;
    }
    qualified_part_problem(value)
}

/// Largest total size of an object's annotations, keys and values (256 KiB).
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_kind_s_rule() {
        assert_eq!(rule_for("v1", "Namespace"), NameRule::Label);
        assert_eq!(rule_for("kubeflow.org/v1", "Profile"), NameRule::Label);
        assert_eq!(rule_for("v1", "ConfigMap"), NameRule::Subdomain);
        assert_eq!(
            rule_for("rbac.authorization.k8s.io/v1", "ClusterRole"),
            NameRule::PathSegment
        );
        assert!(name_problem(NameRule::Subdomain, "a.b-c").is_none());
        assert!(name_problem(NameRule::Label, "a.b").is_some());
        assert!(name_problem(NameRule::PathSegment, "system:admin").is_none());
        assert!(name_problem(NameRule::PathSegment, "a/b").is_some());
        assert!(label_key_problem("app.kubernetes.io/name").is_none());
        assert!(label_key_problem("Bad_Prefix/x").is_some());
        assert!(label_value_problem("").is_none());
        assert!(label_value_problem("-x").is_some());
    }
}
