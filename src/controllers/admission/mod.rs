//! The engine's admission webhooks (seed 000): one HTTPS server on every engine replica
//! (not only the leader), answering `/mutate/podsettings` ([`pod_settings`]),
//! `/mutate/poddefaults` ([`pod_defaults`]) and `/mutate/images`
//! ([`crate::controllers::images::admission`]) from watch-fed caches, with its certificate in a
//! Secret ([`tls`]); the leader keeps the MutatingWebhookConfiguration ([`configuration`]) and
//! probes each webhook as the API server calls it, for `current/admission.yaml` ([`report`]).

pub mod configuration;
pub mod pod;
pub mod pod_defaults;
pub mod pod_settings;
pub mod report;
pub mod server;
pub mod tls;

use crate::controllers::images::admission::ImageAdmission;
use crate::controllers::runtime::events::Recorder;
use crate::controllers::runtime::watch;
use crate::model::{AdmissionSettings, FailurePolicy, PodDefault, PodSetting};
use configuration::Target;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams};
use report::Problems;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as channel;
use tokio_util::sync::CancellationToken;

/// Field manager of the MutatingWebhookConfiguration.
const FIELD_MANAGER: &str = "orbdeck-webhook";
/// How often the leader probes the webhooks and re-applies their configuration.
const PROBE_EVERY: Duration = Duration::from_secs(10);

/// How the webhook server runs.
#[derive(Clone, Debug)]
pub struct WebhookOptions {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Base URL the API server calls (`https://host:port`) when the engine runs outside its
    /// cluster; `None` in a cluster (the Service [`configuration::SERVICE_NAME`]).
    pub advertise: Option<String>,
    /// The engine's namespace: its Secret and Service, left out of admission.
    pub namespace: String,
    /// Secret holding the certificate.
    pub secret: String,
    /// How long a serving certificate lasts (renewed when a third is left).
    pub validity: Duration,
}

impl WebhookOptions {
    /// Options with the defaults of `orbdeck engine`.
    pub fn new(listen: SocketAddr, advertise: Option<String>, namespace: &str) -> WebhookOptions {
        WebhookOptions {
            listen,
            advertise,
            namespace: namespace.to_owned(),
            secret: "orbdeck-webhook-tls".into(),
            validity: Duration::from_secs(90 * 24 * 3600),
        }
    }

    fn target(&self) -> Target {
        match &self.advertise {
            Some(url) => Target::Url(url.clone()),
            None => Target::Service {
                namespace: self.namespace.clone(),
            },
        }
    }

    /// The names the serving certificate must be for: the Service's, and the advertised host.
    fn names(&self) -> Vec<String> {
        let service = configuration::SERVICE_NAME;
        let ns = &self.namespace;
        let mut names = vec![
            format!("{service}.{ns}.svc"),
            format!("{service}.{ns}.svc.cluster.local"),
        ];
        if let Some(host) = self
            .advertise
            .as_deref()
            .and_then(|u| u.parse::<hyper::Uri>().ok())
            .and_then(|u| u.host().map(|h| h.trim_matches(['[', ']']).to_owned()))
        {
            names.push(host);
        }
        names
    }
}

/// A running webhook server: where it listens, and what the leader tells it.
pub struct Webhook {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    settings: channel::Sender<Option<AdmissionSettings>>,
    problems: Arc<Problems>,
}

impl Webhook {
    /// Binds `options.listen` and serves until `shutdown`; the certificate is read from (or
    /// made into) its Secret in the background, retried with a WARN while that fails (the
    /// engine's namespace not there yet), and renewed before it expires.
    pub async fn start(
        client: kube::Client,
        options: WebhookOptions,
        shutdown: CancellationToken,
    ) -> std::io::Result<Webhook> {
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let local_addr = listener.local_addr()?;
        let mut options = options;
        options.advertise = options
            .advertise
            .map(|url| with_bound_port(&url, local_addr.port()));
        let problems = Arc::new(Problems::new(Some(Arc::new(Recorder::new(client.clone())))));
        let caches = server::Caches {
            settings: watch::source::<PodSetting>(Api::all(client.clone()), &shutdown).store(),
            defaults: watch::source::<PodDefault>(Api::all(client.clone()), &shutdown).store(),
            namespaces: watch::source::<Namespace>(Api::all(client.clone()), &shutdown).store(),
            problems: problems.clone(),
            images: ImageAdmission::start(client.clone(), shutdown.clone()),
        };
        let (settings, settings_rx) = channel::channel(None);
        let (ca_tx, ca_rx) = channel::channel(None);
        tokio::spawn(keep_certificate(
            client.clone(),
            options.clone(),
            listener,
            caches,
            ca_tx,
            shutdown.clone(),
        ));
        tokio::spawn(keep_configuration(
            client,
            options,
            settings_rx,
            ca_rx,
            problems.clone(),
            shutdown,
        ));
        Ok(Webhook {
            local_addr,
            settings,
            problems,
        })
    }

    /// Called by the leading engine with orb.yaml's settings: the configuration is applied
    /// (and kept, and probed) from then on.
    pub fn configure(&self, settings: &AdmissionSettings) {
        self.settings.send_if_modified(|current| {
            let changed = current.as_ref() != Some(settings);
            *current = Some(settings.clone());
            changed
        });
    }

    /// `current/admission.yaml` as YAML, once the webhooks were probed.
    pub fn report(&self) -> Option<(&'static str, Arc<str>)> {
        let report = self.problems.report()?;
        let yaml = serde_saphyr::to_string(&report).ok()?;
        Some((report::REPORT_FILE, yaml.into()))
    }
}

/// `url` with port 0 replaced by `port` (an advertised port 0 means the port bound).
fn with_bound_port(url: &str, port: u16) -> String {
    match url.parse::<hyper::Uri>() {
        Ok(uri) if uri.port_u16() == Some(0) => {
            let host = uri.host().unwrap_or("127.0.0.1");
            format!("{}://{host}:{port}", uri.scheme_str().unwrap_or("https"))
        }
        _ => url.to_owned(),
    }
}

/// Reads or makes the certificate, then serves with it, renewing it as it ages.
async fn keep_certificate(
    client: kube::Client,
    options: WebhookOptions,
    listener: tokio::net::TcpListener,
    caches: server::Caches,
    ca: channel::Sender<Option<String>>,
    shutdown: CancellationToken,
) {
    let secrets: Api<Secret> = Api::namespaced(client, &options.namespace);
    let names = options.names();
    let mut backoff = Duration::from_secs(1);
    let (material, resolver) = loop {
        match tls::ensure(&secrets, &options.secret, &names, options.validity).await {
            Ok(m) => match m.certified_key() {
                Ok(key) => break (m, Arc::new(tls::Resolver::new(key))),
                Err(e) => tracing::warn!("webhook server: {e}"),
            },
            Err(e) => tracing::warn!(
                "webhook server waits for its certificate (retrying in {}s): {e}",
                backoff.as_secs()
            ),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    };
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        "webhook server listening (/mutate/podsettings, /mutate/poddefaults, /mutate/images)");
    ca.send_replace(Some(material.ca_crt.clone()));
    tokio::spawn(server::serve(
        listener,
        Arc::new(config),
        caches,
        shutdown.clone(),
    ));
    // Renewal: every replica reads the Secret now and then, and the first to find it due
    // renews it; the others pick the new certificate up on their next read.
    let every = (options.validity / 10).clamp(Duration::from_millis(500), Duration::from_secs(60));
    let mut current = material;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match tls::ensure(&secrets, &options.secret, &names, options.validity).await {
            Ok(m) if m != current => match m.certified_key() {
                Ok(key) => {
                    resolver.set(key);
                    if m.ca_crt != current.ca_crt {
                        ca.send_replace(Some(m.ca_crt.clone()));
                    }
                    current = m;
                }
                Err(e) => tracing::warn!("webhook server: {e}"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!("webhook server: renewing its certificate: {e}"),
        }
    }
}

/// Once the leader configured it: applies the MutatingWebhookConfiguration (again on every
/// change, and every [`PROBE_EVERY`] in case someone edited it) and probes each webhook.
async fn keep_configuration(
    client: kube::Client,
    options: WebhookOptions,
    mut settings: channel::Receiver<Option<AdmissionSettings>>,
    mut ca: channel::Receiver<Option<String>>,
    problems: Arc<Problems>,
    shutdown: CancellationToken,
) {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client);
    let target = options.target();
    loop {
        let wanted = settings.borrow_and_update().clone();
        let bundle = ca.borrow_and_update().clone();
        if let (Some(wanted), Some(bundle)) = (wanted, bundle) {
            let body = configuration::configuration(&target, &bundle, &wanted, &options.namespace);
            let params = PatchParams::apply(FIELD_MANAGER).force();
            if let Err(e) = api
                .patch(
                    configuration::CONFIGURATION_NAME,
                    &params,
                    &Patch::Apply(&body),
                )
                .await
            {
                tracing::warn!(
                    "applying MutatingWebhookConfiguration {}: {e}",
                    configuration::CONFIGURATION_NAME
                );
            }
            let policy = match wanted.failure_policy {
                FailurePolicy::Ignore => "Ignore",
                FailurePolicy::Fail => "Fail",
            };
            for (name, path) in configuration::webhooks(&wanted) {
                let url = target.url(path);
                problems.probed(configuration::probe(name, &url, &bundle, policy).await);
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = settings.changed() => {}
            _ = ca.changed() => {}
            _ = tokio::time::sleep(PROBE_EVERY) => {}
        }
    }
}
