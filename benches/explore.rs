//! The interactive explorer (`layerscope explore`) against its speed targets, on the
//! benchmark image: the `many` preset of benches/gen_images.py (10 layers, 300 MB, 200,000
//! files, 6,000 whiteouts).
//!
//! Targets: the first frame within 1 s of a finished analysis and within 1.5 s of the start
//! (open + analysis + explorer + frame); every key (state update + a frame drawn into
//! ratatui's test buffer, 120x40) p99 under 16 ms, on the state a user has once the
//! background thread has prepared every layer.
//!
//! What runs, in order:
//!
//! 1. `explore_first_frame/with_analysis`: `Pipeline::run` (open and analyse, as the command
//!    does), `Explorer::new`, one frame (criterion, 10 samples);
//! 2. `explore_first_frame/after_analysis`: `Explorer::new` from a finished pipeline and one
//!    frame (criterion, 10 samples; the analysis is set up outside the timing);
//! 3. `explore_key/<key>`: criterion per kind of key;
//! 4. a scripted session of about 5,300 keys (deterministic), timed key by key, and a
//!    summary on standard error: the first frame's wall and CPU times (median of 5 runs each)
//!    and p50/p99/max per kind of key and over all keys, each next to its target.
//!
//! Wall times on a busy machine include waiting for a CPU: the summary also gives the CPU
//! time the work got (the whole process for the first frame, whose analysis runs on every
//! core; the calling thread for a key), from Linux's /proc.
//!
//! Image: `LAYERSCOPE_EXPLORE_IMAGE`, default `/tmp/explore-bench/many.tar`, generated with
//! `python3 benches/gen_images.py --preset many --out PATH` when missing. Run all:
//! `cargo bench --bench explore`; the summary alone (no criterion groups):
//! `cargo bench --bench explore -- --summary-only`.

use criterion::{BatchSize, Criterion, criterion_group};
use layerscope::{Pipeline, PipelineOptions};
use layerscope_cli::explore::{Explorer, Options};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const FIRST_FRAME_AFTER_ANALYSIS: Duration = Duration::from_millis(1_000);
const FIRST_FRAME_WITH_ANALYSIS: Duration = Duration::from_millis(1_500);
const KEY_P99: Duration = Duration::from_millis(16);

fn image_path() -> PathBuf {
    let path = std::env::var_os("LAYERSCOPE_EXPLORE_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/explore-bench/many.tar"));
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the bench directory");
        }
        eprintln!("generating {} (preset many)", path.display());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/gen_images.py");
        let ok = std::process::Command::new("python3")
            .args([script, "--preset", "many", "--out"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not generate {} with {script}", path.display());
    }
    path
}

/// Open and analyse the image: what `layerscope explore` does before the explorer starts.
fn pipeline(path: &Path) -> Pipeline {
    let mut options = PipelineOptions::default().image(path);
    options.analysis = layerscope_cli::explore::analysis_options(options.analysis);
    Pipeline::run(&options).expect("analyse the bench image")
}

/// The background thread is off: here every layer is prepared before keys are measured
/// (`wait_for_layers`), and for the first frame it would only start after the frame.
const OPTIONS: Options = Options {
    color: true,
    background: false,
};

fn explorer(pipeline: Pipeline) -> Explorer {
    Explorer::new(pipeline, std::env::temp_dir(), OPTIONS).expect("explorer")
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal")
}

/// The explorer and its first frame, from a finished pipeline.
fn first_frame(p: Pipeline) -> Explorer {
    let mut app = explorer(p);
    terminal().draw(|f| app.render(f)).expect("draw");
    app
}

fn first_frame_benches(c: &mut Criterion) {
    let path = image_path();
    let mut g = c.benchmark_group("explore_first_frame");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("with_analysis", |b| b.iter(|| first_frame(pipeline(&path))));
    g.bench_function("after_analysis", |b| {
        b.iter_batched(|| pipeline(&path), first_frame, BatchSize::PerIteration)
    });
    g.finish();
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// A warm explorer: every layer's tree and size order ready, the tree focused.
fn warm(path: &Path) -> (Explorer, Terminal<TestBackend>) {
    let mut app = explorer(pipeline(path));
    app.wait_for_layers();
    let mut t = terminal();
    app.handle_key(key(KeyCode::Tab));
    t.draw(|f| app.render(f)).expect("draw");
    (app, t)
}

fn key_benches(c: &mut Criterion) {
    let path = image_path();
    let (mut app, mut t) = warm(&path);
    let mut g = c.benchmark_group("explore_key");
    let mut one = |name: &str, seq: &[KeyEvent], app: &mut Explorer| {
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                let k = seq[i % seq.len()];
                i += 1;
                app.handle_key(k);
                t.draw(|f| app.render(f)).expect("draw");
            })
        });
    };
    one("down", &[key(KeyCode::Down)], &mut app);
    one(
        "page_down_up",
        &[key(KeyCode::PageDown), key(KeyCode::PageUp)],
        &mut app,
    );
    one(
        "space_collapse_expand",
        &[key(KeyCode::Char(' '))],
        &mut app,
    );
    one("ctrl_l_changes_aggregated", &[ctrl('l')], &mut app);
    one("ctrl_o_sort", &[ctrl('o')], &mut app);
    one("ctrl_u_unmodified", &[ctrl('u')], &mut app);
    one("ctrl_space_collapse_all", &[ctrl(' ')], &mut app);
    one(
        "why_enter_esc",
        &[key(KeyCode::Enter), key(KeyCode::Esc)],
        &mut app,
    );
    // Layer switches from the layers pane (trees ready).
    app.handle_key(key(KeyCode::Tab));
    one(
        "layer_up_down",
        &[key(KeyCode::Up), key(KeyCode::Down)],
        &mut app,
    );
    app.handle_key(key(KeyCode::Tab));
    // Typing a path filter: each character refilters the 200,000 rows.
    one(
        "filter_typing",
        &[
            ctrl('f'),
            key(KeyCode::Char('l')),
            key(KeyCode::Char('i')),
            key(KeyCode::Char('b')),
            key(KeyCode::Esc),
        ],
        &mut app,
    );
    g.finish();
}

/// CPU time of the calling thread: the first field of Linux's /proc/thread-self/schedstat
/// (nanoseconds on a CPU; see the kernel's Documentation/scheduler/sched-stats.rst). Some
/// kernels advance it only at scheduler ticks (4 ms at 250 Hz): then a key's CPU time reads
/// as 0 or a multiple of the tick, and only its percentiles over many keys mean something.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time of the whole process, user + system, from fields 14 and 15 of /proc/self/stat
/// (proc(5); clock ticks, 100 per second on Linux).
fn process_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

fn verdict(value: Duration, target: Duration) -> &'static str {
    if value < target { "meets" } else { "MISSES" }
}

/// The first frame, 5 times each way: (wall, process CPU) medians.
fn first_frame_summary(path: &Path) {
    let runs = 5;
    let (mut with_wall, mut with_cpu, mut after_wall, mut after_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (cpu0, t0) = (process_cpu(), Instant::now());
        let p = pipeline(path);
        let (cpu1, t1) = (process_cpu(), Instant::now());
        let app = first_frame(p);
        let (cpu2, t2) = (process_cpu(), Instant::now());
        drop(app);
        with_wall.push(t2 - t0);
        after_wall.push(t2 - t1);
        if let (Some(a), Some(b), Some(c)) = (cpu0, cpu1, cpu2) {
            with_cpu.push(c.saturating_sub(a));
            after_cpu.push(c.saturating_sub(b));
        }
    }
    eprintln!("first frame, median of {runs} runs (CPU: the whole process, 10 ms ticks):");
    for (name, wall, cpu, target) in [
        (
            "with analysis",
            &mut with_wall,
            &mut with_cpu,
            FIRST_FRAME_WITH_ANALYSIS,
        ),
        (
            "after analysis",
            &mut after_wall,
            &mut after_cpu,
            FIRST_FRAME_AFTER_ANALYSIS,
        ),
    ] {
        let (w, c) = (percentile(wall, 0.5), percentile(cpu, 0.5));
        eprintln!(
            "  {name:<15} wall {w:>9.3?}  cpu {c:>9.3?}  target {target:?}: {}",
            verdict(w, target)
        );
    }
}

/// A deterministic session of mixed keys, timed one by one.
fn session(app: &mut Explorer) {
    let mut t = terminal();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Wall time, and the CPU time this thread got (so that a busy machine's waiting is told
    // apart from the work a key costs).
    let mut times: Vec<(&'static str, Duration, Option<Duration>)> = Vec::new();
    let mut run = |name: &'static str, keys: &[KeyEvent], app: &mut Explorer| {
        for k in keys {
            let cpu = thread_cpu();
            let start = Instant::now();
            app.handle_key(*k);
            t.draw(|f| app.render(f)).expect("draw");
            let wall = start.elapsed();
            let cpu = cpu.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a));
            times.push((name, wall, cpu));
        }
    };
    for _ in 0..3_000 {
        match next() % 20 {
            0..=7 => run("move", &[key(KeyCode::Down)], app),
            8 => run("move", &[key(KeyCode::Up)], app),
            9 => run("page", &[key(KeyCode::PageDown)], app),
            10 => run("page", &[key(KeyCode::PageUp)], app),
            11 => run("space", &[key(KeyCode::Char(' '))], app),
            12 => run(
                "layer",
                &[key(KeyCode::Tab), key(KeyCode::Up), key(KeyCode::Tab)],
                app,
            ),
            13 => run(
                "layer",
                &[key(KeyCode::Tab), key(KeyCode::Down), key(KeyCode::Tab)],
                app,
            ),
            14 => run("ctrl_l", &[ctrl('l')], app),
            15 => run("ctrl_o", &[ctrl('o')], app),
            16 => {
                let c = ['a', 'r', 'm', 'u'][(next() % 4) as usize];
                run("ctrl_armu", &[ctrl(c), ctrl(c)], app)
            }
            17 => run(
                "filter",
                &[
                    ctrl('f'),
                    key(KeyCode::Char('d')),
                    key(KeyCode::Char('0')),
                    key(KeyCode::Enter),
                    ctrl('f'),
                    key(KeyCode::Esc),
                ],
                app,
            ),
            18 => run(
                "search",
                &[
                    key(KeyCode::Char('/')),
                    key(KeyCode::Char('f')),
                    key(KeyCode::Char('1')),
                    key(KeyCode::Enter),
                    key(KeyCode::Char('n')),
                ],
                app,
            ),
            _ => run("why", &[key(KeyCode::Enter), key(KeyCode::Esc)], app),
        }
    }
    let mut names: Vec<&str> = times.iter().map(|(n, ..)| *n).collect();
    names.sort();
    names.dedup();
    eprintln!(
        "key session: {} keys at {WIDTH}x{HEIGHT} (CPU: this thread)",
        times.len()
    );
    eprintln!(
        "  {:<10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "key", "count", "wall p50", "wall p99", "wall max", "cpu p50", "cpu p99"
    );
    names.push("ALL");
    for name in names {
        let sel = |(n, ..): &&(&str, Duration, Option<Duration>)| name == "ALL" || *n == name;
        let mut wall: Vec<Duration> = times.iter().filter(sel).map(|(_, w, _)| *w).collect();
        let mut cpu: Vec<Duration> = times.iter().filter(sel).filter_map(|(.., c)| *c).collect();
        let count = wall.len();
        let (p50, p99, max) = (
            percentile(&mut wall, 0.5),
            percentile(&mut wall, 0.99),
            percentile(&mut wall, 1.0),
        );
        let (c50, c99) = (percentile(&mut cpu, 0.5), percentile(&mut cpu, 0.99));
        eprintln!(
            "  {name:<10} {count:>6} {p50:>10.2?} {p99:>10.2?} {max:>10.2?} {c50:>10.2?} {c99:>10.2?}"
        );
        if name == "ALL" {
            eprintln!(
                "  every key: wall p99 {p99:.2?} against {KEY_P99:?}: {}",
                verdict(p99, KEY_P99)
            );
        }
    }
}

fn summary() {
    let path = image_path();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "\nexplore summary: {} ({} CPUs, load average {})",
        path.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    first_frame_summary(&path);
    let (mut app, _) = warm(&path);
    session(&mut app);
}

criterion_group!(benches, first_frame_benches, key_benches);

fn main() {
    // `--summary-only` skips criterion (the lead's quick check); criterion's own flags pass
    // through otherwise, e.g. `-- explore_key` runs the key benches alone.
    let summary_only = std::env::args().any(|a| a == "--summary-only");
    if !summary_only {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs the bench once as a test
    // (without it): there the summary is skipped, as criterion skips its measurements.
    if summary_only || std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
