//! `layerscope explore` in a real terminal: tmux runs it on its own server (`-L`, a socket
//! name of this test's own), keys are sent with `send-keys` and the screen is read with
//! `capture-pane`. The server is stopped by a guard, also when an assertion fails.
//!
//! Without tmux the tests are skipped with a message; with `LAYERSCOPE_REQUIRE_TMUX=1`
//! (set by .ci/run) a missing tmux is a failure. `scripts/test.sh` installs tmux.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/real")
        .join(rel)
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("LAYERSCOPE_REQUIRE_TMUX").is_none_or(|v| v != "1"),
            "LAYERSCOPE_REQUIRE_TMUX=1 but tmux cannot be run"
        );
        eprintln!("skipped: tmux is not installed (scripts/test.sh installs it)");
    }
    found
}

/// One tmux server with one 80x24 window running a command; stopped on drop.
struct Tmux {
    socket: String,
    socket_path: Option<PathBuf>,
    pid: Option<u32>,
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!("layerscope-test-{}-{name}", std::process::id());
        let exit = dir.path().join("exit");
        let (before, after) = (
            dir.path().join("stty.before"),
            dir.path().join("stty.after"),
        );
        // The terminal's settings are saved before and after the explorer (`stty -g`): equal
        // means raw mode is off again. The shell keeps the pane open after the explorer
        // exits, so that the restored screen can still be read.
        let script = format!(
            "stty -g > {b}; {command}; code=$?; stty -g > {a}; echo EXIT=$code > {e}; exec sleep 600",
            b = before.display(),
            a = after.display(),
            e = exit.display()
        );
        let mut t = Tmux {
            socket,
            socket_path: None,
            pid: None,
            dir,
        };
        let ok = t
            .cmd(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                &script,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        let pid = t.cmd(&["display-message", "-p", "#{pid}"]).stdout;
        t.pid = String::from_utf8_lossy(&pid).trim().parse().ok();
        let path = t.cmd(&["display-message", "-p", "#{socket_path}"]).stdout;
        t.socket_path = Some(PathBuf::from(String::from_utf8_lossy(&path).trim()))
            .filter(|p| !p.as_os_str().is_empty());
        t
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "0"]).stdout).into_owned()
    }

    fn screen_with_escapes(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-e", "-t", "0"]).stdout)
            .into_owned()
    }

    fn format(&self, f: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", "-t", "0", f]).stdout)
            .trim()
            .to_string()
    }

    /// Wait until the screen satisfies `pred` (a liveness bound, not a timing assertion).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The terminal settings before the explorer and after it (read once it has exited).
    fn stty(&self) -> (String, String) {
        let read = |name: &str| {
            std::fs::read_to_string(self.dir.path().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .trim()
                .to_string()
        };
        (read("stty.before"), read("stty.after"))
    }

    fn exit_code(&self) -> String {
        let path = self.dir.path().join("exit");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(s) = std::fs::read_to_string(&path)
                && !s.is_empty()
            {
                return s.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the explorer did not exit; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
        if let Some(pid) = self.pid {
            // kill-server normally suffices; make sure by PID.
            let _ = Command::new("kill").arg(pid.to_string()).output();
        }
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn explore_command(env: &str, image: &Path, extra: &str) -> String {
    format!(
        "env {env} {} explore {} {extra}",
        env!("CARGO_BIN_EXE_layerscope"),
        image.display()
    )
}

#[test]
fn keys_resize_and_quit_in_a_real_terminal() {
    if !tmux_available() {
        return;
    }
    let df = fixture("node-bad/Dockerfile");
    let cmd = explore_command(
        "TERM=xterm-256color",
        &fixture("node-bad/image.docker.tar"),
        &format!("-f {}", df.display()),
    );
    let t = Tmux::start("keys", &cmd);
    t.wait_for("the first frame", |s| {
        s.contains("Filesystem after layer 2")
    });
    assert_eq!(t.format("#{alternate_on}"), "1");
    // Tab to the tree, Ctrl+L: layer 2's changes (the files the RUN wrote), in green.
    t.keys(&["Tab", "C-l"]);
    let s = t.wait_for("layer changes", |s| s.contains("Changes in layer 2"));
    assert!(s.contains("A -rw"), "{s}");
    // Green as tmux re-encodes it (palette colour 2) or as plain SGR 32.
    let escaped = t.screen_with_escapes();
    assert!(
        escaped.contains("\u{1b}[38;5;2m") || escaped.contains("\u{1b}[32m"),
        "added rows are green:\n{escaped:?}"
    );
    // Ctrl+Space (a NUL byte from the terminal) collapses every folder, again expands them.
    t.keys(&["C-l", "C-Space"]);
    t.wait_for("every folder collapsed", |s| {
        s.contains("▸ etc/") && !s.contains("lrwx")
    });
    t.keys(&["C-Space"]);
    t.wait_for("every folder expanded", |s| !s.contains("▸ "));
    // Ctrl+O: sorted by size, shown in the status bar.
    t.keys(&["C-o"]);
    t.wait_for("size order", |s| s.contains("Sort: size"));
    // The help overlay, then Esc closes it.
    t.keys(&["?"]);
    t.wait_for("the help", |s| s.contains("Keys (Up/Down"));
    t.keys(&["Escape"]);
    t.wait_for("the help to close", |s| !s.contains("Keys (Up/Down"));
    // A resize is followed: the frame is redrawn at the new width.
    assert!(
        t.cmd(&["resize-window", "-t", "0", "-x", "100", "-y", "30"])
            .status
            .success()
    );
    t.wait_for("a 100-column frame", |s| {
        s.lines().next().is_some_and(|l| l.chars().count() == 100)
    });
    t.keys(&["q"]);
    assert_eq!(t.exit_code(), "EXIT=0");
    // The terminal is back: main screen, cursor shown, the UI gone.
    assert_eq!(t.format("#{alternate_on}"), "0");
    assert_eq!(t.format("#{cursor_flag}"), "1");
    let (before, after) = t.stty();
    assert_eq!(
        before, after,
        "the terminal settings (raw mode) are not restored"
    );
    assert!(!t.screen().contains("Layers"));
}

/// A panic, on the thread that draws or on the one that prepares the other layers, puts the
/// terminal back (main screen, cursor shown, raw mode off) and exits 2 with one
/// `layerscope: error:` line naming the panic. The panic is caused on purpose by
/// `LAYERSCOPE_EXPLORE_TEST_PANIC=ui|background`, which only debug builds read
/// (`test_panic` in layerscope-cli/src/explore/mod.rs); `cargo test --release` skips this.
#[test]
fn a_panic_restores_the_terminal_and_exits_2() {
    if !tmux_available() {
        return;
    }
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the panic switch exists only in debug builds");
        return;
    }
    for at in ["ui", "background"] {
        let cmd = explore_command(
            &format!("-u RUST_BACKTRACE TERM=xterm-256color LAYERSCOPE_EXPLORE_TEST_PANIC={at}"),
            &fixture("node-bad/image.docker.tar"),
            "",
        );
        let t = Tmux::start(&format!("panic-{at}"), &cmd);
        assert_eq!(t.exit_code(), "EXIT=2", "{at}: {}", t.screen());
        assert_eq!(t.format("#{alternate_on}"), "0", "{at}");
        assert_eq!(t.format("#{cursor_flag}"), "1", "{at}");
        let (before, after) = t.stty();
        assert_eq!(
            before, after,
            "{at}: the terminal settings are not restored"
        );
        // The message wraps at 80 columns: read it as one line.
        let s = t.screen().replace('\n', "");
        let want = format!(
            "layerscope: error: internal error: the explorer panicked: \
             LAYERSCOPE_EXPLORE_TEST_PANIC={at}: a panic on purpose"
        );
        assert!(s.contains(&want), "{at}: {s}");
        assert_eq!(s.matches("layerscope: error:").count(), 1, "{at}: {s}");
        assert!(!s.contains("panicked at"), "{at}: Rust's own report: {s}");
        assert!(
            !s.contains("Layers"),
            "{at}: the UI is still on screen: {s}"
        );
    }
}

#[test]
fn no_color_and_ctrl_c_in_a_real_terminal() {
    if !tmux_available() {
        return;
    }
    let cmd = explore_command(
        "TERM=xterm-256color NO_COLOR=1",
        &fixture("node-bad/image.docker.tar"),
        "",
    );
    let t = Tmux::start("nocolor", &cmd);
    t.wait_for("the first frame", |s| {
        s.contains("Filesystem after layer 2")
    });
    t.keys(&["Tab", "C-l"]);
    t.wait_for("layer changes", |s| s.contains("Changes in layer 2"));
    let escaped = t.screen_with_escapes();
    assert!(
        !escaped.contains("38;5;"),
        "a colour under NO_COLOR:\n{escaped:?}"
    );
    for c in 1..8 {
        assert!(
            !escaped.contains(&format!("\u{1b}[3{c}m")),
            "a colour under NO_COLOR:\n{escaped:?}"
        );
    }
    t.keys(&["C-c"]);
    assert_eq!(t.exit_code(), "EXIT=0");
    assert_eq!(t.format("#{alternate_on}"), "0");
}

#[test]
fn an_unreadable_image_is_an_error_not_a_screen() {
    if !tmux_available() {
        return;
    }
    let missing = fixture("no-such-image.tar");
    let t = Tmux::start(
        "error",
        &explore_command("TERM=xterm-256color", &missing, ""),
    );
    assert_eq!(t.exit_code(), "EXIT=2");
    // The message wraps at 80 columns: read it as one line.
    let s = t.screen().replace('\n', "");
    assert!(
        s.contains("layerscope: error:") && s.contains("no-such-image.tar"),
        "{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}
