//! The log view's state (`l` on a pod or workload): a bounded buffer of parsed lines (timestamp,
//! clean text, SGR runs), follow, wrap, timestamps, previous, tail, container and search. The
//! runtime streams lines in batches; `update` appends them here; `render` only reads.

use std::collections::VecDeque;

use crate::text::{Sgr, SgrRun, sanitize_sgr};

/// Lines kept per log view; older ones are dropped as new ones arrive.
pub const MAX_LINES: usize = 10_000;
/// Bytes of one line kept (the rest of a longer line is cut off by the reader).
pub const MAX_LINE_BYTES: usize = 4096;
/// The tails offered by the tail key, in order.
pub const TAILS: [u32; 3] = [100, 1000, MAX_LINES as u32];

/// One log line, parsed off the render path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogLine {
    /// The RFC 3339 time the runtime stamped it with (empty when none).
    pub time: String,
    /// The text, sanitised.
    pub text: String,
    /// Colour runs over `text` from its SGR codes.
    pub runs: Vec<SgrRun>,
}

impl LogLine {
    /// A raw line as the API sends it with `timestamps=true`: `TIME text`.
    pub fn parse(raw: &str) -> LogLine {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (time, rest) = match raw.split_once(' ') {
            Some((t, rest)) if looks_like_time(t) => (t, rest),
            _ => ("", raw),
        };
        let (text, runs) = sanitize_sgr(rest);
        LogLine {
            time: time.to_owned(),
            text,
            runs,
        }
    }

    /// Bytes the line holds (for the buffer's size).
    pub fn bytes(&self) -> usize {
        self.time.len() + self.text.len() + self.runs.len() * std::mem::size_of::<SgrRun>()
    }

    /// The attributes at each part of the text: (text, attributes) pieces covering it.
    pub fn pieces(&self) -> Vec<(&str, Sgr)> {
        let mut out = Vec::with_capacity(self.runs.len() * 2 + 1);
        let mut at = 0usize;
        for run in &self.runs {
            let (s, e) = (run.start as usize, run.end as usize);
            if s > at {
                out.push((&self.text[at..s], Sgr::default()));
            }
            out.push((&self.text[s..e], run.sgr));
            at = e;
        }
        if at < self.text.len() {
            out.push((&self.text[at..], Sgr::default()));
        }
        out
    }
}

fn looks_like_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && t.ends_with('Z')
}

/// Where the stream stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogStatus {
    /// Asked; nothing arrived yet.
    Connecting,
    /// Lines arrive as the container writes them.
    Streaming,
    /// The stream ended (the container stopped, or previous logs were read to the end).
    Ended(String),
}

/// The open log view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogView {
    /// ORB name.
    pub orb: String,
    /// Namespace of the pod.
    pub namespace: String,
    /// The workload asked for (`Deployment notebook`), when `l` was on one.
    pub workload: Option<String>,
    /// Its pods, as a label selector.
    pub selector: String,
    /// The pod streamed (empty until a workload's pod is found).
    pub pod: String,
    /// The pod's containers.
    pub containers: Vec<String>,
    /// The container streamed (index into `containers`).
    pub container: usize,
    /// Which stream the buffer holds (lines of an older stream are ignored).
    pub stream: u64,
    /// How many lines the stream starts with.
    pub tail: u32,
    /// The previous (crashed) container's logs.
    pub previous: bool,
    /// Stay at the newest line.
    pub follow: bool,
    /// Wrap long lines instead of cutting them.
    pub wrap: bool,
    /// Show each line's time.
    pub timestamps: bool,
    /// The lines, oldest first, at most [`MAX_LINES`].
    pub lines: VecDeque<LogLine>,
    /// Bytes the lines hold.
    pub bytes: usize,
    /// Lines dropped from the front since the stream started.
    pub dropped: u64,
    /// First line shown when not following.
    pub scroll: usize,
    /// The search (matches are highlighted; `n`/`N` jump).
    pub search: String,
    /// The search is being typed.
    pub typing: bool,
    /// Where the stream stands.
    pub status: LogStatus,
}

impl LogView {
    /// A view of `pod` (or of a workload's pods by `selector`) in `namespace` of `orb`.
    pub fn new(orb: &str, namespace: &str, pod: &str, containers: Vec<String>) -> LogView {
        LogView {
            orb: orb.to_owned(),
            namespace: namespace.to_owned(),
            workload: None,
            selector: String::new(),
            pod: pod.to_owned(),
            containers,
            container: 0,
            stream: 0,
            tail: TAILS[0],
            previous: false,
            follow: true,
            wrap: false,
            timestamps: false,
            lines: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            scroll: 0,
            search: String::new(),
            typing: false,
            status: LogStatus::Connecting,
        }
    }

    /// The container streamed, if known.
    pub fn container_name(&self) -> Option<&str> {
        self.containers.get(self.container).map(String::as_str)
    }

    /// Appends `lines`, dropping the oldest past [`MAX_LINES`]; a scrolled view stays on the
    /// same lines.
    pub fn push(&mut self, lines: Vec<LogLine>) {
        self.status = LogStatus::Streaming;
        for line in lines {
            self.bytes += line.bytes();
            self.lines.push_back(line);
        }
        let over = self.lines.len().saturating_sub(MAX_LINES);
        for line in self.lines.drain(..over) {
            self.bytes -= line.bytes();
        }
        self.dropped += over as u64;
        self.scroll = self.scroll.saturating_sub(over);
    }

    /// Empties the buffer for a new stream.
    pub fn restart(&mut self) {
        self.stream += 1;
        self.lines.clear();
        self.bytes = 0;
        self.dropped = 0;
        self.scroll = 0;
        self.status = LogStatus::Connecting;
    }

    /// Whether line `i` matches the search.
    pub fn matches(&self, i: usize) -> bool {
        !self.search.is_empty()
            && self.lines.get(i).is_some_and(|l| {
                l.text
                    .to_ascii_lowercase()
                    .contains(&self.search.to_ascii_lowercase())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_its_time_and_colours() {
        let l = LogLine::parse("2026-12-01T10:00:00.123456789Z \u{1b}[32mready\u{1b}[0m ok\r");
        assert_eq!(l.time, "2026-12-01T10:00:00.123456789Z");
        assert_eq!(l.text, "ready ok");
        let pieces: Vec<&str> = l.pieces().iter().map(|(t, _)| *t).collect();
        assert_eq!(pieces, ["ready", " ok"]);
        assert_eq!(LogLine::parse("no time here").time, "");
    }

    #[test]
    fn the_buffer_is_bounded_and_a_scrolled_view_keeps_its_lines() {
        let mut v = LogView::new("a", "ns", "p", vec![]);
        v.push((0..10).map(|i| LogLine::parse(&i.to_string())).collect());
        v.follow = false;
        v.scroll = 5;
        v.push(
            (0..MAX_LINES)
                .map(|i| LogLine::parse(&format!("x{i}")))
                .collect(),
        );
        assert_eq!(v.lines.len(), MAX_LINES);
        assert_eq!(v.dropped, 10);
        assert_eq!(v.scroll, 0);
        assert_eq!(v.bytes, v.lines.iter().map(LogLine::bytes).sum::<usize>());
    }
}
