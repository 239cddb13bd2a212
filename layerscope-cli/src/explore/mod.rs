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

pub use app::{Explorer, Flow, Focus, Input, Inputs, Options, Pane};
pub use tree::{Filter, LayerTree, Sort};
pub use ui::{KEYS, change_letter};

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::io::IsTerminal;
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

/// Run the explorer on the terminal until Q or Ctrl+C.
///
/// # Errors
/// The terminal cannot be set up, read or drawn to.
pub fn run(inputs: Inputs) -> Result<()> {
    require_terminal()?;
    let options = Options {
        color: color_wanted(),
        background: true,
    };
    let mut app = Explorer::new(inputs, options)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    let _guard = TerminalGuard;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .context("cannot set up the terminal")?;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend).context("cannot set up the terminal")?;
    terminal.clear()?;
    loop {
        terminal.draw(|f| app.render(f)).context("cannot draw")?;
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
