//! `layerscope explore`: an interactive terminal explorer (ratatui + crossterm) in dive's
//! layout and with dive's keys, plus what dive cannot show: why a file costs what it costs,
//! the waste and recommendations with a jump to the file or the Dockerfile line, what a
//! change to a context file rebuilds, and a pager reading the file from its layer blob.
//!
//! The state ([`Explorer`]) is separate from the terminal so that tests and the benchmark
//! drive it with keys and draw it into a ratatui test buffer.

mod app;
mod tree;
mod ui;

pub use app::{Explorer, Flow, Focus, Input, Options, Pane};
pub use tree::{Filter, LayerTree, Sort};
pub use ui::{KEYS, change_letter};

use anyhow::{Context, Result};
use layerscope_core::Pipeline;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Whether colours are wanted: `NO_COLOR` set to anything non-empty turns them off
/// (<https://no-color.org>).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Fail before any work when standard output is not a terminal.
///
/// # Errors
/// Standard output is a file or a pipe.
pub fn require_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "explore is interactive and standard output is not a terminal; \
             use `layerscope tree` or `layerscope analyze` for text output"
        );
    }
    Ok(())
}

/// Puts the terminal back as it was. Runs on every way out of [`run`]: return, error, and
/// (through the panic hook) panic.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The first panic of a run of [`run`] (on any of its threads): message and place.
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn panic_text(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    match info.location() {
        Some(l) => format!("{message} (at {}:{})", l.file(), l.line()),
        None => message,
    }
}

fn panicked() -> Option<String> {
    PANIC.lock().ok().and_then(|p| p.clone())
}

/// Debug builds only: `LAYERSCOPE_EXPLORE_TEST_PANIC=ui` panics in the event loop once the
/// first frame is drawn, `=background` in the thread that prepares the other layers, so that
/// tests/explore_tmux.rs can check that a panic puts the terminal back and exits 2. Release
/// builds have no such switch.
#[cfg(debug_assertions)]
pub(crate) fn test_panic(at: &str) {
    if std::env::var("LAYERSCOPE_EXPLORE_TEST_PANIC").is_ok_and(|v| v == at) {
        panic!("LAYERSCOPE_EXPLORE_TEST_PANIC={at}: a panic on purpose (debug builds only)");
    }
}

/// The explorer shows no file's content digest: the image is analysed without computing any
/// (layer digests are verified as always), which saves a sha256 pass over every file.
pub fn analysis_options(
    options: layerscope_core::AnalysisOptions,
) -> layerscope_core::AnalysisOptions {
    options.content_sha256(layerscope_core::ContentSha256::Omitted)
}

/// Run the explorer on the terminal until Q or Ctrl+C.
///
/// A panic on any of the explorer's threads puts the terminal back (raw mode off, main
/// screen, cursor shown) and comes back as an error naming the panic and its place, so that
/// the command prints one `layerscope: error:` line and exits 2 (with `RUST_BACKTRACE` set,
/// Rust's own panic report follows the restored screen too).
///
/// # Errors
/// The terminal cannot be set up, read or drawn to, or the explorer panicked.
pub fn run(pipeline: Pipeline, extract_dir: PathBuf) -> Result<()> {
    require_terminal()?;
    if let Ok(mut p) = PANIC.lock() {
        *p = None;
    }
    let ui = std::thread::current().id();
    let previous: Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(std::panic::take_hook());
    let hook = previous.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut p) = PANIC.lock() {
            p.get_or_insert_with(|| panic_text(info));
        }
        // Only the thread that draws restores the screen; another thread's panic is seen
        // by the event loop, which then stops and restores it.
        if std::thread::current().id() == ui {
            restore_terminal();
            if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                hook(info);
            }
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session(pipeline, extract_dir)
    }));
    std::panic::set_hook(Box::new(move |info| previous(info)));
    match outcome {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "internal error: the explorer panicked: {}",
            panicked().unwrap_or_else(|| "(no message)".into())
        )),
    }
}

fn session(pipeline: Pipeline, extract_dir: PathBuf) -> Result<()> {
    let options = Options {
        color: color_wanted(),
        background: true,
    };
    let mut app = Explorer::new(pipeline, extract_dir, options)?;
    enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    let _guard = TerminalGuard;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .context("cannot set up the terminal")?;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend).context("cannot set up the terminal")?;
    terminal.clear()?;
    loop {
        terminal.draw(|f| app.render(f)).context("cannot draw")?;
        #[cfg(debug_assertions)]
        test_panic("ui");
        if let Some(p) = panicked() {
            anyhow::bail!("internal error: the explorer panicked: {p}");
        }
        // Wake up now and then to take the layers the background thread finished.
        if !event::poll(Duration::from_millis(250)).context("cannot read the terminal")? {
            app.poll_background();
            continue;
        }
        let flow = match event::read().context("cannot read the terminal")? {
            Event::Key(k) => app.handle_key(k),
            Event::Mouse(m) => {
                app.handle_mouse(m);
                Flow::Continue
            }
            // ratatui resizes its buffers on the next draw.
            Event::Resize(..) => Flow::Continue,
            _ => Flow::Continue,
        };
        if flow == Flow::Quit {
            break;
        }
    }
    Ok(())
}
