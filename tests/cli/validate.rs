//! The validation corpus: every bad input is reported at its exact position, valid inputs
//! give no errors, and hostile inputs finish quickly without large allocations or panics.

use orbdeck::validate::{
    Diagnostic, Report, Schemas, Severity, check_duplicates, validate_dir, validate_text,
};
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Counts the bytes allocated by the current thread, to bound what hostile inputs cost.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(bytes)));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the bytes it allocated on this thread.
fn allocated<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

/// A Profile-like non-strict kind and a strict kind of our own group.
struct TestSchemas {
    profile: Value,
    tenant: Value,
}

impl TestSchemas {
    fn new() -> TestSchemas {
        let profile = json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "required": ["owner"],
                    "properties": {
                        "owner": {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string", "enum": ["User", "Group"]},
                                "name": {"type": "string"}
                            }
                        },
                        "resourceQuotaSpec": {
                            "type": "object",
                            "properties": {
                                "hard": {
                                    "type": "object",
                                    "additionalProperties": {
                                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                                        "x-kubernetes-int-or-string": true
                                    }
                                }
                            }
                        },
                        "plugins": {
                            "type": "array",
                            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                        }
                    }
                }
            }
        });
        let tenant = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["owner"],
                    "properties": {
                        "owner": {"type": "string"},
                        "members": {"type": "array", "items": {"type": "string"}},
                        "tier": {"type": "string", "enum": ["gold", "silver"]},
                        "replicas": {"type": "integer"},
                        "note": {"type": "string", "nullable": true}
                    }
                }
            }
        });
        TestSchemas { profile, tenant }
    }
}

impl Schemas for TestSchemas {
    fn schema(&self, api_version: &str, kind: &str) -> Option<&Value> {
        match (api_version, kind) {
            ("kubeflow.org/v1", "Profile") => Some(&self.profile),
            ("orbdeck.io/v1", "Tenant") => Some(&self.tenant),
            _ => None,
        }
    }

    fn strict(&self, api_version: &str) -> bool {
        api_version.starts_with("orbdeck.io/")
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate")
}

/// All diagnostics, one per line, for failure messages.
fn listing(report: &Report) -> String {
    report.diagnostics.iter().fold(String::new(), |mut s, d| {
        let _ = writeln!(s, "  {d}");
        s
    })
}

/// An expected error: file in `bad/`, line, column, field path, part of the message.
type Case = (&'static str, usize, usize, &'static str, &'static str);

const BAD: &[Case] = &[
    ("tabs.yaml", 4, 2, "", "tabs disallowed"),
    (
        "bad-indentation.yaml",
        5,
        3,
        "",
        "did not find expected key",
    ),
    ("unclosed-quote.yaml", 4, 9, "", "unclosed quote"),
    // The parser fails at line 7's `:`; the line to fix is the one without its `: `.
    (
        "key-without-colon.yaml",
        6,
        3,
        "",
        "mapping values are not allowed in this context (the text runs on into line 7",
    ),
    ("unclosed-flow.yaml", 5, 11, "", "unclosed bracket"),
    (
        "second-document-broken.yaml",
        7,
        18,
        "",
        "mismatched bracket",
    ),
    ("unknown-anchor.yaml", 4, 9, "", "unknown anchor"),
    (
        "duplicate-key.yaml",
        6,
        3,
        "metadata.name",
        "duplicate key \"name\" (first defined at line 4)",
    ),
    (
        "complex-key.yaml",
        5,
        5,
        "data",
        "complex (non-scalar) mapping keys",
    ),
    ("bad-merge.yaml", 6, 9, "metadata.labels.<<", "merge key"),
    (
        "bad-tag.yaml",
        5,
        19,
        "spec.replicas",
        "invalid !!int value \"three\"",
    ),
    (
        "non-finite.yaml",
        5,
        13,
        "spec.replicas",
        "not a finite number",
    ),
    ("non-utf8.yaml", 4, 12, "", "not valid UTF-8 (byte 0xe9)"),
    (
        "alias-bomb.yaml",
        9,
        31,
        "data.e[7]",
        "alias expansion exceeds the limit of 100000 nodes",
    ),
    ("top-level-list.yaml", 1, 1, "", "must be a mapping"),
    ("scalar-document.yaml", 1, 1, "", "must be a mapping"),
    ("missing-kind.yaml", 1, 1, "kind", "missing required field"),
    (
        "apiversion-not-string.yaml",
        1,
        13,
        "apiVersion",
        "expected string, got integer",
    ),
    (
        "missing-metadata.yaml",
        1,
        1,
        "metadata.name",
        "missing required field",
    ),
    (
        "missing-name.yaml",
        3,
        1,
        "metadata.name",
        "missing required field",
    ),
    (
        "empty-name.yaml",
        4,
        9,
        "metadata.name",
        "must not be empty",
    ),
    (
        "deployment-wrong-type.yaml",
        6,
        13,
        "spec.replicas",
        "invalid type: string \"three\", expected i32",
    ),
    (
        "deployment-args-integer.yaml",
        13,
        17,
        "spec.template.spec.containers[0].args",
        "expected a sequence",
    ),
    (
        "deployment-bad-quantity.yaml",
        15,
        23,
        "spec.template.spec.containers[0].resources.limits.memory",
        "invalid quantity \"1.5.3Gi\"",
    ),
    (
        "service-port-string.yaml",
        7,
        13,
        "spec.ports[0].port",
        "expected i32",
    ),
    (
        "label-not-string.yaml",
        6,
        11,
        "metadata.labels.tier",
        "expected a string",
    ),
    (
        "pdb-condition-missing-field.yaml",
        12,
        7,
        "status.conditions[0].lastTransitionTime",
        "missing required field",
    ),
    (
        "resourcequota-bad-quantity.yaml",
        6,
        11,
        "spec.hard.pods",
        "invalid quantity \"ten\"",
    ),
    (
        "limitrange-bad-quantity.yaml",
        8,
        14,
        "spec.limits[0].max.cpu",
        "invalid quantity \"2 cores\"",
    ),
    (
        "pvc-bad-quantity.yaml",
        8,
        16,
        "spec.resources.requests.storage",
        "invalid quantity \"10 GB\"",
    ),
    (
        "profile-wrong-type.yaml",
        8,
        11,
        "spec.owner.name",
        "expected string, got array",
    ),
    (
        "profile-bad-enum.yaml",
        7,
        11,
        "spec.owner.kind",
        "expected one of User, Group",
    ),
    (
        "profile-bad-quantity.yaml",
        10,
        21,
        "spec.resourceQuotaSpec.hard[\"requests.cpu\"]",
        "invalid quantity \"12 cores\"",
    ),
    (
        "profile-missing-owner.yaml",
        5,
        1,
        "spec.owner",
        "missing required field",
    ),
    (
        "profile-int-or-string-array.yaml",
        9,
        13,
        "spec.resourceQuotaSpec.hard.pods",
        "expected integer or string, got array",
    ),
    (
        "strict-unknown-field.yaml",
        7,
        3,
        "spec.ownr",
        "unknown field \"ownr\"",
    ),
    (
        "strict-integer-for-string-array.yaml",
        7,
        12,
        "spec.members",
        "expected array, got integer",
    ),
    (
        "strict-bad-item.yaml",
        9,
        7,
        "spec.members[1]",
        "expected string, got object",
    ),
    (
        "duplicate-within.yaml",
        5,
        1,
        "",
        "duplicate object ConfigMap a/same (first defined at duplicate-within.yaml:1)",
    ),
];

fn has_error(
    report: &Report,
    file: &str,
    line: usize,
    column: usize,
    path: &str,
    message: &str,
) -> bool {
    report.diagnostics.iter().any(|d| {
        d.severity == Severity::Error
            && d.file == Path::new(file)
            && (d.line, d.column) == (line, column)
            && d.path == path
            && d.message.contains(message)
    })
}

/// A PodSetting whose container regex does not compile is refused where the regex is (the
/// webhook would skip it): checked with orbdeck's own schemas.
#[test]
fn a_podsetting_container_regex_that_does_not_compile_is_an_error_at_its_line() {
    let file = "podsetting-bad-regex.yaml";
    let bytes = fs::read(fixtures().join("model").join(file)).unwrap();
    let report = validate_text(Path::new(file), &bytes, &orbdeck::validate::ModelSchemas);
    assert!(
        has_error(
            &report,
            file,
            11,
            12,
            "spec.containerSelector.regex",
            "not a regular expression"
        ),
        "{:?}",
        report.diagnostics
    );
}

#[test]
fn bad_corpus_reports_each_problem_at_its_position() {
    let schemas = TestSchemas::new();
    let dir = fixtures().join("bad");
    for &(file, line, column, path, message) in BAD {
        let bytes = fs::read(dir.join(file)).unwrap();
        let mut report = validate_text(Path::new(file), &bytes, &schemas);
        check_duplicates(&mut report);
        assert!(
            has_error(&report, file, line, column, path, message),
            "{file}: expected {line}:{column}: {path}: {message}, got:\n{}",
            listing(&report)
        );
    }
}

#[test]
fn every_bad_file_is_in_the_table() {
    let mut files: Vec<String> = fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = BAD.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(BAD.len() >= 25);
}

#[test]
fn duplicates_across_files_name_the_first() {
    let report = validate_dir(&fixtures().join("bad/duplicates"), &TestSchemas::new());
    assert_eq!(report.errors(), 1, "{}", listing(&report));
    assert!(
        has_error(
            &report,
            "team-b/web.yaml",
            6,
            1,
            "",
            "duplicate object apps/Deployment team-a/web (first defined at team-a/web.yaml:1)"
        ),
        "{}",
        listing(&report)
    );
}

#[test]
fn valid_corpus_has_no_errors() {
    let root = fixtures().join("good");
    let report = validate_dir(&root, &TestSchemas::new());
    assert_eq!(report.errors(), 0, "{}", listing(&report));
    assert!(!report.has_errors());
    assert_eq!(report.objects.len(), 28);
    let warnings: Vec<String> = report
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "desired/misc/unchecked.yaml:3:7: warning: unknown kind example.com/v1 Widget: not checked"
        ]
    );
    // Files in sorted order (apps/batch.yml first), documents in order, lines where they start.
    let first = &report.objects[0];
    assert_eq!(first.file, Path::new("desired/apps/batch.yml"));
    assert_eq!(
        (first.kind.as_str(), first.name.as_str(), first.line),
        ("CronJob", "nightly", 1)
    );
    let web = report
        .objects
        .iter()
        .find(|o| o.kind == "Deployment")
        .unwrap();
    assert_eq!(
        (web.file.as_path(), web.line),
        (Path::new("desired/apps/web.yaml"), 2)
    );
    assert_eq!(web.namespace.as_deref(), Some("team-a"));
    assert_eq!(web.value["spec"]["replicas"], 3);
    let pdb = report
        .objects
        .iter()
        .find(|o| o.kind == "PodDisruptionBudget")
        .unwrap();
    assert_eq!(pdb.line, 42);
    // The merge key was applied, and the explicit key kept.
    let ns = report
        .objects
        .iter()
        .find(|o| o.kind == "Namespace")
        .unwrap();
    assert_eq!(
        ns.value["metadata"]["annotations"],
        json!({"owner": "platform", "managed-by": "orbdeck"})
    );
}

#[test]
fn all_errors_of_a_file_are_reported() {
    let file = "three-problems.yaml";
    let bytes = fs::read(fixtures().join("multi").join(file)).unwrap();
    let report = validate_text(Path::new(file), &bytes, &TestSchemas::new());
    assert_eq!(report.errors(), 3, "{}", listing(&report));
    assert!(has_error(
        &report,
        file,
        6,
        13,
        "spec.replicas",
        "expected i32"
    ));
    assert!(has_error(
        &report,
        file,
        16,
        30,
        "spec.template.spec.containers[0].ports[0].containerPort",
        "expected i32"
    ));
    assert!(has_error(
        &report,
        file,
        19,
        20,
        "spec.template.spec.containers[0].resources.limits.cpu",
        "invalid quantity \"2 cores\""
    ));
}

#[test]
fn unknown_fields_are_warnings_for_builtin_and_errors_for_strict_kinds() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, nmae: x}
spec:
  replica: 3
  template:
    spec:
      containers:
        - {name: a, image: b, imagePullPolicy: 7}
        - {name: c, image: d, extra: 1}
---
apiVersion: kubeflow.org/v1
kind: Profile
metadata: {name: p}
spec:
  owner: {kind: User, name: p}
  extra: 1
---
apiVersion: orbdeck.io/v1
kind: Tenant
metadata: {name: t, nmae: x}
spec: {owner: o, extra: 1}
";
    let report = validate_text(Path::new("w.yaml"), text.as_bytes(), &TestSchemas::new());
    let got: Vec<String> = report
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "w.yaml:3:23: warning: metadata.nmae: unknown field \"nmae\"",
            "w.yaml:5:3: warning: spec.replica: unknown field \"replica\"",
            "w.yaml:9:48: spec.template.spec.containers[0].imagePullPolicy: invalid type: integer `7`, expected a string",
            "w.yaml:10:31: warning: spec.template.spec.containers[1].extra: unknown field \"extra\"",
            "w.yaml:17:3: warning: spec.extra: unknown field \"extra\"",
            "w.yaml:21:21: metadata.nmae: unknown field \"nmae\"",
            "w.yaml:22:18: spec.extra: unknown field \"extra\"",
        ]
    );
    assert_eq!(report.errors(), 3);
    assert_eq!(report.objects.len(), 3);
}

#[test]
fn diagnostics_display_like_compilers() {
    let text = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: Robot\n";
    let file = Path::new("desired/profiles/alice.yaml");
    let report = validate_text(file, text.as_bytes(), &TestSchemas::new());
    assert_eq!(
        report.diagnostics[0].to_string(),
        "desired/profiles/alice.yaml:7:11: spec.owner.kind: expected one of User, Group"
    );
    let unknown = validate_text(
        file,
        b"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        &TestSchemas::new(),
    );
    assert_eq!(
        unknown.diagnostics[0].to_string(),
        "desired/profiles/alice.yaml:2:7: warning: unknown kind example.com/v1 Widget: not checked"
    );
    assert!(!unknown.has_errors());
}

#[test]
fn files_over_ten_mib_are_refused_before_parsing() {
    let mut big =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: \"".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b'x');
    let (report, bytes) =
        allocated(|| validate_text(Path::new("big.yaml"), &big, &TestSchemas::new()));
    assert!(has_error(
        &report,
        "big.yaml",
        1,
        1,
        "",
        "10485761 bytes, larger than the limit"
    ));
    assert!(bytes < 1024 * 1024, "allocated {bytes} bytes");

    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("desired")).unwrap();
    fs::write(dir.path().join("desired/big.yaml"), &big).unwrap();
    let (report, bytes) = allocated(|| validate_dir(dir.path(), &TestSchemas::new()));
    assert!(
        has_error(
            &report,
            "desired/big.yaml",
            1,
            1,
            "",
            "larger than the limit"
        ),
        "{}",
        listing(&report)
    );
    assert!(
        bytes < 1024 * 1024,
        "validate_dir read the file: allocated {bytes} bytes"
    );
}

#[test]
fn deep_nesting_is_refused() {
    // Block mappings: the root is level 1, `data`'s value (line 5) level 2, ... so level 65
    // opens on line 68, indented by 128.
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n");
    for level in 0..200 {
        let _ = writeln!(text, "{}k:", "  ".repeat(level + 1));
    }
    let _ = writeln!(text, "{}v", "  ".repeat(201));
    let (report, bytes) =
        allocated(|| validate_text(Path::new("deep.yaml"), text.as_bytes(), &TestSchemas::new()));
    let path = format!("data{}", ".k".repeat(63));
    assert!(
        has_error(
            &report,
            "deep.yaml",
            68,
            129,
            &path,
            "nesting is deeper than 64 levels"
        ),
        "{}",
        listing(&report)
    );
    assert_eq!(report.errors(), 1);
    assert!(bytes < 16 * 1024 * 1024, "allocated {bytes} bytes");

    // Flow sequences on one line: `[` number 64 (level 65) is at column 67.
    let flow = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
    let (report, bytes) =
        allocated(|| validate_text(Path::new("flow.yaml"), flow.as_bytes(), &TestSchemas::new()));
    let path = format!("a{}", "[0]".repeat(63));
    assert!(
        has_error(&report, "flow.yaml", 1, 67, &path, "nesting is deeper"),
        "{}",
        listing(&report)
    );
    assert!(bytes < 16 * 1024 * 1024, "allocated {bytes} bytes");
}

#[test]
fn alias_bomb_is_cheap() {
    let bytes = fs::read(fixtures().join("bad/alias-bomb.yaml")).unwrap();
    let (report, allocated) =
        allocated(|| validate_text(Path::new("bomb.yaml"), &bytes, &TestSchemas::new()));
    assert_eq!(report.errors(), 1, "{}", listing(&report));
    assert!(allocated < 64 * 1024 * 1024, "allocated {allocated} bytes");
}

/// Truncations and byte substitutions of every fixture never panic.
#[test]
fn mangled_inputs_never_panic() {
    let schemas = TestSchemas::new();
    let mut files = Vec::new();
    let mut dirs = vec![fixtures()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut runs = 0;
    for path in files {
        let bytes = fs::read(&path).unwrap();
        for cut in (0..bytes.len()).step_by(13) {
            validate_text(&path, &bytes[..cut], &schemas);
            runs += 1;
        }
        for at in (0..bytes.len()).step_by(29) {
            for b in [b'\t', b':', b'-', b'[', b'"', b'*', b'\n', 0xc3] {
                let mut mangled = bytes.clone();
                mangled[at] = b;
                validate_text(&path, &mangled, &schemas);
                runs += 1;
            }
        }
    }
    assert!(runs > 1000);
}

#[test]
fn a_bad_image_replication_policy_is_reported_at_each_field() {
    let text = "\
apiVersion: orbdeck.io/v1alpha1
kind: ImageReplicationPolicy
metadata:
  name: mirror
spec:
  targetRegistry: https://registry.example.org/mirror
  swap: sometimes
  include:
    - docker.io/library/*
    - \"docker.io/ nginx\"
  maxAttempts: three
";
    let file = "policy.yaml";
    let report = validate_text(
        Path::new(file),
        text.as_bytes(),
        &orbdeck::validate::ModelSchemas,
    );
    let expected = [
        (6, 19, "spec.targetRegistry", "without a scheme"),
        (7, 9, "spec.swap", "expected one of always, exists"),
        (
            10,
            7,
            "spec.include[1]",
            "never occurs in an image reference",
        ),
        (11, 16, "spec.maxAttempts", "expected integer"),
    ];
    for (line, column, path, message) in expected {
        assert!(
            has_error(&report, file, line, column, path, message),
            "expected {line}:{column}: {path}: {message}, got:\n{}",
            listing(&report)
        );
    }
    assert_eq!(
        report.diagnostics.len(),
        expected.len(),
        "{}",
        listing(&report)
    );
}

#[test]
fn bad_registry_credentials_and_labels_are_reported_at_each_field() {
    let text = "\
apiVersion: orbdeck.io/v1alpha1
kind: RegistryCredential
metadata:
  name: harbor
  namespace: orbdeck-system
spec:
  server: registry.example.com/team
  username: robot
  usernameSecretRef: {name: login, key: user}
  passwordSecretRef: {name: login, key: password}
  secretName: Harbor_Pull
  excludeNamespaces: [kube-system, Bad.Name]
---
apiVersion: orbdeck.io/v1alpha1
kind: RegistryCredential
metadata:
  name: quay
  namespace: orbdeck-system
spec:
  server: quay.io
  passwordSecretRef: {name: login, key: password}
---
apiVersion: orbdeck.io/v1alpha1
kind: ClusterLabel
metadata:
  name: site
spec:
  labels:
    example.com/site: ottawa
    -bad: x
    env: not ok
---
apiVersion: orbdeck.io/v1alpha1
kind: NodePoolLabel
metadata:
  name: gpu
spec:
  pool: gpu pool
  poolLabel: cloud.google.com/gke-nodepool
  labels:
    accelerator: nvidia
";
    let file = "cluster.yaml";
    let report = validate_text(
        Path::new(file),
        text.as_bytes(),
        &orbdeck::validate::ModelSchemas,
    );
    let expected = [
        (7, 11, "spec.server", "without a scheme or path"),
        (9, 3, "spec.usernameSecretRef", "both set: keep one"),
        (11, 15, "spec.secretName", "not a DNS-1123 subdomain"),
        (12, 36, "spec.excludeNamespaces[1]", "not a namespace name"),
        (19, 1, "spec", "a user name is required"),
        (30, 5, "spec.labels.-bad", "not a label key"),
        (31, 10, "spec.labels.env", "not a label value"),
        (38, 9, "spec.pool", "cannot be a pool label's value"),
    ];
    for (line, column, path, message) in expected {
        assert!(
            has_error(&report, file, line, column, path, message),
            "expected {line}:{column}: {path}: {message}, got:\n{}",
            listing(&report)
        );
    }
    assert_eq!(
        report.diagnostics.len(),
        expected.len(),
        "{}",
        listing(&report)
    );
}
