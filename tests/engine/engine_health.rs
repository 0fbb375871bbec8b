//! The engine's `/healthz`, `/readyz` and `/metrics` over plain HTTP, as a kubelet probe and a
//! Prometheus scrape see them.

use orbdeck::engine::health::{self, Health};
use orbdeck::metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// A raw HTTP/1.1 GET; returns the status code, the headers and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .expect("answers within 5 s")
        .expect("reads the answer");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, head.to_lowercase(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_follow_readiness_and_metrics_scrape() {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new());
    let stop = CancellationToken::new();
    let addr = health::serve(
        "127.0.0.1:0".parse().unwrap(),
        metrics.clone(),
        health.clone(),
        stop.clone(),
    )
    .await
    .expect("binds");
    assert_ne!(addr.port(), 0, "the bound address is returned");

    let (status, _, body) = get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("starting"), "{body}");
    health.set_ready();
    assert_eq!(get(addr, "/readyz").await.0, 200);
    health.set_not_ready("cannot reach the API server");
    let (status, _, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("cannot reach the API server"), "{body}");
    assert_eq!(get(addr, "/healthz").await.0, 200, "alive while not ready");
    assert_eq!(get(addr, "/nothing").await.0, 404);

    metrics.record_reconcile("profile", Duration::from_millis(250), true);
    metrics.record_reconcile("profile", Duration::from_millis(750), false);
    metrics.record_reconcile("quo\"tas", Duration::from_millis(100), true);
    metrics.set_queue_depth(7);
    metrics.record_sync("0123abcd", true);
    metrics.record_sync("4567ef01", false);
    metrics.record_api_writes(3);
    metrics.record_api_writes(2);
    let (status, head, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    let lines: Vec<&str> = body.lines().collect();
    for expected in [
        "# TYPE orbdeck_reconciles counter",
        "orbdeck_reconciles_total{controller=\"profile\"} 2",
        "orbdeck_reconciles_total{controller=\"quo\\\"tas\"} 1",
        "# TYPE orbdeck_reconcile_errors counter",
        "orbdeck_reconcile_errors_total{controller=\"profile\"} 1",
        "orbdeck_reconcile_errors_total{controller=\"quo\\\"tas\"} 0",
        "# TYPE orbdeck_reconcile_duration_seconds histogram",
        "orbdeck_reconcile_duration_seconds_sum{controller=\"profile\"} 1.0",
        "orbdeck_reconcile_duration_seconds_count{controller=\"profile\"} 2",
        "orbdeck_reconcile_duration_seconds_bucket{le=\"0.256\",controller=\"profile\"} 1",
        "orbdeck_reconcile_duration_seconds_bucket{le=\"1.024\",controller=\"profile\"} 2",
        "# TYPE orbdeck_queue_depth gauge",
        "orbdeck_queue_depth 7",
        "orbdeck_last_synced_commit_info{commit=\"0123abcd\"} 1",
        "orbdeck_syncs_total 2",
        "orbdeck_sync_errors_total 1",
        "orbdeck_api_writes_total 5",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{body}");
    }
    assert_eq!(lines.last(), Some(&"# EOF"), "{body}");
    // Every sample is an orbdeck_ metric whose family has HELP and TYPE before it.
    for (at, line) in lines.iter().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        assert!(line.starts_with("orbdeck_"), "{line}");
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        for kind in ["HELP", "TYPE"] {
            let head = format!("# {kind} {family} ");
            assert!(
                lines[..at].iter().any(|l| l.starts_with(&head)),
                "no {kind} before {line}"
            );
        }
    }

    stop.cancel();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the server stops on shutdown");
}

#[test]
fn metrics_render_without_samples() {
    let text = Metrics::new().render();
    assert!(text.contains("orbdeck_queue_depth 0\n"), "{text}");
    assert!(text.contains("orbdeck_syncs_total 0\n"), "{text}");
    assert!(
        !text.contains("orbdeck_last_synced_commit_info{"),
        "no commit before the first sync:\n{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}
