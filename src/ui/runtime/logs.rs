//! Pod log streams for the log view: one at a time, read from the API (`follow`, `tailLines`,
//! `previous`, `timestamps`), cut into bounded lines, parsed (timestamp, SGR runs, sanitised) and
//! sent in batches at most 30 times a second through a channel of one batch: while the UI has
//! not taken the last batch and the next is full, the stream is not read (backpressure).

use std::time::Duration;

use futures::AsyncBufReadExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use tokio_util::sync::CancellationToken;

use super::effects::{API_TIMEOUT, EffectError, Env};
use crate::fleet::connect;
use crate::text::sanitize;
use crate::ui::action::LogRequest;
use crate::ui::logs::{LogLine, MAX_LINE_BYTES};
use crate::ui::{Action, kinds};

/// Lines read ahead of the UI at most; past it the stream waits for the UI.
const MAX_PENDING: usize = 4096;
/// How often a batch goes to the UI.
const BATCH_EVERY: Duration = Duration::from_millis(33);

/// Streams the log `req` asks for until it ends or `stop` is cancelled; reports through `env`.
pub(super) async fn stream(env: &Env, req: LogRequest, stop: CancellationToken) {
    let stream_id = req.stream;
    let why = tokio::select! {
        _ = stop.cancelled() => return,
        r = read(env, req, &stop) => match r {
            Ok(why) => why,
            Err(e) => sanitize(&crate::text::error_chain(&e)).into_owned(),
        },
    };
    if !stop.is_cancelled() {
        let _ = env
            .logs
            .send(Action::LogEnded {
                stream: stream_id,
                why,
            })
            .await;
    }
}

/// Reads the stream; returns why it ended.
async fn read(env: &Env, req: LogRequest, stop: &CancellationToken) -> Result<String, EffectError> {
    let client = connect::watch_client(&env.entry(&req.orb)?, API_TIMEOUT).await?;
    let pods: Api<Pod> = Api::namespaced(client, &req.namespace);
    let mut pod = req.pod.clone();
    let mut container = req.container.clone();
    if pod.is_empty() {
        let list = tokio::time::timeout(
            API_TIMEOUT,
            pods.list(&ListParams::default().labels(&req.selector)),
        )
        .await
        .map_err(|_| EffectError::NoAnswer {
            what: format!("pods {}", req.selector),
        })??;
        let mut found: Vec<Pod> = list.items;
        found.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let Some(first) = found.first() else {
            return Ok(format!("no pod matches {}", req.selector));
        };
        pod = first.metadata.name.clone().unwrap_or_default();
        let containers: Vec<String> = first
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .map(|c| kinds::text(&c.name))
            .collect();
        container = container.or_else(|| containers.first().cloned());
        env.send(Action::LogPod {
            stream: req.stream,
            pod: kinds::text(&pod),
            containers,
        });
    }
    let params = LogParams {
        container,
        follow: !req.previous,
        previous: req.previous,
        tail_lines: Some(i64::from(req.tail)),
        timestamps: true,
        ..Default::default()
    };
    let reader = tokio::time::timeout(API_TIMEOUT, pods.log_stream(&pod, &params))
        .await
        .map_err(|_| EffectError::NoAnswer {
            what: format!("log of {pod}"),
        })??;
    let mut reader = Box::pin(reader);
    let mut pending: Vec<LogLine> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut tick = tokio::time::interval(BATCH_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick(), if !pending.is_empty() => {
                let lines = std::mem::take(&mut pending);
                // Waits while the UI has a batch it has not taken: the stream is not read meanwhile.
                let sent = tokio::select! {
                    _ = stop.cancelled() => return Ok("stopped".into()),
                    r = env.logs.send(Action::LogLines { stream: req.stream, lines }) => r,
                };
                if sent.is_err() {
                    return Ok("the UI closed".into());
                }
            }
            chunk = reader.fill_buf(), if pending.len() < MAX_PENDING => {
                let chunk = chunk.map(<[u8]>::to_vec);
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        flush(env, req.stream, &mut pending, &mut partial).await;
                        return Ok(format!("the stream broke: {e}"));
                    }
                };
                if chunk.is_empty() {
                    flush(env, req.stream, &mut pending, &mut partial).await;
                    return Ok(if req.previous {
                        "end of the previous container's log".into()
                    } else {
                        "the container's log ended".into()
                    });
                }
                reader.consume_unpin(chunk.len());
                split(&chunk, &mut partial, &mut pending);
            }
        }
    }
}

/// Cuts `chunk` into lines: complete ones go to `pending`, the rest waits in `partial`. A line
/// keeps at most [`MAX_LINE_BYTES`] bytes.
fn split(chunk: &[u8], partial: &mut Vec<u8>, pending: &mut Vec<LogLine>) {
    let mut rest = chunk;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        keep(partial, &rest[..i]);
        pending.push(LogLine::parse(&String::from_utf8_lossy(partial)));
        partial.clear();
        rest = &rest[i + 1..];
    }
    keep(partial, rest);
}

fn keep(partial: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_LINE_BYTES.saturating_sub(partial.len());
    partial.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Sends what is left when the stream ends.
async fn flush(env: &Env, stream: u64, pending: &mut Vec<LogLine>, partial: &mut Vec<u8>) {
    if !partial.is_empty() {
        pending.push(LogLine::parse(&String::from_utf8_lossy(partial)));
        partial.clear();
    }
    if !pending.is_empty() {
        let lines = std::mem::take(pending);
        let _ = env.logs.send(Action::LogLines { stream, lines }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_at_newlines_and_bounded() {
        let (mut partial, mut pending) = (Vec::new(), Vec::new());
        split(b"one\ntw", &mut partial, &mut pending);
        split(b"o\n", &mut partial, &mut pending);
        let huge = vec![b'x'; MAX_LINE_BYTES * 3];
        split(&huge, &mut partial, &mut pending);
        split(b"\n", &mut partial, &mut pending);
        let texts: Vec<usize> = pending.iter().map(|l| l.text.len()).collect();
        assert_eq!(pending[0].text, "one");
        assert_eq!(pending[1].text, "two");
        assert_eq!(texts[2], MAX_LINE_BYTES);
    }
}
