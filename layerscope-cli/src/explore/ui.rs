//! Drawing. Only the rows on screen are formatted, whatever the size of the tree.

use super::app::{Explorer, Focus, Input, ListState, Pane, truncate, waste_kind};
use super::tree::{Row, Sort};
use layerscope_core::{ChangeKind, EntryKind, format_size};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Every key, as the help overlay lists it.
pub const KEYS: &[(&str, &str)] = &[
    (
        "Tab",
        "switch between the layers and the file tree (or the pane in its place)",
    ),
    ("Up/Down, k/j", "move"),
    (
        "PgUp/PgDn, Home/End",
        "move a page, to the top, to the bottom",
    ),
    (
        "Left/Right, h/l",
        "collapse a folder (or go to its parent) / expand it",
    ),
    ("Space", "collapse or expand the selected folder"),
    ("Ctrl+Space", "collapse or expand every folder"),
    ("Ctrl+A", "show or hide added entries"),
    ("Ctrl+R", "show or hide removed entries"),
    (
        "Ctrl+M",
        "show or hide modified (and metadata-only) entries",
    ),
    ("Ctrl+U", "show or hide unmodified entries"),
    (
        "Ctrl+L",
        "this layer's changes only, or the aggregated filesystem",
    ),
    ("Ctrl+B", "show or hide attributes (permissions, owner)"),
    ("Ctrl+F", "filter the tree by path (substring; Esc clears)"),
    (
        "Ctrl+O",
        "sort by name or by size (shown in the status bar)",
    ),
    (
        "Ctrl+E",
        "extract the selected file into the current directory",
    ),
    (
        "/  n  N",
        "find a path (substring), next match, previous match",
    ),
    ("Enter, i", "why the selected file costs what it costs"),
    ("v", "view the selected file (text up to 1 MiB)"),
    ("w", "waste: every hidden copy (Enter shows it in the tree)"),
    (
        "r",
        "recommendations (Enter shows the file or the Dockerfile line)",
    ),
    (
        "d",
        "the Dockerfile with bytes per line (Enter selects its layer)",
    ),
    (
        "c",
        "build context: what a change to a file rebuilds (Enter)",
    ),
    ("Enter on a layer", "its Dockerfile line"),
    ("b", "hide or show the base image's layers"),
    ("Esc", "close the pane and show the file tree"),
    ("mouse", "wheel scrolls, click selects"),
    (
        "?",
        "this help (arrows and PgUp/PgDn scroll it, any other key closes it)",
    ),
    ("q, Q, Ctrl+C", "quit"),
];

struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn change(&self, c: Option<ChangeKind>) -> Style {
        match c {
            Some(ChangeKind::Added) => self.fg(Color::Green),
            Some(ChangeKind::Modified) => self.fg(Color::Yellow),
            Some(ChangeKind::MetadataOnly) => self.fg(Color::Cyan),
            Some(ChangeKind::Deleted) => self.fg(Color::Red),
            _ => Style::default(),
        }
    }
    fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
    fn title(&self, focused: bool) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if focused {
            s.add_modifier(Modifier::REVERSED)
        } else {
            s
        }
    }
}

/// The change letter: A added, M modified, m metadata only, D deleted.
pub fn change_letter(c: Option<ChangeKind>) -> char {
    match c {
        Some(ChangeKind::Added) => 'A',
        Some(ChangeKind::Modified) => 'M',
        Some(ChangeKind::MetadataOnly) => 'm',
        Some(ChangeKind::Deleted) => 'D',
        _ => ' ',
    }
}

fn perm_string(r: &Row) -> String {
    let t = match r.kind {
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Hardlink => 'h',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
        EntryKind::Fifo => 'p',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for shift in [6u32, 3, 0] {
        let bits = (r.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Move `offset` so that `selected` is on screen.
fn follow(selected: usize, offset: &mut usize, height: usize) {
    let h = height.max(1);
    if selected < *offset {
        *offset = selected;
    } else if selected >= *offset + h {
        *offset = selected + 1 - h;
    }
}

fn block(title: String, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title(focused)))
}

impl Explorer {
    /// Draw one frame.
    pub fn render(&mut self, frame: &mut Frame) {
        let theme = Theme {
            color: self.options.color,
        };
        let [main, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
        let left_width = (main.width * 2 / 5).clamp(24.min(main.width), 70);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Min(10)]).areas(main);
        // Layer details take the lines they need (digests wrap on a narrow screen), up to
        // half the column.
        let details_height = (self.layer_details(left.width.saturating_sub(2)).len() as u16 + 2)
            .min((left.height * 2 / 5).max(6));
        let [layers, details, image] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(details_height),
            Constraint::Fill(1),
        ])
        .areas(left);
        self.draw_layers(frame, layers, &theme);
        self.draw_layer_details(frame, details, &theme);
        self.draw_image_details(frame, image, &theme);
        match self.pane.take() {
            Some(mut pane) => {
                self.draw_pane(frame, right, &mut pane, &theme);
                self.pane = Some(pane);
            }
            None => self.draw_tree(frame, right, &theme),
        }
        self.draw_status(frame, status, &theme);
        if let Some(offset) = self.help {
            // Scrolled no further than a full last page.
            let room = (main.height.min(KEYS.len() as u16 + 3) as usize).saturating_sub(3);
            let offset = offset.min(KEYS.len().saturating_sub(room));
            self.help = Some(offset);
            self.draw_help(frame, main, offset, &theme);
        }
    }

    fn draw_layers(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let focused = self.focus == Focus::Layers;
        let shown = self.shown_layers();
        let hidden = self.layer_lines.len() - shown.len();
        let title = if hidden > 0 {
            format!("Layers ({hidden} base hidden: b)")
        } else {
            "Layers".to_string()
        };
        let b = block(title, focused, theme);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        if inner.height < 2 {
            return;
        }
        let head = Line::styled(
            " Idx     Size    Waste  Command",
            Style::default().add_modifier(Modifier::BOLD),
        );
        frame.render_widget(Paragraph::new(head), Rect { height: 1, ..inner });
        let rows = Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        };
        self.areas.layers = rows;
        let pos = shown.iter().position(|l| *l == self.layer).unwrap_or(0);
        follow(pos, &mut self.layers_offset, rows.height as usize);
        let width = rows.width as usize;
        let lines: Vec<Line> = shown
            .iter()
            .skip(self.layers_offset)
            .take(rows.height as usize)
            .filter_map(|l| self.layer_lines.get(*l))
            .map(|l| {
                let cmd = match l.line {
                    Some(n) => format!("L{n} {}", l.instruction),
                    None => l.instruction.clone(),
                };
                let text = format!(
                    "{}{:>3} {:>8} {:>8}  {}",
                    if l.base { 'B' } else { ' ' },
                    l.index,
                    format_size(l.size_bytes),
                    format_size(l.wasted_bytes),
                    cmd
                );
                let mut style = if l.base {
                    Style::default().add_modifier(Modifier::DIM)
                } else {
                    Style::default()
                };
                if l.index == self.layer {
                    style = style.patch(theme.selected(focused));
                }
                Line::styled(truncate(&text, width), style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rows);
    }

    /// The layer details, wrapped at `width`.
    fn layer_details(&self, width: u16) -> Vec<String> {
        let Some(l) = self.figures().layers.get(self.layer) else {
            return Vec::new();
        };
        let line = self.layer_lines.get(self.layer).and_then(|x| x.line);
        let cmd = l
            .created_by
            .clone()
            .unwrap_or_else(|| "(no history entry)".into());
        let text = [
            format!(
                "Layer {} of {}{}: {} ({} compressed)",
                l.index,
                self.figures().layers.len(),
                if l.base { ", base image" } else { "" },
                format_size(l.size_bytes),
                format_size(l.compressed_size_bytes)
            ),
            format!("Digest: {}", l.digest),
            format!("DiffID: {}", l.diff_id),
            format!(
                "Files: +{} ~{} (m{}) -{}; wastes {}, hides {}",
                l.files_added,
                l.files_modified,
                l.files_metadata_only,
                l.files_deleted,
                format_size(l.wasted_bytes_introduced),
                format_size(l.hides_bytes)
            ),
            match line {
                Some(n) => format!("Dockerfile line {n}: {cmd}"),
                None => format!("Command: {cmd}"),
            },
        ];
        let w = (width as usize).max(1);
        let mut out = Vec::new();
        for (i, t) in text.into_iter().enumerate() {
            // Digests keep one line each (cut with … on a narrow screen); the rest wraps.
            if i == 1 || i == 2 {
                out.push(truncate(&t, w));
                continue;
            }
            let chars: Vec<char> = t.chars().collect();
            for chunk in chars.chunks(w) {
                out.push(chunk.iter().collect());
            }
        }
        out
    }

    fn draw_layer_details(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let b = block("Layer details".into(), false, theme);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        let lines: Vec<Line> = self
            .layer_details(inner.width)
            .into_iter()
            .map(Line::from)
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_image_details(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let b = block("Image details".into(), false, theme);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        let t = &self.figures().totals;
        let name = self
            .figures()
            .image
            .reference
            .clone()
            .unwrap_or_else(|| self.figures().image.source.clone());
        let mut lines = vec![
            Line::from(format!("Image: {name} ({})", self.figures().image.platform)),
            Line::from(format!(
                "Total: {}  final: {}  files: {}",
                format_size(t.size_bytes),
                format_size(t.final_size_bytes),
                t.final_files
            )),
            Line::from(format!(
                "Wasted: {}  efficiency: {:.2} %",
                format_size(t.wasted_bytes),
                t.efficiency * 100.0
            )),
            Line::from(format!(
                "User wasted: {} ({})",
                format_size(self.figures().base.user_wasted_bytes),
                self.figures().base.user_wasted_ratio.map_or(
                    "no user bytes".to_string(),
                    |r| format!("{:.2} %", r * 100.0)
                )
            )),
            Line::styled(
                "Count     Total  Path",
                Style::default().add_modifier(Modifier::BOLD),
            ),
        ];
        let room = (inner.height as usize).saturating_sub(lines.len());
        let width = inner.width as usize;
        for w in self.waste_by_path.iter().take(room) {
            lines.push(Line::from(truncate(
                &format!(
                    "{:>5} {:>9}  /{}",
                    w.count,
                    format_size(w.bytes),
                    w.path.trim_start_matches('/')
                ),
                width,
            )));
        }
        if self.waste_by_path.is_empty() && room > 0 {
            lines.push(Line::from("(no waste)"));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_tree(&mut self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let focused = self.focus == Focus::Right;
        let title = if self.filter.layer_changes {
            format!("Changes in layer {}", self.layer)
        } else {
            format!("Filesystem after layer {}", self.layer)
        };
        let b = block(title, focused, theme);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        if inner.height < 2 {
            return;
        }
        let head = if self.attributes {
            "  Permission  UID:GID      Size  Name"
        } else {
            "      Size  Name"
        };
        frame.render_widget(
            Paragraph::new(Line::styled(
                head,
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Rect { height: 1, ..inner },
        );
        let rows = Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        };
        self.areas.right = rows;
        let Some(tree) = self.tree() else {
            return;
        };
        if self.visible.is_empty() {
            let msg = if tree.is_empty() {
                "(empty)"
            } else {
                "(nothing matches the filter)"
            };
            frame.render_widget(Paragraph::new(msg), rows);
            return;
        }
        let mut offset = self.offset;
        follow(self.cursor, &mut offset, rows.height as usize);
        let width = rows.width as usize;
        let collapsed = self.collapsed();
        let lines: Vec<Line> = self
            .visible
            .iter()
            .enumerate()
            .skip(offset)
            .take(rows.height as usize)
            .filter_map(|(i, id)| {
                let r = tree.row(*id)?;
                let folder = r.is_folder() && r.descendants > 0;
                let marker = if !folder {
                    "  "
                } else if collapsed.get(*id as usize).copied().unwrap_or(false) {
                    "▸ "
                } else {
                    "▾ "
                };
                let size = self
                    .shown_sizes
                    .as_ref()
                    .and_then(|s| s.get(*id as usize).copied())
                    .unwrap_or(r.size);
                let mut name = tree.name(*id).to_string();
                if r.is_folder() {
                    name.push('/');
                }
                let indent = "  ".repeat(r.depth as usize);
                let text = if self.attributes {
                    // A deletion has no attributes of its own (it is a whiteout).
                    let (perm, owner) = if r.change == Some(ChangeKind::Deleted) {
                        (" ".repeat(10), String::new())
                    } else {
                        (perm_string(r), format!("{}:{}", r.uid, r.gid))
                    };
                    format!(
                        "{} {perm} {owner:>7} {:>9}  {indent}{marker}{name}",
                        change_letter(r.change),
                        format_size(size),
                    )
                } else {
                    format!(
                        "{} {:>9}  {indent}{marker}{name}",
                        change_letter(r.change),
                        format_size(size)
                    )
                };
                let mut style = theme.change(r.change);
                if i == self.cursor {
                    style = style.patch(theme.selected(focused));
                }
                Some(Line::styled(truncate(&text, width), style))
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rows);
        self.offset = offset;
    }

    fn draw_list(
        frame: &mut Frame,
        area: Rect,
        state: &mut ListState,
        items: &[String],
        focused: bool,
        theme: &Theme,
        styles: Option<&dyn Fn(usize) -> Style>,
    ) {
        follow(state.selected, &mut state.offset, area.height as usize);
        let width = area.width as usize;
        let lines: Vec<Line> = items
            .iter()
            .enumerate()
            .skip(state.offset)
            .take(area.height as usize)
            .map(|(i, s)| {
                let mut style = styles.map_or(Style::default(), |f| f(i));
                if i == state.selected {
                    style = style.patch(theme.selected(focused));
                }
                Line::styled(truncate(s, width), style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), area);
    }

    fn draw_pane(&mut self, frame: &mut Frame, area: Rect, pane: &mut Pane, theme: &Theme) {
        let focused = self.focus == Focus::Right;
        let title = match pane {
            Pane::Why(w) => format!("Why: /{} (Esc closes)", w.path),
            Pane::Waste(_) => format!(
                "Waste: {} hidden copies, {} (Enter: show in tree)",
                self.figures().waste.len(),
                format_size(self.figures().totals.wasted_bytes)
            ),
            Pane::Recommendations(_) => "Recommendations (Enter: show file or line)".into(),
            Pane::Dockerfile(_) => "Dockerfile, bytes per line (Enter: select its layer)".into(),
            Pane::Context(..) => "Build context: pick a file, Enter: what a change rebuilds".into(),
            Pane::Pager(p) => p.title.clone(),
        };
        let b = block(title, focused, theme);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        self.areas.right = inner;
        let width = inner.width as usize;
        match pane {
            Pane::Why(Why { lines, offset, .. }) => {
                let shown: Vec<Line> = lines
                    .iter()
                    .skip(*offset)
                    .take(inner.height as usize)
                    .map(|l| Line::from(l.clone()))
                    .collect();
                frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }), inner);
            }
            Pane::Pager(super::app::Pager { lines, offset, .. }) => {
                let shown: Vec<Line> = lines
                    .iter()
                    .skip(*offset)
                    .take(inner.height as usize)
                    .map(|l| Line::from(truncate(l, width)))
                    .collect();
                frame.render_widget(Paragraph::new(shown), inner);
            }
            Pane::Waste(state) => {
                follow(state.selected, &mut state.offset, inner.height as usize);
                let items: Vec<String> = self
                    .figures()
                    .waste
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        if i < state.offset || i > state.offset + inner.height as usize {
                            return String::new();
                        }
                        format!(
                            "{:>9} {:<16} L{}→L{} /{}",
                            format_size(w.bytes),
                            waste_kind(w),
                            w.added_by_layer,
                            w.hidden_by_layer,
                            w.path.trim_start_matches('/')
                        )
                    })
                    .collect();
                Self::draw_list(frame, inner, state, &items, focused, theme, None);
            }
            Pane::Recommendations(state) => {
                let [list, detail] =
                    Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)])
                        .areas(inner);
                let recs = match self.recommendations() {
                    Ok(r) => r.clone(),
                    Err(e) => {
                        frame.render_widget(
                            Paragraph::new(e.clone()).wrap(Wrap { trim: false }),
                            inner,
                        );
                        return;
                    }
                };
                if recs.is_empty() {
                    frame.render_widget(Paragraph::new("(no recommendations)"), inner);
                    return;
                }
                let items: Vec<String> = recs
                    .iter()
                    .map(|f| {
                        format!(
                            "{:>9} {}{}",
                            if f.bytes_saved > 0 {
                                format_size(f.bytes_saved)
                            } else {
                                "-".into()
                            },
                            f.code,
                            f.line.map(|l| format!(" (line {l})")).unwrap_or_default()
                        )
                    })
                    .collect();
                Self::draw_list(frame, list, state, &items, focused, theme, None);
                if let Some(f) = recs.get(state.selected) {
                    let mut text = vec![
                        Line::styled(
                            f.message.clone(),
                            Style::default().add_modifier(Modifier::BOLD),
                        ),
                        Line::from(format!("Fix: {}", f.fix)),
                    ];
                    for e in f.evidence.iter().take(10) {
                        text.push(Line::from(format!("  {e}")));
                    }
                    frame.render_widget(
                        Paragraph::new(text)
                            .wrap(Wrap { trim: false })
                            .block(Block::default().borders(Borders::TOP)),
                        detail,
                    );
                }
            }
            Pane::Dockerfile(state) => {
                let Some((_, text)) = &self.dockerfile else {
                    return;
                };
                let mut bytes_at: std::collections::HashMap<usize, u64> = Default::default();
                for i in self.attribution.iter().flat_map(|a| &a.instructions) {
                    *bytes_at.entry(i.line).or_default() += i.size_bytes;
                }
                let sel_line = self.layer_lines.get(self.layer).and_then(|l| l.line);
                let items: Vec<String> = text
                    .lines()
                    .enumerate()
                    .map(|(i, l)| {
                        let b = bytes_at
                            .get(&(i + 1))
                            .map(|b| format_size(*b))
                            .unwrap_or_default();
                        format!("{:>3} {:>9}  {}", i + 1, b, l.replace('\t', "    "))
                    })
                    .collect();
                let style = |i: usize| {
                    if Some(i + 1) == sel_line {
                        theme.fg(Color::Green).add_modifier(Modifier::BOLD)
                    } else {
                        Style::default()
                    }
                };
                Self::draw_list(frame, inner, state, &items, focused, theme, Some(&style));
            }
            Pane::Context(state, outcome) => {
                let [list, detail] =
                    Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)])
                        .areas(inner);
                let Some(ctx) = &self.context else { return };
                let items: Vec<String> = ctx
                    .files()
                    .iter()
                    .map(|f| format!("{:>9}  {}", format_size(f.size_bytes()), f.path()))
                    .collect();
                Self::draw_list(frame, list, state, &items, focused, theme, None);
                let text: Vec<Line> = match outcome {
                    None => vec![Line::from("Enter: simulate a change to the selected file")],
                    Some(Err(e)) => vec![Line::from(e.clone())],
                    Some(Ok(o)) => {
                        let mut t = vec![Line::styled(
                            format!(
                                "Changing {} rebuilds {} step(s): {} rebuilt, {} pushed again",
                                o.path.clone().unwrap_or_default(),
                                o.rebuilt_steps.len(),
                                format_size(o.rebuilt_bytes),
                                format_size(o.repushed_bytes)
                            ),
                            Style::default().add_modifier(Modifier::BOLD),
                        )];
                        for s in &o.rebuilt_steps {
                            t.push(Line::styled(
                                format!(
                                    "  line {}: {} ({:?}{})",
                                    s.line,
                                    s.instruction,
                                    s.reason,
                                    if s.conditional { ", conditional" } else { "" }
                                ),
                                theme.fg(Color::Yellow),
                            ));
                        }
                        if o.rebuilt_steps.is_empty() {
                            t.push(Line::from(
                                "  no step selects this file: every step stays cached",
                            ));
                        }
                        t
                    }
                };
                frame.render_widget(
                    Paragraph::new(text)
                        .wrap(Wrap { trim: false })
                        .block(Block::default().borders(Borders::TOP)),
                    detail,
                );
            }
        }
    }

    fn draw_status(&self, frame: &mut Frame, area: Rect, _theme: &Theme) {
        let text = match (&self.input, &self.message) {
            (Some((Input::Filter, t)), _) => format!("Filter path: {t}▏ (Enter keeps, Esc clears)"),
            (Some((Input::Search, t)), _) => format!("Find: {t}▏ (Enter finds, n/N next/previous)"),
            (None, Some(m)) => m.clone(),
            (None, None) => {
                let mut hidden = Vec::new();
                for (on, name) in [
                    (self.filter.added, "added"),
                    (self.filter.removed, "removed"),
                    (self.filter.modified, "modified"),
                    (self.filter.unmodified, "unmodified"),
                ] {
                    if !on {
                        hidden.push(name);
                    }
                }
                let mut s = format!(
                    "Sort: {} (^O) | {} (^L)",
                    match self.sort {
                        Sort::Name => "name",
                        Sort::Size => "size",
                    },
                    if self.filter.layer_changes {
                        "layer changes"
                    } else {
                        "aggregated"
                    }
                );
                if !self.filter.path.is_empty() {
                    s.push_str(&format!(" | path~{:?}", self.filter.path));
                }
                // Folder sizes follow the filter: say so, as the sizes differ from the
                // unfiltered ones.
                if self.shown_sizes.is_some() {
                    s.push_str(" | sizes filtered");
                }
                if !hidden.is_empty() {
                    s.push_str(&format!(" | hiding {}", hidden.join(",")));
                }
                s.push_str(" | Tab ^F / w r d c v ? Q");
                s
            }
        };
        frame.render_widget(
            Paragraph::new(truncate(&text, area.width as usize))
                .style(Style::default().add_modifier(Modifier::REVERSED)),
            area,
        );
    }

    fn draw_help(&self, frame: &mut Frame, area: Rect, offset: usize, theme: &Theme) {
        let width = area.width.min(78);
        let height = area.height.min(KEYS.len() as u16 + 3);
        let popup = Rect {
            x: area.x + (area.width - width) / 2,
            y: area.y + (area.height - height) / 2,
            width,
            height,
        };
        frame.render_widget(Clear, popup);
        let b = block(
            "Keys (Up/Down/PgUp/PgDn scroll, any other key closes)".into(),
            true,
            theme,
        );
        let inner = b.inner(popup);
        frame.render_widget(b, popup);
        let mut lines = vec![Line::from(
            "Letters: A added, M modified, m metadata only, D deleted; B base layer",
        )];
        for (k, what) in KEYS.iter().skip(offset) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{k:<20}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

use super::app::Why;
