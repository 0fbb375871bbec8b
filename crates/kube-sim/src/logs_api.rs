//! `GET pods/NAME/log` over the simulated kubelet's logs, with Kubernetes' options (container,
//! tailLines, sinceSeconds, sinceTime, timestamps, previous, limitBytes, follow) and errors; and
//! the sim-only append, `POST /sim/v1/namespaces/NS/pods/NAME/log?container=C`.
#![deny(clippy::indexing_slicing)]

use super::api::Query;
use super::cluster::Cluster;
use super::logs::Line;
use super::object;
use super::status::ApiError;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::watch;

/// The query of a `pods/log` request.
#[derive(Debug, Default, PartialEq)]
struct LogOptions {
    container: Option<String>,
    follow: bool,
    previous: bool,
    timestamps: bool,
    tail_lines: Option<usize>,
    since: Option<DateTime<Utc>>,
    limit_bytes: Option<usize>,
}

impl LogOptions {
    /// Parses and validates the query as the API server's PodLogOptions.
    fn from_query(pod: &str, query: &Query) -> Result<Self, ApiError> {
        let invalid =
            |field: &str, problem: String| ApiError::invalid("PodLogOptions", pod, field, &problem);
        let tail = integer(query, "tailLines")?;
        let since_seconds = integer(query, "sinceSeconds")?;
        let limit = integer(query, "limitBytes")?;
        let since_time = match query.get("sinceTime").filter(|t| !t.is_empty()) {
            Some(t) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| ApiError::bad_request(format!("sinceTime {t:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        if let Some(n) = tail.filter(|n| *n < 0) {
            return Err(invalid(
                "tailLines",
                format!("Invalid value: {n}: must be greater than or equal to 0"),
            ));
        }
        if let Some(n) = limit.filter(|n| *n < 1) {
            return Err(invalid(
                "limitBytes",
                format!("Invalid value: {n}: must be greater than 0"),
            ));
        }
        if since_seconds.is_some() && since_time.is_some() {
            return Err(invalid(
                "sinceSeconds",
                "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified".into(),
            ));
        }
        if let Some(n) = since_seconds.filter(|n| *n < 1) {
            return Err(invalid(
                "sinceSeconds",
                format!("Invalid value: {n}: must be greater than 0"),
            ));
        }
        let since = since_time.or_else(|| since_seconds.map(seconds_ago));
        Ok(LogOptions {
            container: query.get("container").filter(|c| !c.is_empty()).cloned(),
            follow: is_true(query, "follow"),
            previous: is_true(query, "previous"),
            timestamps: is_true(query, "timestamps"),
            tail_lines: tail.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            since,
            limit_bytes: limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        })
    }

    /// The lines of a snapshot these options show: since the time, then the last `tailLines`.
    fn select(&self, lines: Vec<Line>) -> Vec<Line> {
        let mut lines: Vec<Line> = match self.since {
            Some(since) => lines.into_iter().filter(|l| l.at >= since).collect(),
            None => lines,
        };
        if let Some(tail) = self.tail_lines {
            let skip = lines.len().saturating_sub(tail);
            lines.drain(..skip);
        }
        lines
    }
}

/// The time `seconds` ago (the dawn of time when that is out of range).
fn seconds_ago(seconds: i64) -> DateTime<Utc> {
    chrono::TimeDelta::try_seconds(seconds)
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn integer(query: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    match query.get(key).filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{key}: invalid integer {v:?}"))),
        None => Ok(None),
    }
}

fn is_true(query: &Query, key: &str) -> bool {
    matches!(query.get(key).map(String::as_str), Some("1" | "true"))
}

/// The names of a pod's init, regular and ephemeral containers, in that order.
fn container_names(pod: &Value) -> Vec<String> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| {
            object::at(pod, &["spec", list])
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(|c| object::at(c, &["name"]).as_str().map(String::from))
        .collect()
}

/// The container a request addresses: the one named (which must exist), or the pod's only one.
fn pick_container(pod: &Value, wanted: Option<&str>) -> Result<String, ApiError> {
    let name = object::name(pod);
    if let Some(wanted) = wanted {
        if container_names(pod).iter().any(|n| n == wanted) {
            return Ok(wanted.to_string());
        }
        return Err(ApiError::bad_request(format!(
            "container {wanted} is not valid for pod {name}"
        )));
    }
    let regular = object::at(pod, &["spec", "containers"])
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match regular {
        [only] => Ok(object::at(only, &["name"])
            .as_str()
            .unwrap_or("")
            .to_string()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            container_names(pod).join(" ")
        ))),
    }
}

/// The status of a container, from any of the pod's status lists.
fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .flat_map(|list| {
        object::at(pod, &["status", list])
            .as_array()
            .into_iter()
            .flatten()
    })
    .find(|s| object::at(s, &["name"]) == container)
}

/// Whether a container has stopped (its logs then end).
fn terminated(pod: &Value, container: &str) -> bool {
    container_status(pod, container)
        .is_some_and(|s| object::at(s, &["state", "terminated"]).is_object())
}

/// Whether the kubelet has logs to give, in its words when not (a 400, as through the API server).
fn check_state(pod: &Value, container: &str, previous: bool) -> Result<(), ApiError> {
    let name = object::name(pod);
    let status = container_status(pod, container);
    let state = |key: &str| status.map(|s| object::at(s, &["state", key]));
    if previous {
        let last = status.map(|s| object::at(s, &["lastState", "terminated"]));
        if !last.is_some_and(Value::is_object) {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        return Ok(());
    }
    if state("running").is_some_and(Value::is_object)
        || state("terminated").is_some_and(Value::is_object)
    {
        return Ok(());
    }
    let reason = state("waiting")
        .and_then(|w| object::at(w, &["reason"]).as_str())
        .unwrap_or("ContainerCreating");
    Err(ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
    )))
}

/// Renders lines, spending at most `limit` bytes (and lowering it by what was spent).
fn render(lines: &[Line], timestamps: bool, limit: &mut Option<usize>) -> Bytes {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line.render(timestamps).as_bytes());
    }
    if let Some(left) = limit {
        out.truncate(*left);
        *left -= out.len();
    }
    Bytes::from(out)
}

fn text(body: impl Into<Body>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        body.into(),
    )
        .into_response()
}

/// `GET /api/v1/namespaces/NS/pods/NAME/log`.
pub fn serve(c: &Arc<Cluster>, ns: &str, name: &str, query: &Query) -> Result<Response, ApiError> {
    let opts = LogOptions::from_query(name, query)?;
    // Subscribed before the snapshot, so a follower misses nothing written after it.
    let store_rx = c.store.subscribe();
    let logs_rx = c.logs.subscribe();
    let pod = c
        .store
        .read()
        .get_value("pods", ns, name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let container = pick_container(&pod, opts.container.as_deref())?;
    // A pod on no node yet has no kubelet to ask: the API server answers with nothing.
    if object::at(&pod, &["spec", "nodeName"])
        .as_str()
        .is_none_or(str::is_empty)
    {
        return Ok(text(Bytes::new()));
    }
    check_state(&pod, &container, opts.previous)?;
    let uid = object::uid(&pod).to_string();
    let lines = c.logs.lines_after(&uid, &container, 0);
    if opts.previous {
        // Only a crash-looping container has a previous instance (check_state saw it): what it
        // was given to write is that instance's log, complete.
        let mut limit = opts.limit_bytes;
        return Ok(text(render(
            &opts.select(lines),
            opts.timestamps,
            &mut limit,
        )));
    }
    let cursor = lines.last().map_or(0, |l| l.seq);
    let mut limit = opts.limit_bytes;
    let first = render(&opts.select(lines), opts.timestamps, &mut limit);
    if !opts.follow || limit == Some(0) || terminated(&pod, &container) {
        return Ok(text(first));
    }
    let follow = Follow {
        c: c.clone(),
        ns: ns.to_string(),
        name: name.to_string(),
        uid,
        container,
        cursor,
        timestamps: opts.timestamps,
        limit,
        store_rx,
        logs_rx,
        done: false,
    };
    let head = futures::stream::iter((!first.is_empty()).then_some(first));
    let stream = futures::StreamExt::chain(head, follow.into_stream());
    let body = Body::from_stream(futures::StreamExt::map(
        stream,
        Ok::<_, std::convert::Infallible>,
    ));
    Ok(text(body))
}

/// A `follow=true` stream: new lines as they are appended, until the pod is deleted (or
/// replaced) or the container stops.
struct Follow {
    c: Arc<Cluster>,
    ns: String,
    name: String,
    uid: String,
    container: String,
    cursor: u64,
    timestamps: bool,
    limit: Option<usize>,
    store_rx: watch::Receiver<u64>,
    logs_rx: watch::Receiver<u64>,
    done: bool,
}

impl Follow {
    fn into_stream(self) -> impl futures::Stream<Item = Bytes> + Send {
        futures::stream::unfold(self, |mut f| async move {
            let chunk = f.next_chunk().await?;
            Some((chunk, f))
        })
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        while !self.done {
            self.store_rx.mark_unchanged();
            self.logs_rx.mark_unchanged();
            if let Some(chunk) = self.drain() {
                return Some(chunk);
            }
            if self.ended() {
                // Lines written just before the end still go out.
                self.done = true;
                return self.drain();
            }
            tokio::select! {
                r = self.store_rx.changed() => self.done |= r.is_err(),
                r = self.logs_rx.changed() => self.done |= r.is_err(),
            }
        }
        None
    }

    /// The lines after the cursor, rendered; `None` when there are none.
    fn drain(&mut self) -> Option<Bytes> {
        let lines = self
            .c
            .logs
            .lines_after(&self.uid, &self.container, self.cursor);
        self.cursor = lines.last()?.seq;
        let chunk = render(&lines, self.timestamps, &mut self.limit);
        self.done |= self.limit == Some(0);
        (!chunk.is_empty()).then_some(chunk)
    }

    /// Whether the pod is gone, replaced or being deleted, or the container has stopped.
    fn ended(&self) -> bool {
        let pod = self.c.store.read().get_value("pods", &self.ns, &self.name);
        pod.is_none_or(|p| {
            object::uid(&p) != self.uid
                || object::is_deleting(&p)
                || terminated(&p, &self.container)
        })
    }
}

/// `POST /sim/v1/namespaces/NS/pods/NAME/log?container=C`: appends the body's lines to a
/// container's log (the only container's when none is named).
pub fn append_request(
    c: &Cluster,
    ns: &str,
    name: &str,
    query: &Query,
    body: &[u8],
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the log lines are not UTF-8"))?;
    let container = query.get("container").filter(|c| !c.is_empty());
    let lines = append(c, ns, name, container.map(String::as_str), text)?;
    Ok(super::api::json_response(&json!({"appended": lines})))
}

/// Appends `text` (one or more lines; nothing when empty) to a pod's container log; returns the
/// number of lines appended.
pub fn append(
    c: &Cluster,
    ns: &str,
    name: &str,
    container: Option<&str>,
    text: &str,
) -> Result<usize, ApiError> {
    let pod = c
        .store
        .read()
        .get_value("pods", ns, name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let container = pick_container(&pod, container)?;
    if text.is_empty() {
        return Ok(0);
    }
    c.logs.append(object::uid(&pod), &container, text);
    Ok(text.strip_suffix('\n').unwrap_or(text).split('\n').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pod(containers: &[&str]) -> Value {
        let containers: Vec<Value> = containers.iter().map(|n| json!({"name": n})).collect();
        json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": containers,
            "initContainers": [{"name": "init"}]}})
    }

    #[test]
    fn options_are_validated_like_pod_log_options() {
        let err = |pairs: &[(&str, &str)]| LogOptions::from_query("p", &query(pairs)).unwrap_err();
        assert_eq!(
            err(&[("tailLines", "-1")]).message,
            "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(err(&[("limitBytes", "0")]).code, 422);
        assert_eq!(err(&[("sinceSeconds", "0")]).code, 422);
        let both = err(&[("sinceSeconds", "5"), ("sinceTime", "2024-01-01T00:00:00Z")]);
        assert!(both.message.contains("at most one of"), "{}", both.message);
        assert_eq!(err(&[("tailLines", "x")]).code, 400);
        assert_eq!(err(&[("sinceTime", "yesterday")]).code, 400);
        let ok = LogOptions::from_query(
            "p",
            &query(&[("tailLines", "2"), ("follow", "true"), ("container", "c")]),
        )
        .unwrap();
        assert_eq!(
            (ok.tail_lines, ok.follow, ok.container.as_deref()),
            (Some(2), true, Some("c"))
        );
    }

    #[test]
    fn containers_are_picked_as_kubernetes_does() {
        assert_eq!(pick_container(&pod(&["a"]), None).unwrap(), "a");
        assert_eq!(
            pick_container(&pod(&["a", "b"]), Some("init")).unwrap(),
            "init"
        );
        assert_eq!(
            pick_container(&pod(&["a", "b"]), None).unwrap_err().message,
            "a container name must be specified for pod p, choose one of: [init a b]"
        );
        assert_eq!(
            pick_container(&pod(&["a"]), Some("x")).unwrap_err().message,
            "container x is not valid for pod p"
        );
        assert_eq!(pick_container(&json!({}), None).unwrap_err().code, 400);
    }

    #[test]
    fn a_container_not_started_has_no_logs_yet() {
        let mut p = pod(&["a"]);
        let e = check_state(&p, "a", false).unwrap_err();
        assert_eq!(
            e.message,
            "container \"a\" in pod \"p\" is waiting to start: ContainerCreating"
        );
        let status = json!({"containerStatuses": [{"name": "a", "state": {"running": {}}}]});
        object::set(&mut p, &["status"], status);
        assert!(check_state(&p, "a", false).is_ok());
        assert_eq!(
            check_state(&p, "a", true).unwrap_err().message,
            "previous terminated container \"a\" in pod \"p\" not found"
        );
        assert!(!terminated(&p, "a"));
    }

    #[test]
    fn tail_since_and_limit_select_and_cut() {
        let now = Utc::now();
        let lines: Vec<Line> = (1..=5)
            .map(|i| Line {
                seq: i,
                at: now - chrono::Duration::seconds(10 - i as i64),
                text: format!("l{i}"),
            })
            .collect();
        let opts = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        let picked = opts.select(lines.clone());
        assert_eq!(render(&picked, false, &mut None), "l4\nl5\n");
        let opts = LogOptions {
            since: Some(now - chrono::Duration::seconds(6)),
            ..Default::default()
        };
        assert_eq!(opts.select(lines.clone()).len(), 2);
        let mut limit = Some(4);
        assert_eq!(render(&lines, false, &mut limit), "l1\nl");
        assert_eq!(limit, Some(0));
    }
}
