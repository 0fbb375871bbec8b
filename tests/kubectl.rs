//! End-to-end tests: stock kubectl against the embedded API server.

mod common;

use common::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke() {
    let sim = Sim::start(2).await;
    let out = sim.ok(&["get", "nodes"]).await;
    println!("{out}");
    assert!(out.contains("Ready"));
}
