//! The interactive explorer (`layerscope explore`) on the benchmark image: the `many` preset
//! of benches/gen_images.py (10 layers, 300 MB, 200,000 files, 6,000 whiteouts).
//!
//! - `explore_first_frame/analysis_and_first_frame`: open + analyse + build the explorer +
//!   draw the first frame (target 1.5 s);
//! - `explore_first_frame/after_analysis`: build the explorer from a finished analysis and
//!   draw the first frame (target 1 s);
//! - `explore_key/*`: one key (state update + a frame drawn into ratatui's test buffer,
//!   120x40), per kind of key, once every layer's tree is ready (the background thread's
//!   work, done here before measuring);
//! - a scripted session of 3,000 mixed keys, timed key by key, prints p50/p99/max per kind
//!   and overall (target: p99 under 16 ms).
//!
//! Image: `LAYERSCOPE_EXPLORE_IMAGE`, default `/tmp/explore-bench/many.tar`, generated with
//! `python3 benches/gen_images.py --preset many --out PATH` when missing.
//! Run: `cargo bench --bench explore`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use layerscope::{Analysis, AnalysisOptions, Image};
use layerscope_cli::explore::{Explorer, Inputs, Options};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

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

fn inputs(path: &PathBuf) -> Inputs {
    let image = Image::open(path).expect("open the bench image");
    let analysis = Analysis::run(&image, &AnalysisOptions::default()).expect("analyse");
    Inputs {
        image,
        analysis,
        dockerfile: None,
        attribution: None,
        context: None,
        build_args: Default::default(),
        extract_dir: std::env::temp_dir(),
    }
}

const OPTIONS: Options = Options {
    color: true,
    background: false,
};

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal")
}

fn first_frame(c: &mut Criterion) {
    let path = image_path();
    let mut g = c.benchmark_group("explore_first_frame");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("analysis_and_first_frame", |b| {
        b.iter(|| {
            let mut app = Explorer::new(inputs(&path), OPTIONS).expect("explorer");
            let mut t = terminal();
            t.draw(|f| app.render(f)).expect("draw");
            app
        })
    });
    g.bench_function("after_analysis", |b| {
        b.iter_batched(
            || inputs(&path),
            |i| {
                let mut app = Explorer::new(i, OPTIONS).expect("explorer");
                let mut t = terminal();
                t.draw(|f| app.render(f)).expect("draw");
                app
            },
            BatchSize::PerIteration,
        )
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
fn warm(path: &PathBuf) -> (Explorer, Terminal<TestBackend>) {
    let mut app = Explorer::new(inputs(path), OPTIONS).expect("explorer");
    app.wait_for_layers();
    let mut t = terminal();
    app.handle_key(key(KeyCode::Tab));
    t.draw(|f| app.render(f)).expect("draw");
    (app, t)
}

fn keys(c: &mut Criterion) {
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
    session(&mut app);
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
    let pct = |v: &mut Vec<Duration>, p: f64| -> Duration {
        v.sort();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    };
    let mut names: Vec<&str> = times.iter().map(|(n, ..)| *n).collect();
    names.sort();
    names.dedup();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "\nexplore session: {} keys at {WIDTH}x{HEIGHT}; load average {}",
        times.len(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    eprintln!(
        "{:<10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "key", "count", "wall p50", "wall p99", "wall max", "cpu p50", "cpu p99"
    );
    names.push("ALL");
    for name in names {
        let sel = |(n, ..): &&(&str, Duration, Option<Duration>)| name == "ALL" || *n == name;
        let mut wall: Vec<Duration> = times.iter().filter(sel).map(|(_, w, _)| *w).collect();
        let mut cpu: Vec<Duration> = times.iter().filter(sel).filter_map(|(.., c)| *c).collect();
        let count = wall.len();
        let (p50, p99, max) = (
            pct(&mut wall, 0.5),
            pct(&mut wall, 0.99),
            pct(&mut wall, 1.0),
        );
        let (c50, c99) = if cpu.is_empty() {
            (Duration::ZERO, Duration::ZERO)
        } else {
            (pct(&mut cpu, 0.5), pct(&mut cpu, 0.99))
        };
        eprintln!(
            "{name:<10} {count:>6} {p50:>10.2?} {p99:>10.2?} {max:>10.2?} {c50:>10.2?} {c99:>10.2?}"
        );
    }
}

/// CPU time of the calling thread: the first field of Linux's /proc/thread-self/schedstat
/// (nanoseconds on a CPU; see the kernel's Documentation/scheduler/sched-stats.rst).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

criterion_group!(benches, first_frame, keys);
criterion_main!(benches);
