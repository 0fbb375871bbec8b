//! The generated CRDs served by the sim: stock kubectl applies them, then real Kubeflow
//! Profiles and PodDefaults, and lists them with the CRDs' columns.

use crate::common;

use common::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_the_crds_and_real_kubeflow_yaml() {
    let sim = Sim::start(0).await;
    let root = env!("CARGO_MANIFEST_DIR");
    sim.ok(&["apply", "-f", &format!("{root}/assets/crds/crds.yaml")])
        .await;
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubeflow-user\n",
    )
    .await;
    let fixtures = format!("{root}/tests/fixtures/kubeflow");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        // Kubeflow's documentation leaves the namespace and a profile name as placeholders.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("<YOUR_USER_PROFILE_NAMESPACE>", "kubeflow-user")
            .replace("profileName", "profile-name")
            .replace("MY_PROFILE_NAMESPACE", "kubeflow-user");
        let args: &[&str] = if text.contains("kind: PodDefault") {
            &["apply", "-n", "kubeflow-user", "-f", "-"]
        } else {
            &["apply", "-f", "-"]
        };
        sim.ok_stdin(args, &text).await;
    }
    let profiles = sim.ok(&["get", "profiles", "-o", "name"]).await;
    assert_eq!(profiles.lines().count(), 4, "{profiles}");
    let pd = sim.ok(&["get", "poddefaults", "-A", "-o", "name"]).await;
    assert_eq!(pd.lines().count(), 2, "{pd}");
    // The schema refuses a Profile whose owner kind is not User or Group.
    let bad = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: bad\nspec:\n  owner:\n    kind: Robot\n    name: r2\n";
    let out = sim
        .kubectl_with(&["apply", "-f", "-"], Some(bad), &[])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spec.owner.kind"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
