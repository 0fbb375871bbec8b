//! The profile family of controllers: desired objects for three Profiles and the edge cases.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, Namespace, ResourceQuota, ResourceQuotaSpec, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use orbdeck::controllers::Warning;
use orbdeck::controllers::addons::desired as addons;
use orbdeck::controllers::pod_settings::desired as pod_settings;
use orbdeck::controllers::profiles::desired::{Inputs, desired_children};
use orbdeck::controllers::profiles::namespace as profile;
use orbdeck::controllers::profiles::quotas::Source;
use orbdeck::controllers::profiles::{
    authorization, limitrange, network_policies, notebook_defaults, quotas,
};
use orbdeck::model::{
    AddonTemplate, AddonTemplateSpec, AuthorizationSettings, NetworkPolicySettings, OwnerKind,
    PodDefault, PodModifiers, PodSetting, PodSettingSpec, Profile, ProfileOwner, ProfileSettings,
    ProfileSpec,
};
use serde_json::{Value, json};

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn make_profile(name: &str, kind: OwnerKind, owner: &str, labels: &[(&str, &str)]) -> Profile {
    let mut p = Profile::new(
        name,
        ProfileSpec {
            owner: ProfileOwner {
                kind,
                name: owner.into(),
                api_group: Some("rbac.authorization.k8s.io".into()),
            },
            plugins: None,
            resource_quota_spec: None,
        },
    );
    p.metadata.uid = Some(format!("uid-{name}"));
    if !labels.is_empty() {
        p.metadata.labels = Some(strings(labels));
    }
    p
}

/// Owned by a user; gpu and cpu label overrides, a spec quota, and two bad labels.
fn alice() -> Profile {
    let mut p = make_profile(
        "alice",
        OwnerKind::User,
        "alice@example.com",
        &[
            ("quotas.statcan.gc.ca/gpu", "4"),
            ("quotas.statcan.gc.ca/requests.cpu", "16"),
            ("quotas.statcan.gc.ca/limits.cpu", "32"),
            ("quotas.statcan.gc.ca/requests.memory", "lots"),
            ("quotas.statcan.gc.ca/services.nodeports", "1.5"),
            ("team", "data"),
        ],
    );
    p.spec.resource_quota_spec = Some(ResourceQuotaSpec {
        hard: Some(BTreeMap::from([
            ("limits.memory".to_owned(), K8sQuantity("128Gi".into())),
            ("pods".to_owned(), K8sQuantity("50".into())),
        ])),
        ..ResourceQuotaSpec::default()
    });
    p
}

/// Owned by a group.
fn team() -> Profile {
    make_profile("team-data", OwnerKind::Group, "data-team", &[])
}

/// Nothing special.
fn bob() -> Profile {
    make_profile("bob", OwnerKind::User, "bob@example.com", &[])
}

fn children(p: &Profile, settings: &ProfileSettings) -> (Vec<Value>, Vec<Warning>) {
    let collaborators = vec!["carol@example.com".to_owned()];
    desired_children(
        p,
        &Inputs {
            settings,
            network: &NetworkPolicySettings::default(),
            authorization: &AuthorizationSettings::default(),
            istio: true,
            collaborators: &collaborators,
        },
    )
}

fn kind_name(v: &Value) -> (String, String) {
    (
        v["kind"].as_str().unwrap().to_owned(),
        v["metadata"]["name"].as_str().unwrap().to_owned(),
    )
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn expected_kinds_names(ns: &str, support: bool) -> Vec<(String, String)> {
    let mut want = vec![
        ("Namespace", ns),
        ("ServiceAccount", "default-editor"),
        ("ServiceAccount", "default-viewer"),
        ("RoleBinding", "default-editor"),
        ("RoleBinding", "default-viewer"),
        ("RoleBinding", "namespaceAdmin"),
        ("RoleBinding", "ml-pipeline"),
    ];
    if support {
        want.push(("RoleBinding", "profile-support"));
    }
    want.extend([
        ("ResourceQuota", "quotas"),
        ("LimitRange", "default-container-limits"),
        ("NetworkPolicy", "notebooks-allow-system-to-notebook"),
        ("NetworkPolicy", "allow-ingress-from-knative-serving"),
        ("NetworkPolicy", "allow-egress-to-cluster-local-gateway"),
        ("NetworkPolicy", "notebooks-unclassified-allow-egress"),
        (
            "NetworkPolicy",
            "notebooks-unclassified-allow-egress-to-ingress-gateway",
        ),
        ("NetworkPolicy", "notebooks-protected-b-allow-https-egress"),
        ("NetworkPolicy", "namespace-vault-egress"),
        ("NetworkPolicy", "notebooks-unclassified-pipelines-egress"),
        ("NetworkPolicy", "unclassified-elasticsearch-egress"),
        ("NetworkPolicy", "protected-b-jfrog-egress"),
        ("PodDefault", "protected-b"),
        ("AuthorizationPolicy", "ns-owner-access-istio"),
        ("AuthorizationPolicy", "protected-b-block-upload-download"),
    ]);
    want.into_iter()
        .map(|(k, n)| (k.to_owned(), n.to_owned()))
        .collect()
}

#[test]
fn three_profiles_yield_exactly_the_expected_children() {
    let settings = ProfileSettings::default();
    for p in [alice(), team(), bob()] {
        let ns = p.metadata.name.clone().unwrap();
        let (objects, _) = children(&p, &settings);
        let got: Vec<_> = objects.iter().map(kind_name).collect();
        assert_eq!(got, expected_kinds_names(&ns, true), "profile {ns}");
        for o in &objects {
            let meta = &o["metadata"];
            assert_eq!(meta["labels"]["app.kubernetes.io/managed-by"], "orbdeck");
            assert_eq!(meta["labels"]["orbdeck.io/profile"], ns.as_str());
            assert_eq!(
                meta["ownerReferences"],
                json!([{"apiVersion": "kubeflow.org/v1", "blockOwnerDeletion": true,
                        "controller": true, "kind": "Profile", "name": ns,
                        "uid": format!("uid-{ns}")}]),
                "{:?}",
                kind_name(o)
            );
            if o["kind"] == "Namespace" {
                assert!(meta.get("namespace").is_none());
            } else {
                assert_eq!(meta["namespace"], ns.as_str(), "{:?}", kind_name(o));
            }
        }
    }
}

#[test]
fn without_istio_or_support_groups_those_children_are_not_wanted() {
    let settings = ProfileSettings {
        support_groups: vec![],
        ..ProfileSettings::default()
    };
    let p = bob();
    let (objects, _) = desired_children(
        &p,
        &Inputs {
            settings: &settings,
            network: &NetworkPolicySettings::default(),
            authorization: &AuthorizationSettings::default(),
            istio: false,
            collaborators: &[],
        },
    );
    let mut want = expected_kinds_names("bob", false);
    want.retain(|(k, _)| k != "AuthorizationPolicy");
    assert_eq!(objects.iter().map(kind_name).collect::<Vec<_>>(), want);
}

#[test]
fn children_are_deterministic_and_match_their_typed_kinds() {
    let settings = ProfileSettings::default();
    for p in [alice(), team(), bob()] {
        let (a, wa) = children(&p, &settings);
        let (b, wb) = children(&p, &settings);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(wa, wb);
        // A typo in a field name would be dropped by the typed round trip.
        for o in &a {
            let back = match o["kind"].as_str().unwrap() {
                "Namespace" => roundtrip::<Namespace>(o),
                "ServiceAccount" => roundtrip::<ServiceAccount>(o),
                "RoleBinding" => roundtrip::<RoleBinding>(o),
                "ResourceQuota" => roundtrip::<ResourceQuota>(o),
                "LimitRange" => roundtrip::<LimitRange>(o),
                "NetworkPolicy" => roundtrip::<NetworkPolicy>(o),
                "PodDefault" => roundtrip::<PodDefault>(o),
                _ => o.clone(),
            };
            assert_eq!(&back, o);
        }
    }
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
    serde_json::to_value(serde_json::from_value::<T>(v.clone()).unwrap()).unwrap()
}

#[test]
fn owner_subjects_are_users_or_groups() {
    let settings = ProfileSettings::default();
    let rbac = "rbac.authorization.k8s.io";
    for (p, kind, name) in [
        (alice(), "User", "alice@example.com"),
        (team(), "Group", "data-team"),
    ] {
        let objects = profile::children(&p, &settings);
        let admin = find(&objects, "RoleBinding", "namespaceAdmin");
        assert_eq!(
            admin["subjects"],
            json!([{"apiGroup": rbac, "kind": kind, "name": name}])
        );
        assert_eq!(
            admin["roleRef"],
            json!({"apiGroup": rbac, "kind": "ClusterRole", "name": "kubeflow-admin"})
        );
        assert_eq!(
            admin["metadata"]["annotations"],
            json!({"role": "admin", "user": name})
        );
        let pipelines = find(&objects, "RoleBinding", "ml-pipeline");
        assert_eq!(pipelines["subjects"], admin["subjects"]);
        assert_eq!(pipelines["roleRef"]["name"], "ml-pipeline");
        let ns = find(&objects, "Namespace", p.metadata.name.as_deref().unwrap());
        assert_eq!(ns["metadata"]["annotations"], json!({"owner": name}));
    }
    let objects = profile::children(&team(), &settings);
    let editor = find(&objects, "RoleBinding", "default-editor");
    assert_eq!(
        editor["subjects"],
        json!([{"kind": "ServiceAccount", "name": "default-editor", "namespace": "team-data"}])
    );
    assert_eq!(editor["roleRef"]["name"], "kubeflow-edit");
    let viewer = find(&objects, "RoleBinding", "default-viewer");
    assert_eq!(viewer["roleRef"]["name"], "kubeflow-view");
    let support = find(&objects, "RoleBinding", "profile-support");
    assert_eq!(
        support["subjects"],
        json!([{"apiGroup": rbac, "kind": "Group", "name": "DAaas-AAW-Support"}])
    );
    assert_eq!(support["roleRef"]["name"], "profile-support");
}

#[test]
fn quota_merges_defaults_spec_and_labels_and_keeps_defaults_on_bad_labels() {
    let settings = ProfileSettings::default();
    let (quota, warnings) = quotas::resource_quota(&alice(), &settings);
    assert_eq!(
        quota["spec"]["hard"],
        json!({
            "limits.cpu": "32",
            "limits.memory": "128Gi",
            "pods": "50",
            "requests.cpu": "16",
            "requests.memory": "368G",
            "requests.nvidia.com/gpu": "4",
            "requests.storage": "100T",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        })
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0].reason, "InvalidQuotaLabel");
    assert!(
        warnings[0]
            .message
            .contains("quotas.statcan.gc.ca/requests.memory=\"lots\"")
    );
    assert!(
        warnings[0]
            .message
            .contains("keeping requests.memory=368G (default)")
    );
    assert!(
        warnings[1]
            .message
            .contains("quotas.statcan.gc.ca/services.nodeports=\"1.5\" is not a whole number")
    );

    let sources = quotas::quota_sources(&alice(), &settings);
    let label = |l: &str| Source::Label(format!("quotas.statcan.gc.ca/{l}"));
    assert_eq!(sources["requests.cpu"], label("requests.cpu"));
    assert_eq!(sources["limits.cpu"], label("limits.cpu"));
    assert_eq!(sources["requests.nvidia.com/gpu"], label("gpu"));
    assert_eq!(sources["limits.memory"], Source::ProfileSpec);
    assert_eq!(sources["pods"], Source::ProfileSpec);
    assert_eq!(sources["requests.memory"], Source::Default);
    assert_eq!(sources["services.nodeports"], Source::Default);
    assert_eq!(sources.len(), 9);

    let (plain, none) = quotas::resource_quota(&bob(), &settings);
    assert!(none.is_empty());
    let defaults: BTreeMap<String, Value> = settings
        .quota_defaults
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    assert_eq!(plain["spec"]["hard"], json!(defaults));
    assert!(
        quotas::quota_sources(&bob(), &settings)
            .values()
            .all(|s| *s == Source::Default)
    );
}

#[test]
fn a_bad_gpu_label_is_reported_and_never_becomes_zero() {
    let settings = ProfileSettings::default();
    for bad in ["abc", "0.5", "2Ki5"] {
        let p = make_profile(
            "gpu",
            OwnerKind::User,
            "g@example.com",
            &[("quotas.statcan.gc.ca/gpu", bad)],
        );
        let (quota, warnings) = quotas::resource_quota(&p, &settings);
        assert_eq!(
            quota["spec"]["hard"]["requests.nvidia.com/gpu"], "2",
            "{bad}"
        );
        assert_eq!(warnings.len(), 1, "{bad}: {warnings:?}");
        assert!(
            warnings[0]
                .message
                .contains(&format!("quotas.statcan.gc.ca/gpu={bad:?}"))
        );
    }
    let p = make_profile(
        "typo",
        OwnerKind::User,
        "t@example.com",
        &[("quotas.statcan.gc.ca/request.cpu", "8")],
    );
    let (quota, warnings) = quotas::resource_quota(&p, &settings);
    assert_eq!(quota["spec"]["hard"]["requests.cpu"], "70");
    assert_eq!(warnings[0].reason, "UnknownQuotaLabel");
}

#[test]
fn a_bad_spec_quota_is_reported_and_scopes_are_ignored() {
    let mut p = bob();
    p.spec.resource_quota_spec = Some(ResourceQuotaSpec {
        hard: Some(BTreeMap::from([
            ("requests.cpu".to_owned(), K8sQuantity("-1".into())),
            ("requests.storage".to_owned(), K8sQuantity("5Ti".into())),
        ])),
        scopes: Some(vec!["NotTerminating".into()]),
        ..ResourceQuotaSpec::default()
    });
    let (quota, warnings) = quotas::resource_quota(&p, &ProfileSettings::default());
    assert_eq!(quota["spec"]["hard"]["requests.cpu"], "70");
    assert_eq!(quota["spec"]["hard"]["requests.storage"], "5Ti");
    assert!(quota["spec"].get("scopes").is_none());
    let reasons: Vec<_> = warnings.iter().map(|w| w.reason.as_str()).collect();
    assert_eq!(reasons, ["InvalidQuotaSpec", "IgnoredQuotaScopes"]);
    assert!(
        warnings[0]
            .message
            .contains("is negative; keeping requests.cpu=70 (default)")
    );
}

#[test]
fn limit_range_has_the_default_container_limits() {
    let (lr, warnings) = limitrange::limit_range(&bob(), &ProfileSettings::default());
    assert!(warnings.is_empty());
    assert_eq!(lr["metadata"]["name"], "default-container-limits");
    assert_eq!(
        lr["spec"],
        json!({"limits": [{
            "type": "Container",
            "default": {"cpu": "250m", "memory": "256M"},
            "defaultRequest": {"cpu": "250m", "memory": "256M"},
        }]})
    );
    let mut settings = ProfileSettings::default();
    settings.limit_range.default_cpu = "1".into();
    settings.limit_range.default_request_cpu = "2".into();
    settings.limit_range.default_memory = "big".into();
    let (lr, warnings) = limitrange::limit_range(&bob(), &settings);
    assert_eq!(
        lr["spec"]["limits"][0],
        json!({"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"memory": "256M"}})
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn the_ten_network_policies_have_their_seed_names() {
    let want = [
        "notebooks-allow-system-to-notebook",
        "allow-ingress-from-knative-serving",
        "allow-egress-to-cluster-local-gateway",
        "notebooks-unclassified-allow-egress",
        "notebooks-unclassified-allow-egress-to-ingress-gateway",
        "notebooks-protected-b-allow-https-egress",
        "namespace-vault-egress",
        "notebooks-unclassified-pipelines-egress",
        "unclassified-elasticsearch-egress",
        "protected-b-jfrog-egress",
    ];
    assert_eq!(network_policies::names(), want);
    let policies = network_policies::policies(&team(), &NetworkPolicySettings::default());
    let names: Vec<_> = policies
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want);
}

#[test]
fn network_policy_snapshot() {
    let policies = network_policies::policies(&alice(), &NetworkPolicySettings::default());
    let https = find(
        &policies,
        "NetworkPolicy",
        "notebooks-protected-b-allow-https-egress",
    );
    let expected = r#"{
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {
    "name": "notebooks-protected-b-allow-https-egress",
    "namespace": "alice",
    "labels": {
      "app.kubernetes.io/managed-by": "orbdeck",
      "orbdeck.io/profile": "alice"
    },
    "ownerReferences": [
      {
        "apiVersion": "kubeflow.org/v1",
        "blockOwnerDeletion": true,
        "controller": true,
        "kind": "Profile",
        "name": "alice",
        "uid": "uid-alice"
      }
    ]
  },
  "spec": {
    "podSelector": {
      "matchExpressions": [
        {
          "key": "notebook-name",
          "operator": "Exists"
        },
        {
          "key": "data.statcan.gc.ca/classification",
          "operator": "In",
          "values": [
            "protected-b"
          ]
        }
      ]
    },
    "policyTypes": [
      "Egress"
    ],
    "egress": [
      {
        "ports": [
          {
            "protocol": "TCP",
            "port": 443
          }
        ],
        "to": [
          {
            "ipBlock": {
              "cidr": "0.0.0.0/0",
              "except": [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16"
              ]
            }
          }
        ]
      }
    ]
  }
}"#;
    assert_eq!(serde_json::to_string_pretty(https).unwrap(), expected);

    let vault = find(&policies, "NetworkPolicy", "namespace-vault-egress");
    assert_eq!(
        vault["spec"],
        json!({
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "ports": [{"protocol": "TCP", "port": 8200}],
                "to": [{
                    "namespaceSelector": {"matchLabels": {"namespace.statcan.gc.ca/purpose": "daaas"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/instance": "vault", "component": "server"}},
                }],
            }],
        })
    );
}

#[test]
fn network_policy_settings_parse_with_documented_defaults() {
    let s: NetworkPolicySettings =
        serde_json::from_value(json!({"artifactory": {"pods": {"app": "artifactory"}, "ports": [8082]}, "notebookPort": "8888"}))
            .unwrap();
    assert_eq!(s.vault, NetworkPolicySettings::default().vault);
    let policies = network_policies::policies(&bob(), &s);
    let jfrog = find(&policies, "NetworkPolicy", "protected-b-jfrog-egress");
    assert_eq!(
        jfrog["spec"]["egress"][0]["ports"],
        json!([{"protocol": "TCP", "port": 8082}])
    );
    assert_eq!(
        jfrog["spec"]["egress"][0]["to"][0]["podSelector"],
        json!({"matchLabels": {"app": "artifactory"}})
    );
    let ingress = find(
        &policies,
        "NetworkPolicy",
        "notebooks-allow-system-to-notebook",
    );
    assert_eq!(ingress["spec"]["ingress"][0]["ports"][0]["port"], 8888);
    assert!(serde_json::from_value::<NetworkPolicySettings>(json!({"vualt": {}})).is_err());
}

#[test]
fn empty_namespace_label_values_remove_the_label() {
    let mut settings = ProfileSettings::default();
    settings
        .namespace_labels
        .insert("istio-injection".into(), String::new());
    let ns = profile::namespace(&bob(), &settings);
    assert_eq!(
        ns["metadata"]["labels"],
        json!({
            "app.kubernetes.io/managed-by": "orbdeck",
            "app.kubernetes.io/part-of": "kubeflow-profile",
            "katib.kubeflow.org/metrics-collector-injection": "enabled",
            "orbdeck.io/profile": "bob",
            "pipelines.kubeflow.org/enabled": "true",
            "serving.kubeflow.org/inferenceservice": "enabled",
        })
    );
    assert_eq!(profile::removed_labels(&settings), vec!["istio-injection"]);
    let ns = profile::namespace(&bob(), &ProfileSettings::default());
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
    assert!(profile::removed_labels(&ProfileSettings::default()).is_empty());
}

#[test]
fn a_namespace_is_adopted_only_when_its_owner_matches() {
    let p = bob();
    let owned = json!({"metadata": {"name": "bob", "annotations": {"owner": "bob@example.com"}}});
    assert_eq!(profile::adoptable(&owned, &p), Ok(()));
    let other =
        json!({"metadata": {"name": "bob", "annotations": {"owner": "mallory@example.com"}}});
    let err = profile::adoptable(&other, &p).unwrap_err();
    assert!(
        err.contains("mallory@example.com") && err.contains("bob@example.com"),
        "{err}"
    );
    let bare = json!({"metadata": {"name": "bob"}});
    assert!(
        profile::adoptable(&bare, &p)
            .unwrap_err()
            .contains("without")
    );
    // Ours already (the owner changed since): kept.
    let ours = json!({"metadata": {"name": "bob", "annotations": {"owner": "old@example.com"},
        "ownerReferences": [{"apiVersion": "kubeflow.org/v1", "kind": "Profile", "name": "bob", "uid": "uid-bob"}]}});
    assert_eq!(profile::adoptable(&ours, &p), Ok(()));
    let foreign = json!({"metadata": {"name": "bob", "annotations": {"owner": "old@example.com"},
        "ownerReferences": [{"apiVersion": "kubeflow.org/v1", "kind": "Profile", "name": "bob", "uid": "uid-other"}]}});
    assert!(profile::adoptable(&foreign, &p).is_err());
}

#[test]
fn a_profile_without_uid_gets_labels_but_no_owner_reference() {
    let mut p = bob();
    p.metadata.uid = None;
    for o in profile::children(&p, &ProfileSettings::default()) {
        assert!(o["metadata"].get("ownerReferences").is_none());
        assert_eq!(o["metadata"]["labels"]["orbdeck.io/profile"], "bob");
    }
}

#[test]
fn protected_b_poddefault() {
    let pd = notebook_defaults::protected_b(&alice());
    assert_eq!(pd["apiVersion"], "kubeflow.org/v1alpha1");
    assert_eq!(pd["metadata"]["namespace"], "alice");
    assert_eq!(
        pd["spec"]["selector"],
        json!({"matchLabels": {"notebook.statcan.gc.ca/protected-b": "true"}})
    );
    assert_eq!(
        pd["spec"]["labels"],
        json!({"data.statcan.gc.ca/classification": "protected-b"})
    );
    assert!(pd["spec"]["desc"].as_str().unwrap().contains("Protected B"));
}

fn pod_setting(labels: &[(&str, &str)]) -> PodSetting {
    let mut s = PodSetting::new(
        "gpu-env",
        PodSettingSpec {
            selector: LabelSelector {
                match_labels: Some(strings(&[("gpu", "true")])),
                ..LabelSelector::default()
            },
            desc: "GPU environment".into(),
            modifiers: PodModifiers {
                labels: Some(strings(&[("team", "data")])),
                service_account_name: Some("runner".into()),
                ..PodModifiers::default()
            },
            ..PodSettingSpec::default()
        },
    );
    s.metadata.namespace = Some("team-data".into());
    s.metadata.uid = Some("uid-ps".into());
    if !labels.is_empty() {
        s.metadata.labels = Some(strings(labels));
    }
    s
}

#[test]
fn pod_settings_become_pod_defaults_unless_opted_out() {
    let pd = pod_settings::poddefault_for(&pod_setting(&[])).unwrap();
    assert_eq!(
        pd,
        json!({
            "apiVersion": "kubeflow.org/v1alpha1",
            "kind": "PodDefault",
            "metadata": {
                "labels": {"app.kubernetes.io/managed-by": "orbdeck", "orbdeck.io/podsetting": "gpu-env"},
                "name": "gpu-env",
                "namespace": "team-data",
                "ownerReferences": [{"apiVersion": "orbdeck.io/v1alpha1", "blockOwnerDeletion": true,
                    "controller": true, "kind": "PodSetting", "name": "gpu-env", "uid": "uid-ps"}],
            },
            "spec": {
                "selector": {"matchLabels": {"gpu": "true"}},
                "desc": "GPU environment",
                "labels": {"team": "data"},
                "serviceAccountName": "runner",
            },
        })
    );
    assert_eq!(
        pod_settings::poddefault_for(&pod_setting(&[("orbit/disable-watcher", "")])),
        None
    );
    assert_eq!(
        pod_settings::poddefault_for(&pod_setting(&[("orbit/disable-watcher", "true")])),
        None
    );
}

#[test]
fn team_pod_defaults_are_copied_into_member_namespaces() {
    let source = pod_settings::poddefault_for(&pod_setting(&[])).unwrap();
    let mut other = source.clone();
    other["metadata"]["name"] = json!("aaa");
    let mut copy = source.clone();
    copy["metadata"]["name"] = json!("from-elsewhere");
    copy["metadata"]["labels"]["orbdeck.io/copied-from"] = json!("x");
    let members = vec![
        "bob".to_owned(),
        "alice".to_owned(),
        "team-data".to_owned(),
        "bob".to_owned(),
    ];
    let copies =
        pod_settings::copies_for_members("team-data", &[source.clone(), other, copy], &members);
    let where_: Vec<_> = copies
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["metadata"]["namespace"].as_str().unwrap(),
                c["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        where_,
        ["alice/aaa", "alice/gpu-env", "bob/aaa", "bob/gpu-env"]
    );
    let c = &copies[1];
    assert_eq!(
        c["metadata"]["labels"]["orbdeck.io/copied-from"],
        "team-data"
    );
    assert_eq!(
        c["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "orbdeck"
    );
    assert!(c["metadata"].get("ownerReferences").is_none());
    assert_eq!(c["spec"], source["spec"]);
}

fn template(name: &str, manifests: &str) -> AddonTemplate {
    AddonTemplate::new(
        name,
        AddonTemplateSpec {
            namespace_selector: LabelSelector::default(),
            manifests: manifests.into(),
            environment: None,
        },
    )
}

#[test]
fn addons_render_with_placeholders() {
    let t = template(
        "gitea",
        "# a comment before the first document\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gitea-{{namespace}}\ndata:\n  owner: \"{{ owner }}\"\n  keep: \"{{other}}\"\n---\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: gitea-{{namespace}}\n  labels:\n    app: gitea\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects:\n- {kind: User, name: {{owner}}}\n",
    );
    let objects = addons::render(&t, "alice", "alice@example.com").unwrap();
    assert_eq!(objects.len(), 2);
    assert_eq!(
        objects[0],
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "gitea-alice",
                "namespace": "alice",
                "labels": {
                    "orbdeck.io/addon": "gitea",
                    "orbdeck.io/addon-namespace": "alice",
                    "app.kubernetes.io/managed-by": "orbdeck",
                },
            },
            "data": {"owner": "alice@example.com", "keep": "{{other}}"},
        })
    );
    let crb = &objects[1];
    assert!(crb["metadata"].get("namespace").is_none());
    assert_eq!(crb["metadata"]["labels"]["app"], "gitea");
    assert_eq!(crb["metadata"]["labels"]["orbdeck.io/addon"], "gitea");
    assert_eq!(crb["subjects"][0]["name"], "alice@example.com");
}

#[test]
fn addon_errors_name_the_template_and_document() {
    let t = template(
        "broken",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: [unclosed\n",
    );
    let err = addons::render(&t, "alice", "alice@example.com").unwrap_err();
    assert!(
        err.starts_with("add-on template broken, document 2, line "),
        "{err}"
    );
    let t = template("nameless", "apiVersion: v1\nkind: ConfigMap\n");
    let err = addons::render(&t, "alice", "a").unwrap_err();
    assert!(
        err.contains("nameless, document 1") && err.contains("metadata.name"),
        "{err}"
    );
    let t = template(
        "ok",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let err = addons::render(&t, "alice", "evil\"\n  injected: true").unwrap_err();
    assert!(err.contains("owner"), "{err}");
    // A namespace without an owner annotation renders with an empty owner.
    let t = template(
        "owned",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {owner: \"{{owner}}\"}\n",
    );
    let objects = addons::render(&t, "alice", "").unwrap();
    assert_eq!(objects[0]["data"]["owner"], "");
}

#[test]
fn collaborators_come_from_role_edit_bindings() {
    let rb = |annotations: Value, subjects: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "x", "annotations": annotations}, "subjects": subjects})
    };
    let bindings = [
        rb(
            json!({"role": "edit", "user": "dave@example.com"}),
            json!([]),
        ),
        rb(
            json!({"role": "edit"}),
            json!([{"kind": "User", "name": "carol@example.com"}, {"kind": "Group", "name": "g"}]),
        ),
        rb(
            json!({"role": "view", "user": "vic@example.com"}),
            json!([]),
        ),
        rb(
            json!({"role": "admin", "user": "bob@example.com"}),
            json!([]),
        ),
        rb(
            json!({"role": "edit", "user": "carol@example.com"}),
            json!([]),
        ),
        json!({"metadata": {"name": "plain"}}),
    ];
    let users = authorization::collaborators(&bindings);
    assert_eq!(users, ["carol@example.com", "dave@example.com"]);

    let policies = authorization::policies(&bob(), &users, &AuthorizationSettings::default());
    let owner = find(&policies, "AuthorizationPolicy", "ns-owner-access-istio");
    assert_eq!(owner["apiVersion"], "security.istio.io/v1beta1");
    assert_eq!(
        owner["spec"],
        json!({
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}}],
                    "when": [{"key": "request.headers[kubeflow-userid]",
                              "values": ["bob@example.com", "carol@example.com", "dave@example.com"]}],
                },
                {"when": [{"key": "source.namespace", "values": ["bob"]}]},
                {"to": [{"operation": {"paths": ["/healthz", "/metrics", "/wait-for-drain"]}}]},
            ],
        })
    );
    let block = find(
        &policies,
        "AuthorizationPolicy",
        "protected-b-block-upload-download",
    );
    assert_eq!(block["spec"]["action"], "DENY");
    assert_eq!(
        block["spec"]["selector"],
        json!({"matchLabels": {"data.statcan.gc.ca/classification": "protected-b"}})
    );
    assert_eq!(
        block["spec"]["rules"][0]["to"][2],
        json!({"operation": {"methods": ["GET"], "paths": ["/notebook/bob/{*}/files/{**}"]}})
    );
    assert_eq!(
        authorization::names(),
        ["ns-owner-access-istio", "protected-b-block-upload-download"]
    );
}
