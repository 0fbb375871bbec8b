//! The pure part of image replication (seed 000's pod-image-updater): which policy covers an
//! image reference, where its copy goes, the ImageReplication that asks for the copy, and the
//! rewrite of one pod at admission. No API calls, no registry: unit-tested here.

use crate::model::{ImageReplicationPolicy, SwapPolicy};
use crate::wellknown::ENGINE_NAMESPACE;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};
use oci_client::Reference;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Annotation recording the images a pod had before admission (JSON map container → image).
pub const ORIGINAL_IMAGES_ANNOTATION: &str = "orbdeck.io/original-images";
/// Pod label that keeps a pod's images as they are (`"false"`).
pub const REPLICATE_LABEL: &str = "orbdeck.io/replicate";
/// Label on an ImageReplication naming its policy.
pub const POLICY_LABEL: &str = "orbdeck.io/image-replication-policy";
/// Annotation on an ImageReplication asking for another round of attempts (any new value).
pub const RETRY_ANNOTATION: &str = "orbdeck.io/retry";

/// The container lists of a pod's spec, in the order they are looked at.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// One image copy wanted: the ImageReplication's name and spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Its name: derived from a hash of source and destination, so asking twice (or from two
    /// webhook replicas) names the same object.
    pub name: String,
    /// Normalised source reference.
    pub source: String,
    /// Destination reference.
    pub destination: String,
    /// The policy asking for it.
    pub policy: String,
}

impl Wanted {
    /// The ImageReplication object (in the engine's namespace).
    pub fn object(&self) -> Value {
        json!({
            "apiVersion": "orbdeck.io/v1alpha1",
            "kind": "ImageReplication",
            "metadata": {
                "name": self.name,
                "namespace": ENGINE_NAMESPACE,
                "labels": {
                    crate::controllers::MANAGED_BY_LABEL: crate::controllers::MANAGER,
                    POLICY_LABEL: self.policy,
                },
            },
            "spec": {
                "source": self.source,
                "destination": self.destination,
                "policy": self.policy,
            },
        })
    }
}

/// The outcome of one pod's admission.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rewrite {
    /// The pod as admitted (equal to the input when nothing changed).
    pub pod: Value,
    /// Copies to ask for (one per distinct image, also when the pod keeps its image).
    pub wanted: Vec<Wanted>,
    /// Problems to report: references that do not parse, copies that could not be named.
    pub problems: Vec<String>,
}

/// A policy's view of one image: where it goes (`TARGET/PREFIX/REGISTRY/REPOSITORY[:TAG][@DIGEST]`),
/// or `None` when the policy does not cover it.
pub fn destination(policy: &ImageReplicationPolicy, image: &Reference) -> Option<String> {
    let spec = &policy.spec;
    let target = spec.target_registry.trim_end_matches('/');
    let whole = image.whole();
    // An image already in the target (a copy, or pushed there) is never copied again.
    if whole.starts_with(&format!("{target}/")) {
        return None;
    }
    let included = spec.include.is_empty() || spec.include.iter().any(|p| glob(p, &whole));
    if !included || spec.exclude.iter().any(|p| glob(p, &whole)) {
        return None;
    }
    // A port's colon cannot be in a path component: `host:5000` becomes `host_5000`.
    let registry = image.registry().replace(':', "_");
    let mut out = format!("{target}/{registry}/{}", image.repository());
    if let Some(tag) = image.tag() {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = image.digest() {
        out.push('@');
        out.push_str(digest);
    }
    Some(out)
}

/// Whether `pattern` (`*` any text, `?` one character) matches all of `text`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The ImageReplication name for a copy: the image's last path component (as a DNS label) and
/// a hash of source and destination.
pub fn replication_name(source: &str, destination: &str) -> String {
    let hash = Sha256::digest(format!("{source}\n{destination}").as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let repo = source
        .split(['@', ':'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let mut base: String = repo
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    base = base.trim_matches('-').to_owned();
    if base.is_empty() {
        format!("image-{hex}")
    } else {
        format!("{base}-{hex}")
    }
}

/// Whether a policy looks at pods of a namespace with `labels` (no selector: every namespace).
/// A selector that does not parse selects nothing.
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let parsed: Result<Selector, _> = selector.clone().try_into();
    parsed.is_ok_and(|s| s.matches(labels))
}

/// The pod as admitted: every container, initContainer and ephemeral container image that a
/// policy (the first by name whose namespace selector takes `namespace_labels` and whose
/// patterns cover the image) covers is rewritten to its copy when the policy swaps `always`,
/// or when `present` says the target holds it already (`exists`); the originals are recorded in
/// [`ORIGINAL_IMAGES_ANNOTATION`]. A pod labelled [`REPLICATE_LABEL`]`: "false"` is left alone.
/// References that do not parse are left as they are and reported. Never panics.
pub fn rewrite(
    pod: &Value,
    policies: &[Arc<ImageReplicationPolicy>],
    namespace_labels: &BTreeMap<String, String>,
    present: &dyn Fn(&str) -> bool,
) -> Rewrite {
    let mut out = Rewrite {
        pod: pod.clone(),
        ..Default::default()
    };
    let skip = pod
        .pointer(&format!(
            "/metadata/labels/{}",
            REPLICATE_LABEL.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        == Some("false");
    if skip {
        return out;
    }
    let mut policies: Vec<&Arc<ImageReplicationPolicy>> = policies
        .iter()
        .filter(|p| selects(p.spec.namespace_selector.as_ref(), namespace_labels))
        .collect();
    policies.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if policies.is_empty() {
        return out;
    }
    let mut originals = Map::new();
    for list in CONTAINER_LISTS {
        let Some(containers) = out
            .pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for container in containers.iter_mut() {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let Some(image) = container.get("image").and_then(Value::as_str) else {
                continue;
            };
            let image = image.to_owned();
            let reference: Reference = match image.parse() {
                Ok(r) => r,
                Err(e) => {
                    out.problems.push(format!(
                        "container {name:?}: image {image:?} is not a valid reference ({e}); left as it is"
                    ));
                    continue;
                }
            };
            let found = policies
                .iter()
                .find_map(|p| destination(p, &reference).map(|d| (p, d)));
            let Some((policy, dest)) = found else {
                continue;
            };
            if dest.parse::<Reference>().is_err() {
                out.problems.push(format!(
                    "container {name:?}: the copy of {image:?} would be {dest:?}, which is no valid reference (too long?); left as it is"
                ));
                continue;
            }
            let source = reference.whole();
            let policy_name = policy.metadata.name.clone().unwrap_or_default();
            if !out.wanted.iter().any(|w| w.destination == dest) {
                out.wanted.push(Wanted {
                    name: replication_name(&source, &dest),
                    source,
                    destination: dest.clone(),
                    policy: policy_name,
                });
            }
            let swap = match policy.spec.swap {
                SwapPolicy::Always => true,
                SwapPolicy::Exists => present(&dest),
            };
            if swap {
                container["image"] = Value::String(dest);
                originals.insert(name, Value::String(image));
            }
        }
    }
    if !originals.is_empty() {
        record_originals(&mut out.pod, originals);
    }
    out
}

/// Adds `originals` to the pod's [`ORIGINAL_IMAGES_ANNOTATION`] (keeping entries already there).
fn record_originals(pod: &mut Value, originals: Map<String, Value>) {
    let Some(pod) = pod.as_object_mut() else {
        return;
    };
    let meta = pod.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    let Some(annotations) = annotations.as_object_mut() else {
        return;
    };
    let mut all: Map<String, Value> = annotations
        .get(ORIGINAL_IMAGES_ANNOTATION)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    for (k, v) in originals {
        all.entry(k).or_insert(v);
    }
    annotations.insert(
        ORIGINAL_IMAGES_ANNOTATION.into(),
        Value::String(Value::Object(all).to_string()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImageReplicationPolicySpec;

    fn policy(name: &str, swap: SwapPolicy, include: &[&str]) -> Arc<ImageReplicationPolicy> {
        let spec: ImageReplicationPolicySpec = serde_json::from_value(json!({
            "targetRegistry": "mirror.local:5000/m",
            "include": include,
        }))
        .unwrap();
        let mut p = ImageReplicationPolicy::new(name, spec);
        p.spec.swap = swap;
        Arc::new(p)
    }

    fn pod(containers: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": containers})
    }

    fn never(_: &str) -> bool {
        false
    }

    #[test]
    fn always_rewrites_normalised_and_records_the_originals() {
        let p = pod(json!({"containers": [
            {"name": "web", "image": "nginx"},
            {"name": "side", "image": "nginx:latest"},
            {"name": "own", "image": "mirror.local:5000/m/docker.io/library/x:1"},
        ]}));
        let r = rewrite(
            &p,
            &[policy("a", SwapPolicy::Always, &[])],
            &BTreeMap::new(),
            &never,
        );
        let dest = "mirror.local:5000/m/docker.io/library/nginx:latest";
        assert_eq!(r.pod["spec"]["containers"][0]["image"], dest);
        assert_eq!(r.pod["spec"]["containers"][1]["image"], dest);
        // Already in the target: left alone.
        assert_eq!(
            r.pod["spec"]["containers"][2]["image"],
            "mirror.local:5000/m/docker.io/library/x:1"
        );
        let originals: Value = serde_json::from_str(
            r.pod["metadata"]["annotations"][ORIGINAL_IMAGES_ANNOTATION]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(originals, json!({"web": "nginx", "side": "nginx:latest"}));
        assert_eq!(r.wanted.len(), 1, "one copy for the two containers");
        assert_eq!(r.wanted[0].source, "docker.io/library/nginx:latest");
        assert_eq!(r.wanted[0].destination, dest);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn exists_swaps_only_what_the_target_holds() {
        let p = pod(json!({"containers": [
            {"name": "a", "image": "quay.io/x/a:1"},
            {"name": "b", "image": "quay.io/x/b:1"},
        ]}));
        let has_a = |d: &str| d == "mirror.local:5000/m/quay.io/x/a:1";
        let r = rewrite(
            &p,
            &[policy("p", SwapPolicy::Exists, &[])],
            &BTreeMap::new(),
            &has_a,
        );
        assert_eq!(
            r.pod["spec"]["containers"][0]["image"],
            "mirror.local:5000/m/quay.io/x/a:1"
        );
        assert_eq!(r.pod["spec"]["containers"][1]["image"], "quay.io/x/b:1");
        assert_eq!(
            r.wanted.len(),
            2,
            "both are copied (the first is found present)"
        );
    }

    #[test]
    fn patterns_selectors_and_the_opt_out_label() {
        let p = pod(json!({"containers": [
            {"name": "a", "image": "docker.io/library/nginx:1.27"},
            {"name": "b", "image": "ghcr.io/x/y:2"},
        ]}));
        let mut only_library = policy("p", SwapPolicy::Always, &["docker.io/library/*"]);
        Arc::make_mut(&mut only_library).spec.exclude = vec!["*:1.26".into()];
        let r = rewrite(&p, &[only_library.clone()], &BTreeMap::new(), &never);
        assert_eq!(
            r.pod["spec"]["containers"][0]["image"],
            "mirror.local:5000/m/docker.io/library/nginx:1.27"
        );
        assert_eq!(r.pod["spec"]["containers"][1]["image"], "ghcr.io/x/y:2");

        let mut selective = only_library.clone();
        Arc::make_mut(&mut selective).spec.namespace_selector =
            Some(serde_json::from_value(json!({"matchLabels": {"mirror": "yes"}})).unwrap());
        let r = rewrite(&p, &[selective.clone()], &BTreeMap::new(), &never);
        assert_eq!(r.pod, p, "a namespace the selector does not take");
        let labels = BTreeMap::from([("mirror".to_owned(), "yes".to_owned())]);
        assert_ne!(rewrite(&p, &[selective], &labels, &never).pod, p);

        let mut opted_out = p.clone();
        opted_out["metadata"]["labels"] = json!({REPLICATE_LABEL: "false"});
        let r = rewrite(&opted_out, &[only_library], &BTreeMap::new(), &never);
        assert_eq!(r.pod, opted_out);
        assert!(r.wanted.is_empty());
    }

    #[test]
    fn odd_pods_never_panic_and_bad_references_are_reported() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let long = format!("registry.example/{}:1", "x".repeat(290));
        let near_limit = format!("registry.example/{}:1", "y".repeat(250));
        let policies = [policy("p", SwapPolicy::Always, &[])];
        let odd = [
            json!({"metadata": {}}),
            json!({"spec": {}}),
            json!({"spec": {"containers": []}}),
            json!({"spec": {"containers": "nonsense"}}),
            json!({"spec": {"containers": [{"name": "x"}, {"image": 7}, 3]}}),
            json!(null),
            pod(json!({"initContainers": [{"name": "init", "image": "busybox"}]})),
            pod(
                json!({"containers": [{"name": "d", "image": format!("host:5000/a/b/c:tag@{digest}")}]}),
            ),
            pod(json!({"containers": [{"name": "u", "image": "Docker.io/Library/NGINX"}]})),
            pod(json!({"containers": [{"name": "l", "image": long}]})),
            pod(json!({"containers": [{"name": "n", "image": near_limit}]})),
            pod(json!({"ephemeralContainers": [{"name": "e", "image": "alpine:3"}]})),
        ];
        let results: Vec<Rewrite> = odd
            .iter()
            .map(|p| rewrite(p, &policies, &BTreeMap::new(), &never))
            .collect();
        assert_eq!(
            results[6].pod["spec"]["initContainers"][0]["image"],
            "mirror.local:5000/m/docker.io/library/busybox:latest"
        );
        assert_eq!(
            results[7].pod["spec"]["containers"][0]["image"],
            format!("mirror.local:5000/m/host_5000/a/b/c:tag@{digest}")
        );
        assert_eq!(results[8].pod, odd[8], "uppercase: left as it is");
        assert!(results[8].problems[0].contains("not a valid reference"));
        assert_eq!(results[9].pod, odd[9], "300 characters: left as it is");
        assert!(!results[9].problems.is_empty());
        assert_eq!(
            results[10].pod, odd[10],
            "its copy's name would be too long"
        );
        assert!(results[10].problems[0].contains("no valid reference"));
        assert_eq!(
            results[11].pod["spec"]["ephemeralContainers"][0]["image"],
            "mirror.local:5000/m/docker.io/library/alpine:3"
        );
        for r in &results[..6] {
            assert!(r.wanted.is_empty() && r.problems.is_empty());
        }
    }

    #[test]
    fn globs() {
        assert!(glob("docker.io/library/*", "docker.io/library/nginx:1"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*/x/*:1", "q.io/x/y:1"));
        assert!(!glob("docker.io/*", "quay.io/docker.io/x"));
    }

    #[test]
    fn names_are_stable_dns_labels() {
        let a = replication_name("docker.io/library/nginx:1", "m/docker.io/library/nginx:1");
        assert_eq!(
            a,
            replication_name("docker.io/library/nginx:1", "m/docker.io/library/nginx:1")
        );
        assert!(a.starts_with("nginx-") && a.len() == 6 + 16, "{a}");
        assert_ne!(a, replication_name("docker.io/library/nginx:2", "m/x:2"));
        assert!(crate::names::is_dns_label(&replication_name("___:1", "d")));
    }
}
