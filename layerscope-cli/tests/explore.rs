//! The explorer's state and drawing, driven by keys on the real fixtures (images built by
//! buildah, tests/fixtures/real) and drawn into ratatui's test backend. Expected figures come
//! from `tar tvf` of the layers (see each test).

use layerscope_cli::explore::{Explorer, Flow, Focus, KEYS, Options, Pane};
use layerscope_core::{Pipeline, PipelineOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::style::Color;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/real")
        .join(name)
}

fn explorer_with(name: &str, with_dockerfile: bool, color: bool, extract_dir: &Path) -> Explorer {
    let dir = fixture(name);
    let mut options = PipelineOptions::default().image(dir.join("image.docker.tar"));
    if with_dockerfile {
        options = options
            .dockerfile(dir.join("Dockerfile"))
            .context(dir.join("context"));
    }
    let pipeline = Pipeline::run(&options).unwrap();
    let options = Options {
        color,
        background: false,
    };
    let mut app = Explorer::new(pipeline, extract_dir.to_path_buf(), options).unwrap();
    app.load_all_layers();
    app
}

fn explorer(name: &str, with_dockerfile: bool) -> Explorer {
    explorer_with(name, with_dockerfile, false, Path::new("/nonexistent"))
}

fn draw_terminal(app: &mut Explorer, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.render(f)).unwrap();
    t
}

/// The screen as text, one line per row, trailing blanks cut.
fn draw(app: &mut Explorer, w: u16, h: u16) -> String {
    let t = draw_terminal(app, w, h);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn press(app: &mut Explorer, code: KeyCode) -> Flow {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(app: &mut Explorer, c: char) -> Flow {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(app: &mut Explorer, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Select layer `n` from the layers pane (the explorer starts on the top layer).
fn to_layer(app: &mut Explorer, n: usize) {
    assert_eq!(app.focus(), Focus::Layers);
    while app.layer() > n {
        press(app, KeyCode::Up);
    }
    while app.layer() < n {
        press(app, KeyCode::Down);
    }
}

fn find(app: &mut Explorer, text: &str) {
    press(app, KeyCode::Char('/'));
    typed(app, text);
    press(app, KeyCode::Enter);
}

#[test]
fn first_frame_at_80x24() {
    let mut app = explorer("node-bad", true);
    insta::assert_snapshot!("node_bad_first_frame_80x24", draw(&mut app, 80, 24));
}

#[test]
fn wide_terminal_and_resize() {
    let mut app = explorer("overwrite-opaque", false);
    insta::assert_snapshot!("overwrite_opaque_120x32", draw(&mut app, 120, 32));
    // The same state drawn again at another size: the layout follows, nothing is cut wrong.
    let small = draw(&mut app, 80, 24);
    assert_eq!(small.lines().count(), 24);
    assert!(small.lines().all(|l| l.chars().count() <= 80));
    // Tiny terminals draw something without panicking.
    for (w, h) in [(20, 5), (1, 1), (80, 3)] {
        draw(&mut app, w, h);
    }
}

/// Layer 3 of overwrite-opaque (`tar tvf`): `etc/app/conf.d/.wh..wh..opq` and
/// `etc/app/conf.d/new.conf` (4 bytes). The opaque marker hides layer 1's `old1.conf` and
/// `old2.conf` (2 bytes each).
#[test]
fn layer_changes_of_the_opaque_layer() {
    let mut app = explorer("overwrite-opaque", false);
    to_layer(&mut app, 3);
    ctrl(&mut app, 'l');
    let files: Vec<(char, String)> = app
        .visible_paths()
        .into_iter()
        .filter(|(_, p)| p.ends_with(".conf"))
        .collect();
    assert_eq!(
        files,
        vec![
            ('A', "etc/app/conf.d/new.conf".to_string()),
            ('D', "etc/app/conf.d/old1.conf".to_string()),
            ('D', "etc/app/conf.d/old2.conf".to_string()),
        ]
    );
    // Nothing unchanged below the folders: bin/busybox (layer 0) is gone from the list.
    assert!(
        !app.visible_paths()
            .iter()
            .any(|(_, p)| p.starts_with("bin"))
    );
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("overwrite_opaque_layer3_changes", draw(&mut app, 80, 24));
    // Ctrl+L again: the aggregated filesystem, busybox included.
    ctrl(&mut app, 'l');
    assert!(app.visible_paths().iter().any(|(_, p)| p == "bin/busybox"));
}

#[test]
fn each_change_kind_can_be_hidden() {
    let mut app = explorer("overwrite-opaque", false);
    to_layer(&mut app, 3);
    ctrl(&mut app, 'l');
    let letters = |app: &Explorer| -> Vec<char> {
        let mut v: Vec<char> = app.visible_paths().iter().map(|(c, _)| *c).collect();
        v.sort();
        v.dedup();
        v
    };
    assert!(letters(&app).contains(&'A') && letters(&app).contains(&'D'));
    ctrl(&mut app, 'r');
    assert!(!letters(&app).contains(&'D'), "Ctrl+R hides removed");
    ctrl(&mut app, 'a');
    assert!(!letters(&app).contains(&'A'), "Ctrl+A hides added");
    ctrl(&mut app, 'r');
    ctrl(&mut app, 'a');
    // Layer 5 rewrote data/big.bin with the same 1 MiB of zeros: metadata only (m).
    to_layer(&mut app, 5);
    assert!(
        app.visible_paths()
            .contains(&('m', "data/big.bin".to_string()))
    );
    ctrl(&mut app, 'm');
    assert!(!app.visible_paths().iter().any(|(_, p)| p == "data/big.bin"));
    ctrl(&mut app, 'm');
    // Aggregated, unmodified hidden: only what layer 5 changed remains, as with Ctrl+L.
    ctrl(&mut app, 'l');
    let all = app.visible_paths().len();
    ctrl(&mut app, 'u');
    assert!(app.visible_paths().len() < all);
    assert!(
        app.visible_paths()
            .iter()
            .all(|(c, p)| *c != ' ' || p == "data" || p == "run")
    );
}

#[test]
fn path_filter_keeps_matches_and_their_folders() {
    let mut app = explorer("overwrite-opaque", false);
    ctrl(&mut app, 'f');
    typed(&mut app, "conf.d/");
    press(&mut app, KeyCode::Enter);
    let paths: Vec<String> = app.visible_paths().into_iter().map(|(_, p)| p).collect();
    // The final image: conf.d holds new.conf (layer 3) and a.conf, b.conf (layer 6).
    assert_eq!(
        paths,
        [
            "etc",
            "etc/app",
            "etc/app/conf.d",
            "etc/app/conf.d/a.conf",
            "etc/app/conf.d/b.conf",
            "etc/app/conf.d/new.conf"
        ]
    );
    insta::assert_snapshot!("overwrite_opaque_filtered", draw(&mut app, 80, 24));
    // Esc in the filter line clears it.
    ctrl(&mut app, 'f');
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.visible_paths().len(), app.tree().unwrap().len());
}

/// Folder sizes are the bytes of the files below them (`tar tvf`): /data holds big.bin
/// (1,048,576) after blob.bin's deletion; /etc/app/conf.d holds new.conf (4), a.conf (2),
/// b.conf (2).
#[test]
fn folder_sizes_are_the_sum_of_their_files() {
    let app = explorer("overwrite-opaque", false);
    let tree = app.tree().unwrap();
    let size = |p: &str| tree.row(tree.find(p).unwrap()).unwrap().size;
    assert_eq!(size("data"), 1_048_576);
    assert_eq!(size("etc/app/conf.d"), 8);
    assert_eq!(size("etc/app/config.txt"), 22);
    // Before layer 4 deleted it, blob.bin counted too.
    let mut app = explorer("overwrite-opaque", false);
    to_layer(&mut app, 3);
    let tree = app.tree().unwrap();
    let data = tree.row(tree.find("data").unwrap()).unwrap().size;
    assert_eq!(data, 1_048_576 + 524_288);
}

/// Under a filter a folder's size counts the files the filter shows, and the status bar says
/// so. From `tar tvf` of overwrite-opaque's layers, the final image's paths containing
/// "conf" are etc/app/config.txt (22 B, layer 2), etc/app/conf.d/new.conf (4 B, layer 3),
/// a.conf and b.conf (2 B each, layer 6), etc/resolv.conf (0 B, layer 1), and the symlinks
/// bin/ifconfig and bin/vconfig (layer 0): /etc shows 30 B (139 B unfiltered), /bin 0 B.
#[test]
fn folder_sizes_count_what_the_filter_shows() {
    let mut app = explorer("overwrite-opaque", false);
    let size = |app: &Explorer, p: &str| {
        let tree = app.tree().unwrap();
        app.shown_size(tree.find(p).unwrap()).unwrap()
    };
    assert_eq!(size(&app, "etc"), 139);
    assert!(size(&app, "bin") > 0);
    let status = |app: &mut Explorer| draw(app, 120, 24).lines().last().unwrap().to_string();
    assert!(!status(&mut app).contains("sizes filtered"));
    ctrl(&mut app, 'f');
    typed(&mut app, "conf");
    press(&mut app, KeyCode::Enter);
    assert_eq!(size(&app, "etc"), 30);
    assert_eq!(size(&app, "etc/app"), 30);
    assert_eq!(size(&app, "etc/app/conf.d"), 8);
    assert_eq!(size(&app, "etc/app/config.txt"), 22);
    assert_eq!(size(&app, "bin"), 0);
    assert!(status(&mut app).contains("sizes filtered"));
    // The drawn row says the same.
    let screen = draw(&mut app, 120, 24);
    let etc = screen.lines().find(|l| l.contains("▾ etc/")).unwrap();
    assert!(etc.contains(" 30 B "), "{etc}");
    // With this layer's changes only (Ctrl+L) on layer 3: new.conf (4 B) is added; the
    // deleted old1.conf and old2.conf count nothing towards /etc and show what they held.
    to_layer(&mut app, 3);
    ctrl(&mut app, 'l');
    assert_eq!(size(&app, "etc"), 4);
    assert_eq!(size(&app, "etc/app/conf.d/old1.conf"), 2);
    // Clearing the filters gives the full sizes back: after layer 3 /etc holds 135 B (the
    // final 139 B less a.conf and b.conf; config.txt is already 22 B).
    ctrl(&mut app, 'l');
    ctrl(&mut app, 'f');
    press(&mut app, KeyCode::Esc);
    assert_eq!(size(&app, "etc"), 135);
    assert!(!status(&mut app).contains("sizes filtered"));
}

#[test]
fn collapse_and_expand_keep_the_list_exact() {
    let mut app = explorer("overwrite-opaque", false);
    press(&mut app, KeyCode::Tab);
    // A fixed walk through the keys that splice or rebuild the list; after each, the kept
    // list must equal a rebuild from scratch.
    let script: Vec<(bool, char)> = vec![
        (false, ' '),
        (false, 'j'),
        (false, ' '),
        (false, ' '),
        (true, 'o'),
        (false, 'j'),
        (false, 'j'),
        (false, ' '),
        (true, ' '),
        (false, ' '),
        (false, 'j'),
        (false, ' '),
        (true, 'u'),
        (false, ' '),
        (true, 'o'),
        (false, 'h'),
        (false, 'l'),
        (true, ' '),
        (false, 'j'),
        (false, 'l'),
    ];
    for (i, (is_ctrl, c)) in script.into_iter().enumerate() {
        if is_ctrl {
            ctrl(&mut app, c);
        } else {
            press(&mut app, KeyCode::Char(c));
        }
        assert_eq!(
            app.visible_ids(),
            app.visible_from_scratch().as_slice(),
            "after step {i}"
        );
    }
}

#[test]
fn collapse_all_then_expand_one() {
    let mut app = explorer("overwrite-opaque", false);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, ' ');
    let top: Vec<String> = app.visible_paths().into_iter().map(|(_, p)| p).collect();
    assert!(top.iter().all(|p| !p.contains('/')), "{top:?}");
    find(&mut app, "conf.d/new.conf");
    assert_eq!(app.selected_path(), Some("etc/app/conf.d/new.conf"));
    assert_eq!(app.visible_ids(), app.visible_from_scratch().as_slice());
    ctrl(&mut app, ' ');
    ctrl(&mut app, ' ');
    assert_eq!(
        app.visible_paths().len(),
        app.tree().unwrap().len(),
        "Ctrl+Space twice expands every folder"
    );
}

#[test]
fn sort_by_size_puts_the_largest_first() {
    let mut app = explorer("overwrite-opaque", false);
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, ' ');
    ctrl(&mut app, 'o');
    let top: Vec<String> = app.visible_paths().into_iter().map(|(_, p)| p).collect();
    // bin/busybox 1,982,256 bytes, then data/big.bin 1,048,576, then etc (passwd, group...).
    assert_eq!(
        top.get(..3),
        Some(&["bin".to_string(), "data".into(), "etc".into()][..])
    );
    let frame = draw(&mut app, 80, 24);
    assert!(frame.contains("Sort: size"), "{frame}");
}

/// data/big.bin: layer 1 wrote 1 MiB of zeros, layer 5 wrote the same zeros again: one
/// hidden copy, a metadata copy-up of 1,048,576 bytes.
#[test]
fn why_a_file_costs_what_it_costs() {
    let mut app = explorer("overwrite-opaque", true);
    press(&mut app, KeyCode::Tab);
    find(&mut app, "big.bin");
    assert_eq!(app.selected_path(), Some("data/big.bin"));
    press(&mut app, KeyCode::Enter);
    let Some(Pane::Why(why)) = app.pane() else {
        panic!("no why pane: {:?}", app.pane());
    };
    let text = why.lines.join("\n");
    assert!(text.contains("1 hidden copy"), "{text}");
    assert!(
        text.contains("added by layer 1, replaced by layer 5 (metadata-copy-up)"),
        "{text}"
    );
    assert!(
        text.contains("1,048,576 bytes") || text.contains("(1048576 bytes)"),
        "{text}"
    );
    insta::assert_snapshot!("overwrite_opaque_why_big_bin", draw(&mut app, 80, 24));
}

#[test]
fn waste_pane_jumps_to_the_hidden_copy() {
    let mut app = explorer("overwrite-opaque", false);
    press(&mut app, KeyCode::Char('w'));
    let frame = draw(&mut app, 100, 24);
    // 3 + 2 + 2 + 524,288 + 1,048,576 bytes hidden (see the Dockerfile's comments).
    assert!(frame.contains("Waste: 5 hidden copies, 1.6 MB"), "{frame}");
    insta::assert_snapshot!("overwrite_opaque_waste_pane", frame);
    // Move to blob.bin's line and jump: layer 1, which shipped it, with the file selected.
    let index = frame
        .lines()
        .skip(1)
        .position(|l| l.contains("/data/blob.bin"))
        .unwrap();
    for _ in 0..index {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    assert!(app.pane().is_none());
    assert_eq!(app.layer(), 1);
    assert_eq!(app.selected_path(), Some("data/blob.bin"));
}

#[test]
fn recommendations_and_dockerfile_panes() {
    let mut app = explorer("node-bad", true);
    press(&mut app, KeyCode::Char('r'));
    let frame = draw(&mut app, 100, 30);
    insta::assert_snapshot!("node_bad_recommendations", frame);
    press(&mut app, KeyCode::Char('d'));
    let frame = draw(&mut app, 100, 30);
    // COPY . . is line 4 and RUN line 5: their layers (1 and 2) carry their bytes.
    assert!(frame.contains("  4"), "{frame}");
    insta::assert_snapshot!("node_bad_dockerfile", frame);
    // Enter on line 5 selects the layer it made.
    for _ in 0..4 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.layer(), 2);
    assert_eq!(app.focus(), Focus::Layers);
    // Enter on a layer opens its line.
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    match app.pane() {
        Some(Pane::Dockerfile(s)) => assert_eq!(s.selected + 1, 4),
        other => panic!("{other:?}"),
    }
}

/// node-bad copies the whole context with `COPY . .` (line 4) before the install (line 5):
/// a change to package.json misses line 4, and the chain rule misses every later step
/// (5 RUN, 6 EXPOSE, 7 CMD).
#[test]
fn context_pane_shows_what_a_change_rebuilds() {
    let mut app = explorer("node-bad", true);
    press(&mut app, KeyCode::Char('c'));
    let frame = draw(&mut app, 100, 30);
    let index = frame
        .lines()
        .skip(1)
        .position(|l| l.contains("package.json"))
        .unwrap();
    for _ in 0..index {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    let Some(Pane::Context(_, Some(Ok(outcome)))) = app.pane() else {
        panic!("{:?}", app.pane());
    };
    let lines: Vec<usize> = outcome.rebuilt_steps.iter().map(|s| s.line).collect();
    assert_eq!(lines, [4, 5, 6, 7]);
    insta::assert_snapshot!("node_bad_context_package_json", draw(&mut app, 100, 30));
}

#[test]
fn pager_and_extract_read_the_layer_blob() {
    let out = tempfile::tempdir().unwrap();
    let mut app = explorer_with("node-bad", false, false, out.path());
    press(&mut app, KeyCode::Tab);
    find(&mut app, "app/package.json");
    assert_eq!(app.selected_path(), Some("usr/src/app/package.json"));
    let expected = std::fs::read(fixture("node-bad").join("context/package.json")).unwrap();
    press(&mut app, KeyCode::Char('v'));
    let Some(Pane::Pager(p)) = app.pane() else {
        panic!("{:?} {:?}", app.pane(), app.message());
    };
    assert_eq!(
        p.lines.join("\n"),
        String::from_utf8_lossy(&expected).trim_end()
    );
    insta::assert_snapshot!("node_bad_pager_package_json", draw(&mut app, 80, 24));
    press(&mut app, KeyCode::Esc);
    ctrl(&mut app, 'e');
    assert_eq!(
        std::fs::read(out.path().join("package.json")).unwrap(),
        expected
    );
    assert!(
        app.message().unwrap().contains("extracted"),
        "{:?}",
        app.message()
    );
    // Never over an existing file.
    ctrl(&mut app, 'e');
    assert!(
        app.message().unwrap().contains("cannot create"),
        "{:?}",
        app.message()
    );
    // A folder has no content.
    find(&mut app, "usr/src/app");
    ctrl(&mut app, 'e');
    assert!(app.message().unwrap().contains("not a regular file"));
}

#[test]
fn help_lists_every_key() {
    let mut app = explorer("node-bad", false);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_80x24", draw(&mut app, 80, 24));
    let keys: String = KEYS.iter().map(|(k, _)| format!("{k} ")).collect();
    for k in [
        "Tab",
        "Up/Down",
        "k/j",
        "h/l",
        "PgUp/PgDn",
        "Space",
        "Ctrl+Space",
        "Ctrl+A",
        "Ctrl+R",
        "Ctrl+M",
        "Ctrl+U",
        "Ctrl+B",
        "Ctrl+F",
        "Ctrl+O",
        "Ctrl+L",
        "Ctrl+E",
        "Ctrl+C",
        "/",
        "?",
        "mouse",
        "q",
    ] {
        assert!(keys.contains(k), "{k} missing from the help");
    }
    // It scrolls to its last key, then any other key closes it.
    for _ in 0..KEYS.len() {
        press(&mut app, KeyCode::Down);
    }
    assert!(draw(&mut app, 80, 24).contains("Ctrl+C"));
    press(&mut app, KeyCode::Char('x'));
    assert!(!draw(&mut app, 80, 24).contains("Ctrl+Space"));
}

#[test]
fn base_layers_are_marked_and_hideable() {
    let mut app = explorer("node-bad", false);
    let frame = draw(&mut app, 80, 24);
    assert!(frame.contains("│B  0"), "{frame}");
    press(&mut app, KeyCode::Char('b'));
    let frame = draw(&mut app, 80, 24);
    assert!(frame.contains("1 base hidden"), "{frame}");
    assert!(!frame.contains("│B  0"), "{frame}");
    to_layer(&mut app, 1);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.layer(), 1, "the hidden base layer cannot be selected");
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_it() {
    let mut app = explorer("overwrite-opaque", false);
    draw(&mut app, 80, 24);
    let before = app.selected_path().map(str::to_string);
    let wheel = |column| MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column,
        row: 10,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel(60));
    assert_ne!(app.selected_path().map(str::to_string), before);
    assert_eq!(
        app.focus(),
        Focus::Layers,
        "the wheel does not move the focus"
    );
    let layer = app.layer();
    app.handle_mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        ..wheel(5)
    });
    assert_eq!(app.layer(), layer - 1);
}

#[test]
fn colours_and_no_color() {
    let dir = Path::new("/nonexistent");
    for color in [true, false] {
        let mut app = explorer_with("overwrite-opaque", false, color, dir);
        to_layer(&mut app, 3);
        ctrl(&mut app, 'l');
        let t = draw_terminal(&mut app, 80, 24);
        let buf = t.backend().buffer();
        // The row of new.conf: letter A, green unless NO_COLOR.
        let y = (0..24)
            .find(|y| {
                let line: String = (0..80).map(|x| buf[(x, *y)].symbol().to_string()).collect();
                line.contains("new.c")
            })
            .unwrap();
        let x = (32..80).find(|x| buf[(*x, y)].symbol() == "A").unwrap();
        let fg = buf[(x, y)].fg;
        if color {
            assert_eq!(fg, Color::Green);
        } else {
            assert_eq!(fg, Color::Reset);
        }
    }
}

#[test]
fn quit_keys() {
    let mut app = explorer("node-bad", false);
    assert_eq!(press(&mut app, KeyCode::Char('j')), Flow::Continue);
    assert_eq!(ctrl(&mut app, 'c'), Flow::Quit);
    assert_eq!(press(&mut app, KeyCode::Char('q')), Flow::Quit);
    assert_eq!(press(&mut app, KeyCode::Char('Q')), Flow::Quit);
    // In the filter line, q is text; Ctrl+C still quits.
    ctrl(&mut app, 'f');
    assert_eq!(press(&mut app, KeyCode::Char('q')), Flow::Continue);
    assert_eq!(ctrl(&mut app, 'c'), Flow::Quit);
}

#[test]
fn refuses_when_standard_output_is_not_a_terminal() {
    let out = assert_cmd::Command::cargo_bin("layerscope")
        .unwrap()
        .arg("explore")
        .arg(fixture("node-bad").join("image.docker.tar"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "layerscope: error: explore is interactive and standard output is not a terminal"
        ),
        "{err}"
    );
}
