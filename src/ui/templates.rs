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
  rules:
    - match: docker.io/library/*
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
  version: 1.33.2
  strategy:
    maxUnavailable: 1
    drainTimeoutSeconds: 300
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
  namespace: team-namespace
spec:
  registry: registry.example.org
  usernameSecretRef: { name: registry-login, key: username }
  passwordSecretRef: { name: registry-login, key: password }
",
    },
];

/// A path for a new `template` file that is not in `existing`.
pub fn new_path(template: &Template, existing: &[String]) -> String {
    let stem = format!(
        "{}/new-{}",
        template.folder,
        template.kind.to_ascii_lowercase()
    );
    let mut path = format!("{stem}.yaml");
    let mut n = 2;
    while existing.contains(&path) {
        path = format!("{stem}-{n}.yaml");
        n += 1;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_paths_do_not_clash() {
        let t = &TEMPLATES[0];
        let first = new_path(t, &[]);
        assert_eq!(first, "desired/profiles/new-profile.yaml");
        assert_eq!(new_path(t, &[first]), "desired/profiles/new-profile-2.yaml");
    }
}
