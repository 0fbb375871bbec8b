//! UI figures: frame render time for 10k and 100k Profiles rows, key-to-frame latency over a
//! 20 x 5k fleet, bytes per cached ProfileRow, the first frame of 20 unreachable ORBs, and the log
//! view following 10k lines/s (key-to-frame, and the bounded buffer's size), and `:all pods`
//! over 20 x 5k pods (first frame, RSS, keys); then the UI's watches over 20 sims holding 10k
//! Profiles each (`-- sims N profiles M` to change the sizes; see `ui/watch.rs`).
//! Run with `cargo bench --bench ui`; prints one line per figure.

#[path = "../tests/ui_fixtures/mod.rs"]
mod common;
#[path = "ui/watch.rs"]
mod watch;

use std::time::{Duration, Instant};

use common::{big_orb, clock, key, type_text};

use crossterm::event::KeyCode;
use orbdeck::ui::{Action, Health, OrbView, ProfileRow, Settings, State, Usage, render, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The allocator of the `orbdeck` binary, so the figures (RSS above all) are the control room's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (mean, at(0.5), at(0.99))
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(200, 60)).unwrap()
}

fn new_state(fleet: Vec<OrbView>) -> State {
    let mut s = State::new(fleet, Settings::default(), clock(Instant::now(), 0));
    update(&mut s, Action::Resize(200, 60));
    s
}

fn frame_time(rows: usize) {
    let mut s = new_state(vec![big_orb("alpha", rows)]);
    type_text(&mut s, "2");
    let mut t = terminal();
    let (mut whole, mut own) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        // Move the window now and then so frames differ, as when scrolling.
        if i % 10 == 0 {
            update(&mut s, key(KeyCode::PageDown));
        }
        let start = Instant::now();
        t.draw(|f| {
            let start = Instant::now();
            render(&s, f);
            own.push(start.elapsed());
        })
        .unwrap();
        whole.push(start.elapsed());
    }
    let (mean, _, p99) = stats(own);
    println!(
        "render() 200x60 Profiles {rows:>6} rows: mean {mean:.3} ms, p99 {p99:.3} ms (goal <= 1 ms)"
    );
    let (mean, _, p99) = stats(whole);
    println!("  with terminal.draw's buffer diff:     mean {mean:.3} ms, p99 {p99:.3} ms");
}

/// Times update + draw for each key in `keys`.
fn timed(s: &mut State, t: &mut Terminal<TestBackend>, keys: &[Action], out: &mut Vec<Duration>) {
    for k in keys {
        let start = Instant::now();
        update(s, k.clone());
        t.draw(|f| render(s, f)).unwrap();
        out.push(start.elapsed());
    }
}

fn report(label: &str, samples: Vec<Duration>) {
    let (_, p50, p99) = stats(samples);
    println!("key-to-frame {label:<30} p50 {p50:.3} ms, p99 {p99:.3} ms (goal p99 <= 16 ms)");
}

fn fleet_latency() {
    let fleet: Vec<OrbView> = (0..20)
        .map(|i| big_orb(&format!("orb-{i:02}"), 5000))
        .collect();
    let start = Instant::now();
    let mut s = new_state(fleet);
    type_text(&mut s, ":all");
    update(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "2");
    println!(
        "fleet 20 ORBs x 5k Profiles: :all index of {} rows built in {:.1} ms",
        s.rows.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let mut t = terminal();
    t.draw(|f| render(&s, f)).unwrap();
    let jk: Vec<Action> = (0..1000)
        .map(|i| key(KeyCode::Char(if i % 3 == 2 { 'k' } else { 'j' })))
        .collect();
    let mut samples = Vec::new();
    timed(&mut s, &mut t, &jk, &mut samples);
    report("j/k (100k rows)", samples);
    let start = Instant::now();
    update(&mut s, key(KeyCode::Char('/')));
    t.draw(|f| render(&s, f)).unwrap();
    println!(
        "key-to-frame /: open filter, build search text  {:.3} ms (once per data change)",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let (mut typed, mut erased) = (Vec::new(), Vec::new());
    let word = "alice-0";
    let typing: Vec<Action> = word.chars().map(|c| key(KeyCode::Char(c))).collect();
    let erase: Vec<Action> = word.chars().map(|_| key(KeyCode::Backspace)).collect();
    for _ in 0..20 {
        timed(&mut s, &mut t, &typing, &mut typed);
        timed(&mut s, &mut t, &erase, &mut erased);
    }
    report("filter: type a character", typed);
    report("filter: backspace", erased);
    update(&mut s, key(KeyCode::Esc));
    sorts(&mut s, &mut t, "100k rows");
}

/// Presses `s` through every sort column twice and `o` 20 times, reporting the first sort by
/// each column (computed) apart from the later ones (the orders kept until the rows change).
fn sorts(s: &mut State, t: &mut Terminal<TestBackend>, rows: &str) {
    let n = s.sort_columns();
    let (mut first, mut again, mut reverse) = (Vec::new(), Vec::new(), Vec::new());
    let press = |c| vec![key(KeyCode::Char(c))];
    // The first sorts, with the part spent in update (the sort) apart from the frame.
    let mut sorting = Vec::new();
    for _ in 0..n {
        let start = Instant::now();
        update(s, key(KeyCode::Char('s')));
        sorting.push(start.elapsed());
        t.draw(|f| render(s, f)).unwrap();
        first.push(start.elapsed());
    }
    for _ in 0..n {
        timed(s, t, &press('s'), &mut again);
    }
    for _ in 0..20 {
        timed(s, t, &press('o'), &mut reverse);
    }
    let each: Vec<String> = (first.iter())
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    let sorts: Vec<String> = (sorting.iter())
        .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
        .collect();
    report(&format!("s: 1st sort by a column {rows}"), first);
    println!("  1st sort by each column in turn, ms: {}", each.join(" "));
    println!("  of which update (the sort), ms:      {}", sorts.join(" "));
    report(&format!("s: sort again {rows}"), again);
    report(&format!("o: reverse {rows}"), reverse);
}

/// `:all pods` over 20 ORBs with 5k pods each in their Live table (as the runtime's watches
/// leave them): the first frame after the command, the RSS, then j/k and sorting.
fn all_pods() {
    let statuses = [
        "Running",
        "Running",
        "Running",
        "Pending",
        "CrashLoopBackOff",
        "Completed",
    ];
    let healths = [
        ("Healthy", ""),
        ("Progressing", "scheduling"),
        ("Degraded", "back-off"),
    ];
    let fleet: Vec<OrbView> = (0..20)
        .map(|o| {
            let mut view = big_orb(&format!("orb-{o:02}"), 0);
            view.live = orbdeck::ui::LiveTable {
                asked: "pods".into(),
                kind: "Pod".into(),
                api_version: "v1".into(),
                plural: "pods".into(),
                rows: (0..5000)
                    .map(|i: usize| {
                        let j = (i * 7919 + o * 31) % 5000;
                        common::pod(
                            &format!("team-{:02}", j % 97),
                            &format!("notebook-{:05x}-{j:04}", (j * 2_654_435_761) & 0xfffff),
                            statuses[i % statuses.len()],
                            (j % 7) as u32,
                            healths[i % healths.len()],
                        )
                    })
                    .collect(),
                ..Default::default()
            };
            view
        })
        .collect();
    let rss_before = rss_kib();
    let mut s = new_state(fleet);
    let mut t = terminal();
    t.draw(|f| render(&s, f)).unwrap();
    type_text(&mut s, ":all pods");
    let start = Instant::now();
    update(&mut s, key(KeyCode::Enter));
    t.draw(|f| render(&s, f)).unwrap();
    println!(
        ":all pods over 20 ORBs x 5k pods: first frame {:.1} ms after enter, {} rows; RSS {} MiB ({} MiB before the state)",
        start.elapsed().as_secs_f64() * 1000.0,
        s.rows.len(),
        rss_kib() / 1024,
        rss_before / 1024
    );
    let jk: Vec<Action> = (0..1000)
        .map(|i| key(KeyCode::Char(if i % 3 == 2 { 'k' } else { 'j' })))
        .collect();
    let mut samples = Vec::new();
    timed(&mut s, &mut t, &jk, &mut samples);
    report("j/k (100k pods)", samples);
    sorts(&mut s, &mut t, "100k pods");
    println!(
        "  RSS after sorting by every column: {} MiB",
        rss_kib() / 1024
    );
}

fn row_bytes() {
    let orb = big_orb("alpha", 5000);
    let usage = |u: &Option<Usage>| {
        u.as_ref()
            .map_or(0, |u| u.used_text.capacity() + u.hard_text.capacity())
    };
    let heap = |p: &ProfileRow| {
        p.name.capacity()
            + p.owner.capacity()
            + p.namespace.capacity()
            + p.conditions.capacity()
            + usage(&p.cpu)
            + usage(&p.memory)
            + usage(&p.gpu)
            + usage(&p.pods)
            + p.source.as_ref().map_or(0, |(path, _)| path.capacity())
    };
    let total: usize = orb.profiles.iter().map(heap).sum();
    let inline = std::mem::size_of::<ProfileRow>();
    let avg = inline + total / orb.profiles.len();
    println!(
        "ProfileRow: {inline} bytes inline + {} bytes of strings = ~{avg} bytes per cached row (goal <= 1536)",
        total / orb.profiles.len()
    );
}

fn first_frame_unreachable() {
    let fleet: Vec<OrbView> = (0..20)
        .map(|i| OrbView {
            name: format!("orb-{i:02}"),
            health: Health::Unreachable {
                reason: format!("dial tcp 10.0.{i}.1:6443: i/o timeout"),
            },
            ..OrbView::default()
        })
        .collect();
    let start = Instant::now();
    let s = new_state(fleet);
    let mut t = terminal();
    t.draw(|f| render(&s, f)).unwrap();
    println!(
        "first frame, 20 ORBs all unreachable: {:.3} ms (goal <= 100 ms)",
        start.elapsed().as_secs_f64() * 1000.0
    );
}

/// RSS of this process in KiB (Linux), 0 where unknown.
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The log view following 10k lines/s for 5 s of wall time: batches every 33 ms as the runtime
/// sends them (parsed off the render path, as the stream task does), a key between batches, a
/// frame after each; key-to-frame is the key's update and the frame showing the newest lines.
fn log_follow() {
    use orbdeck::ui::logs::{LogLine, MAX_LINES};
    let mut s = new_state(vec![big_orb("alpha", 10)]);
    let mut view = s.fleet[0].clone();
    view.live = orbdeck::ui::LiveTable {
        asked: "pods".into(),
        kind: "Pod".into(),
        api_version: "v1".into(),
        plural: "pods".into(),
        rows: vec![orbdeck::ui::LiveRow {
            namespace: "alice".into(),
            name: "notebook-0".into(),
            containers: vec!["jupyter".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    type_text(&mut s, ":pods");
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, Action::OrbUpdated(0, Box::new(view)));
    type_text(&mut s, "l/kernel 7");
    update(&mut s, key(KeyCode::Enter));
    type_text(&mut s, "G");
    let stream = s.logs.as_ref().map_or(0, |l| l.stream);
    let mut t = terminal();
    let keys = ['k', 'G', 'w', 't', 'n', 'G', 'w', 't'];
    let (rate, secs) = (10_000.0, 5.0);
    let rss_before = rss_kib();
    let start = Instant::now();
    let (mut sent, mut parse) = (0u64, Duration::ZERO);
    let (mut key_frames, mut batch_frames) = (Vec::new(), Vec::new());
    let mut i = 0;
    while start.elapsed().as_secs_f64() < secs {
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        let p = Instant::now();
        let lines: Vec<LogLine> = (sent..due.max(sent))
            .map(|n| {
                LogLine::parse(&format!(
                    "2026-12-01T10:{:02}:{:02}.{:06}Z \u{1b}[32m[I ServerApp]\u{1b}[0m 200 GET /api/kernels?{n} (alice@10.0.0.7) {}.{}ms kernel {}",
                    n / 60_000 % 60, n / 1000 % 60, n % 1_000_000, n % 17, n % 10, n % 97
                ))
            })
            .collect();
        parse += p.elapsed();
        sent = due.max(sent);
        let b = Instant::now();
        update(&mut s, Action::LogLines { stream, lines });
        t.draw(|f| render(&s, f)).unwrap();
        batch_frames.push(b.elapsed());
        let k = Instant::now();
        update(&mut s, key(KeyCode::Char(keys[i % keys.len()])));
        t.draw(|f| render(&s, f)).unwrap();
        key_frames.push(k.elapsed());
        i += 1;
        std::thread::sleep(Duration::from_millis(33).saturating_sub(b.elapsed()));
    }
    let took = start.elapsed().as_secs_f64();
    let logs = s.logs.as_ref().expect("the log view is open");
    println!(
        "logs: followed {sent} lines in {took:.1} s ({:.0} lines/s), parsing {:.1} µs/line off the render path",
        sent as f64 / took,
        parse.as_secs_f64() * 1e6 / sent.max(1) as f64
    );
    report("logs: key while following", key_frames);
    report("logs: batch of ~330 lines", batch_frames);
    println!(
        "logs: buffer {} lines (max {MAX_LINES}), {} KiB of text held, {} older lines dropped; RSS {} MiB -> {} MiB",
        logs.lines.len(),
        logs.bytes / 1024,
        logs.dropped,
        rss_before / 1024,
        rss_kib() / 1024
    );
}

/// Sizes of the fleet-watch section, from the bench's arguments: `sims N profiles M`
/// (`sims 0` skips it).
fn fleet_size() -> (usize, usize) {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    (arg("sims", 20), arg("profiles", 10_000))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, kubeconfig, sims, profiles, ..] = &args[..]
        && mode == watch::CHILD
    {
        let (sims, profiles) = (sims.parse().unwrap(), profiles.parse().unwrap());
        return watch::child(kubeconfig.into(), sims, profiles);
    }
    println!(
        "orbdeck ui bench ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    first_frame_unreachable();
    row_bytes();
    frame_time(10_000);
    frame_time(100_000);
    fleet_latency();
    all_pods();
    log_follow();
    let (sims, profiles) = fleet_size();
    if sims > 0 {
        watch::parent(sims, profiles);
    }
}
