//! Starting points for new desired files, one per kind (`n` in the Desired tab): the kind's
//! name, the folder it goes in, and YAML that validates once the placeholders are filled.

/// A template for a new desired file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// Kind, as shown in the picker.
    pub kind: &'static str,
    /// Folder under the repo root for the new file.
    pub folder: &'static str,
    /// File content.
    pub text: &'static str,
}

/// Every template, in picker order.
pub const TEMPLATES: &[Template] = &[
    Template {
        kind: "Profile",
        folder: "desired/profiles",
        text: "apiVersion: kubeflow.org/v1
kind: Profile
metadata:
  name: new-profile
spec:
  owner:
    kind: User # or Group
    name: someone@example.org
  resourceQuotaSpec:
    hard:
      requests.cpu: \"4\"
      requests.memory: 16Gi
      requests.nvidia.com/gpu: \"0\"
",
    },
    Template {
        kind: "PodSetting",
        folder: "desired/podsettings",
        text: "apiVersion: orbdeck.io/v1alpha1
kind: PodSetting
metadata:
  name: new-podsetting
  namespace: team-namespace
spec:
  desc: What this adds to pods
  selector:
    matchLabels:
      team: example
  env:
    - name: EXAMPLE
      value: \"1\"
",
    },
    Template {
        kind: "ImageReplicationPolicy",
        folder: "desired/replication",
        text: "apiVersion: orbdeck.io/v1alpha1
kind: ImageReplicationPolicy
metadata:
  name: new-policy
spec:
  targetRegistry: registry.example.org/mirror
  include:
    - docker.io/library/*
  swap: exists
  maxAttempts: 3
",
    },
    Template {
        kind: "ClusterUpgrade",
        folder: "desired/upgrades",
        text: "apiVersion: orbdeck.io/v1alpha1
kind: ClusterUpgrade
metadata:
  name: new-upgrade
spec:
  targetVersion: 1.33.2
  strategy:
    maxUnavailable: 1
    drainTimeoutSeconds: 300
    nodeTimeoutSeconds: 900
  # window: {days: [Sat, Sun], start: \"02:00\", end: \"06:00\", timeZone: UTC}
  paused: false
",
    },
    Template {
        kind: "RegistryCredential",
        folder: "desired/registries",
        text: "apiVersion: orbdeck.io/v1alpha1
kind: RegistryCredential
metadata:
  name: new-registry
  namespace: orbdeck-system
spec:
  server: registry.example.org
  username: robot
  passwordSecretRef: { name: registry-login, key: password }
  # namespaceSelector: { matchLabels: { pulls: \"yes\" } }
  excludeNamespaces: [kube-system]
",
    },
];

/// The file of a new `template` object called `name`: `<folder>/<name>.yaml`.
pub fn path_for(template: &Template, name: &str) -> String {
    format!("{}/{name}.yaml", template.folder)
}

/// The template's text with its object named `name` (the first `name:` under `metadata:`).
pub fn with_name(template: &Template, name: &str) -> String {
    let mut out = String::with_capacity(template.text.len() + name.len());
    let mut in_metadata = false;
    let mut done = false;
    for line in template.text.lines() {
        if !done && in_metadata && line.starts_with("  name: ") {
            out.push_str("  name: ");
            out.push_str(name);
            done = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
        in_metadata = line == "metadata:" || (in_metadata && line.starts_with(' '));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_object_gets_its_name_and_its_file() {
        let t = &TEMPLATES[0];
        assert_eq!(path_for(t, "eve"), "desired/profiles/eve.yaml");
        let text = with_name(t, "eve");
        assert!(text.contains("metadata:\n  name: eve\n"), "{text}");
        assert!(!text.contains("new-profile"), "{text}");
        for t in TEMPLATES {
            assert!(with_name(t, "x1").contains("  name: x1\n"), "{}", t.kind);
        }
    }
}
