//! A TCP forwarder to the sim that can be cut (connections and listener gone, so new connections
//! are refused) and restored on the same port: a network outage between a client and the API.

use super::Sim;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A forwarder from `url` to the sim.
pub struct Proxy {
    /// `https://127.0.0.1:PORT`, for clients.
    pub url: String,
    addr: SocketAddr,
    target: SocketAddr,
    cut: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Forwards a fresh local port to the sim.
    pub async fn start(sim: &Sim) -> Proxy {
        let target: SocketAddr = sim
            .server
            .url()
            .trim_start_matches("https://")
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Proxy {
            url: format!("https://{addr}"),
            addr,
            target,
            cut: CancellationToken::new(),
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = self.cut.clone();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(c) => c,
                        Err(_) => continue,
                    },
                };
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        }));
    }

    /// Drops every connection and stops listening (new connections are refused).
    pub async fn cut(&mut self) {
        self.cut.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        self.cut = CancellationToken::new();
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

/// A client for the sim that reaches it through `url` instead.
/// A client with the engine's identity (see [`super::engine_client`]) through the proxy at `url`.
pub async fn engine_client_via(sim: &Sim, url: &str) -> kube::Client {
    let token = super::engine_token(sim).await;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.server.kubeconfig_yaml()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.cluster_url = url.parse().unwrap();
    config.auth_info.token = Some(token.into());
    kube::Client::try_from(config).unwrap()
}

pub async fn client_via(sim: &Sim, url: &str) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.server.kubeconfig_yaml()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.cluster_url = url.parse().unwrap();
    kube::Client::try_from(config).unwrap()
}
