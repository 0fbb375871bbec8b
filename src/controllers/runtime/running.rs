//! The controllers of one leadership term: started when the engine leads and the cluster serves
//! Profiles, stopped (watches and all) when it stops leading.

use super::converge::Derived;
use crate::controllers::fanout;
use crate::controllers::profiles::report::{self, ProfilesReport};
use crate::controllers::profiles::{self, Ctx};
use crate::metrics::Metrics;
use crate::model::ProfileSettings;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Running controllers; dropping them stops them.
pub struct Controllers {
    ctx: Arc<Ctx>,
    settings: watch::Sender<Arc<ProfileSettings>>,
    stop: CancellationToken,
}

impl Controllers {
    /// Starts the controllers with `settings`, looking at every object again each `resync`.
    pub fn start(
        client: kube::Client,
        settings: ProfileSettings,
        metrics: Arc<Metrics>,
        resync: Duration,
    ) -> Controllers {
        let stop = CancellationToken::new();
        let derived = Derived::new(client, stop.clone());
        let (tx, rx) = watch::channel(Arc::new(settings));
        let ctx = Arc::new(Ctx::new(derived.clone(), rx, metrics.clone(), resync));
        tokio::spawn(profiles::run(ctx.clone(), stop.clone()));
        tokio::spawn(fanout::run(derived, metrics, resync, stop.clone()));
        Controllers {
            ctx,
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

    /// current/profiles.yaml as of now (None until the Profiles are listed).
    pub async fn report(&self) -> Option<ProfilesReport> {
        let store = self.ctx.profiles()?;
        let ready = tokio::time::timeout(Duration::from_secs(5), store.wait_until_ready()).await;
        if !matches!(ready, Ok(Ok(()))) {
            return None;
        }
        Some(report::build(&store, &self.ctx.derived, &self.ctx.outcomes()).await)
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
