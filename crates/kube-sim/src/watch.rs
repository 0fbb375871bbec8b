//! Watch streams of the embedded API server: newline-delimited JSON events read from the
//! store's event log, with bookmarks, timeouts and 410 Gone for expired resourceVersions.

use super::api::{Query, Selectors};
use super::cluster::Cluster;
use super::resources::ResourceType;
use super::status::ApiError;
use super::table;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Starts a watch and returns the streaming response.
pub fn respond(
    c: Arc<Cluster>,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    sel: Selectors,
    query: &Query,
    as_table: bool,
) -> Result<Response, ApiError> {
    let start: Option<u64> = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {v:?}")))?,
        ),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let bookmarks = matches!(
        query.get("allowWatchBookmarks").map(String::as_str),
        Some("true" | "1")
    );
    let initial_events = matches!(
        query.get("sendInitialEvents").map(String::as_str),
        Some("true")
    );
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let w = Watch {
        c,
        rt,
        ns,
        sel,
        as_table,
        bookmarks,
        tx,
        sent_header: false,
    };
    tokio::spawn(w.run(start, timeout, initial_events));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// When the next BOOKMARK is due, as Kubernetes' cache watcher schedules them: every
/// `interval` (a minute in Kubernetes), and once 2 s before the watch's deadline, so a client
/// reconnects from a fresh resourceVersion; none once that moment has passed (a watch of
/// `timeoutSeconds` 2 or less gets none).
fn next_bookmark_time(
    now: tokio::time::Instant,
    interval: Duration,
    deadline: tokio::time::Instant,
) -> Option<tokio::time::Instant> {
    let heartbeat = now + interval;
    let pretimeout = deadline.checked_sub(PRETIMEOUT)?;
    let at = heartbeat.min(pretimeout);
    (at > now).then_some(at)
}

/// How long before its deadline a watch gets its last BOOKMARK.
const PRETIMEOUT: Duration = Duration::from_secs(2);

/// Sleeps until `at`, or forever when there is no such time.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

struct Watch {
    c: Arc<Cluster>,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    sel: Selectors,
    as_table: bool,
    bookmarks: bool,
    tx: mpsc::Sender<Bytes>,
    sent_header: bool,
}

impl Watch {
    async fn run(mut self, start: Option<u64>, timeout: Duration, initial_events: bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.c.store.subscribe();
        let key = self.rt.key();
        let mut cursor = match start {
            Some(rv) => rv,
            None => {
                let (objects, rv) = {
                    let s = self.c.store.read();
                    let objects: Vec<Bytes> = s
                        .list(&key, self.ns.as_deref())
                        .into_iter()
                        .cloned()
                        .collect();
                    (objects, s.rv)
                };
                for obj in objects {
                    if !self.send_object("ADDED", &obj).await {
                        return;
                    }
                }
                if initial_events && self.bookmarks {
                    let mark = self.bookmark(rv, true);
                    if self.tx.send(mark).await.is_err() {
                        return;
                    }
                }
                rv
            }
        };
        let interval = self.c.options.bookmark_interval;
        let mut next_bookmark = next_bookmark_time(tokio::time::Instant::now(), interval, deadline);
        loop {
            let batch = {
                let s = self.c.store.read();
                let events = s.events_since(cursor, &key);
                let rv = s.rv;
                (events, rv)
            };
            match batch {
                (Err(floor), _) => {
                    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "reason": "Expired", "code": 410,
                        "message": format!("too old resource version: {cursor} ({floor})")});
                    let line = format!("{}\n", json!({"type": "ERROR", "object": status}));
                    let _ = self.tx.send(Bytes::from(line)).await;
                    return;
                }
                (Ok(events), rv) => {
                    for e in events {
                        if self.ns.as_deref().is_some_and(|n| n != e.namespace) {
                            continue;
                        }
                        if !self.send_object(e.etype.as_str(), &e.object).await {
                            return;
                        }
                    }
                    cursor = cursor.max(rv);
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = sleep_until_some(next_bookmark), if self.bookmarks => {
                    if self.tx.send(self.bookmark(cursor, false)).await.is_err() {
                        return;
                    }
                    next_bookmark = next_bookmark_time(tokio::time::Instant::now(), interval, deadline);
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj =
            json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta});
        Bytes::from(format!("{}\n", json!({"type": "BOOKMARK", "object": obj})))
    }

    async fn send_object(&mut self, etype: &str, raw: &Bytes) -> bool {
        let needs_parse = !self.sel.is_empty() || self.as_table || self.rt.rewrites();
        let line = if needs_parse {
            let Ok(obj) = serde_json::from_slice::<Value>(raw) else {
                return true;
            };
            if !self.sel.matches(&obj) {
                return true;
            }
            let obj = self.rt.serve(obj);
            let object = if self.as_table {
                let mut t = table::table(&self.rt, &[obj], &Default::default());
                if self.sent_header {
                    t["columnDefinitions"] = json!([]);
                }
                self.sent_header = true;
                t
            } else {
                obj
            };
            format!("{}\n", json!({"type": etype, "object": object}))
        } else {
            let mut line = Vec::with_capacity(raw.len() + 32);
            line.extend_from_slice(format!("{{\"type\":\"{etype}\",\"object\":").as_bytes());
            line.extend_from_slice(raw);
            line.extend_from_slice(b"}\n");
            return self.tx.send(Bytes::from(line)).await.is_ok();
        };
        self.tx.send(Bytes::from(line)).await.is_ok()
    }
}
