//! The controller families of one leadership term: started with one [`Context`] when the engine
//! leads, stopped (watches and all) when it stops leading, and their reports for current/.

use super::Context;
use crate::controllers::profiles::report::{self, PROFILES_FILE, ProfilesReport};
use crate::controllers::profiles::{self, Ctx};
use crate::controllers::upgrades::{self, report as upgrade_report};
use crate::controllers::{addons, credentials, environments, images, labels, pod_settings};
use crate::metrics::Metrics;
use crate::model::ProfileSettings;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The reports of the families, by path in the ORB repo (`current/...`), as YAML (shared, not
/// copied, between the last serialization, what is pending and what was written).
pub type Reports = std::collections::BTreeMap<&'static str, Arc<str>>;

/// Running controllers; dropping them stops them.
pub struct Controllers {
    profiles: Arc<Ctx>,
    pod_settings: Arc<Mutex<Option<pod_settings::Report>>>,
    addons: Arc<Mutex<Option<addons::Report>>>,
    images: Arc<Mutex<Option<images::Report>>>,
    upgrades: Arc<Mutex<Option<upgrade_report::Report>>>,
    credentials: Arc<Mutex<Option<credentials::Report>>>,
    labels: Arc<Mutex<Option<labels::Report>>>,
    environments: Arc<Mutex<Option<environments::Report>>>,
    written: Serialized,
    settings: watch::Sender<Arc<ProfileSettings>>,
    stop: CancellationToken,
}

impl Controllers {
    /// Starts every family with `settings`, looking at every object again each `resync`.
    pub fn start(
        client: kube::Client,
        settings: ProfileSettings,
        metrics: Arc<Metrics>,
        resync: Duration,
    ) -> Controllers {
        let stop = CancellationToken::new();
        let (tx, rx) = watch::channel(Arc::new(settings));
        let context = Arc::new(Context::new(client, metrics, rx, resync, stop.clone()));
        let profiles = Arc::new(Ctx::new(context.clone()));
        let pod_settings = Arc::default();
        let addons = Arc::default();
        let images = Arc::default();
        let upgrades = Arc::default();
        let credentials = Arc::default();
        let labels = Arc::default();
        tokio::spawn(credentials::run(context.clone(), Arc::clone(&credentials)));
        tokio::spawn(labels::run(context.clone(), Arc::clone(&labels)));
        let environments = Arc::default();
        tokio::spawn(environments::run(
            context.clone(),
            Arc::clone(&environments),
        ));
        tokio::spawn(profiles::run(profiles.clone()));
        tokio::spawn(images::run(context.clone(), Arc::clone(&images)));
        tokio::spawn(pod_settings::run(
            context.clone(),
            Arc::clone(&pod_settings),
        ));
        tokio::spawn(addons::run(context.clone(), Arc::clone(&addons)));
        tokio::spawn(upgrades::run(context, Arc::clone(&upgrades)));
        Controllers {
            profiles,
            pod_settings,
            addons,
            images,
            upgrades,
            credentials,
            labels,
            environments,
            written: Serialized::default(),
            settings: tx,
            stop,
        }
    }

    /// Replaces the settings (every Profile is reconciled again when they changed).
    pub fn set_settings(&self, settings: &ProfileSettings) {
        self.settings.send_if_modified(|current| {
            if **current == *settings {
                return false;
            }
            *current = Arc::new(settings.clone());
            true
        });
    }

    /// The families' reports as of now: current/profiles.yaml once the Profiles are listed, and
    /// the other families' files (current/upgrades.yaml and nodes.yaml among them) once they
    /// made a pass.
    pub async fn reports(&self) -> Reports {
        let mut reports = Reports::new();
        if let Some(store) = self.profiles.profiles() {
            let ready =
                tokio::time::timeout(Duration::from_secs(5), store.wait_until_ready()).await;
            if matches!(ready, Ok(Ok(()))) {
                let built = report::build(
                    &store,
                    &self.profiles.context.converge,
                    &self.profiles.outcomes(),
                )
                .await;
                insert(&mut reports, PROFILES_FILE, &self.written.profiles, built);
            }
        }
        let report = lock(&self.pod_settings).clone();
        if let Some(r) = report {
            insert(
                &mut reports,
                pod_settings::REPORT_FILE,
                &self.written.pod_settings,
                r,
            );
        }
        let report = lock(&self.addons).clone();
        if let Some(r) = report {
            insert(&mut reports, addons::REPORT_FILE, &self.written.addons, r);
        }
        let report = lock(&self.images).clone();
        if let Some(r) = report {
            insert(&mut reports, images::REPORT_FILE, &self.written.images, r);
        }
        let report = lock(&self.environments).clone();
        if let Some(r) = report {
            let path = environments::REPORT_FILE;
            insert(&mut reports, path, &self.written.environments, r);
        }
        let report = lock(&self.upgrades).clone();
        if let Some(r) = report {
            let (up, nodes) = (upgrade_report::UPGRADES_FILE, upgrade_report::NODES_FILE);
            insert(&mut reports, up, &self.written.upgrades, r.upgrades);
            insert(&mut reports, nodes, &self.written.nodes, r.nodes);
        }
        let report = lock(&self.credentials).clone();
        if let Some(r) = report {
            let written = &self.written.credentials;
            insert(&mut reports, credentials::REPORT_FILE, written, r);
        }
        let report = lock(&self.labels).clone();
        if let Some(r) = report {
            insert(&mut reports, labels::REPORT_FILE, &self.written.labels, r);
        }
        reports
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Each report with its YAML, so an unchanged report (the common case, asked for every second)
/// is not serialized again.
#[derive(Default)]
struct Serialized {
    profiles: Mutex<Option<(ProfilesReport, Arc<str>)>>,
    pod_settings: Mutex<Option<(pod_settings::Report, Arc<str>)>>,
    addons: Mutex<Option<(addons::Report, Arc<str>)>>,
    images: Mutex<Option<(images::Report, Arc<str>)>>,
    upgrades: Mutex<Option<(upgrade_report::UpgradesReport, Arc<str>)>>,
    nodes: Mutex<Option<(upgrade_report::NodesReport, Arc<str>)>>,
    credentials: Mutex<Option<(credentials::Report, Arc<str>)>>,
    labels: Mutex<Option<(labels::Report, Arc<str>)>>,
    environments: Mutex<Option<(environments::Report, Arc<str>)>>,
}

/// Puts `report`'s YAML under `path`, serializing it only when it differs from the last one.
fn insert<T: serde::Serialize + PartialEq>(
    reports: &mut Reports,
    path: &'static str,
    last: &Mutex<Option<(T, Arc<str>)>>,
    report: T,
) {
    let mut last = lock(last);
    if let Some((_, yaml)) = last.as_ref().filter(|(r, _)| *r == report) {
        reports.insert(path, yaml.clone());
        return;
    }
    match serde_saphyr::to_string(&report) {
        Ok(yaml) => {
            let yaml: Arc<str> = yaml.into();
            reports.insert(path, yaml.clone());
            *last = Some((report, yaml));
        }
        Err(e) => tracing::warn!(path, error = %e, "serializing a report"),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
