//! The explorer's state and what each key does to it. Nothing here draws or touches the
//! terminal, so tests and the benchmark drive it directly.

use super::tree::{Filter, LayerTree, Sort, rows_under, shown_sizes, visible_rows};
use anyhow::Result;
use layerscope_core::{
    Analysis, Attribution, BuildContext, Change, ChangeOutcome, Dockerfile, Finding, Image,
    ImageFigures, Pipeline, Simulator, WasteItem,
};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, OnceLock};

/// Text files up to this size open in the pager.
pub const PAGER_LIMIT: u64 = 1 << 20;

/// How to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Use colours (off with `NO_COLOR`).
    pub color: bool,
    /// Compute the other layers' trees in a background thread.
    pub background: bool,
}

/// What the event loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Quit (Q or Ctrl+C).
    Quit,
}

/// The pane with the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The layers list.
    Layers,
    /// The file tree, or the pane shown in its place.
    Right,
}

/// A pane shown in place of the file tree.
#[derive(Debug, Clone)]
pub enum Pane {
    /// Why the selected file costs what it costs.
    Why(Why),
    /// Every waste item, largest first.
    Waste(ListState),
    /// Recommendations.
    Recommendations(ListState),
    /// The Dockerfile with bytes per line.
    Dockerfile(ListState),
    /// Build-context files: what a change to one rebuilds.
    Context(ListState, Option<Result<ChangeOutcome, String>>),
    /// A small text file.
    Pager(Pager),
}

/// A cursor over a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    /// Selected item.
    pub selected: usize,
    /// First item on screen.
    pub offset: usize,
}

/// The pager's content.
#[derive(Debug, Clone)]
pub struct Pager {
    /// Title (path and layer).
    pub title: String,
    /// The lines, or why there are none.
    pub lines: Vec<String>,
    /// First line on screen.
    pub offset: usize,
}

/// The cost explanation of one path.
#[derive(Debug, Clone)]
pub struct Why {
    /// Path.
    pub path: String,
    /// Lines of explanation.
    pub lines: Vec<String>,
    /// First line on screen.
    pub offset: usize,
}

/// Text typed in the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Ctrl+F: filter the tree by path.
    Filter,
    /// `/`: find a path.
    Search,
}

/// One layer's line in the layers pane.
#[derive(Debug, Clone)]
pub struct LayerLine {
    /// Index.
    pub index: usize,
    /// Content bytes shipped.
    pub size_bytes: u64,
    /// Bytes it shipped that the final image hides.
    pub wasted_bytes: u64,
    /// Instruction (from the history).
    pub instruction: String,
    /// Dockerfile line, with `-f`.
    pub line: Option<usize>,
    /// Part of the base image.
    pub base: bool,
}

/// Waste grouped by path (image details pane).
#[derive(Debug, Clone)]
pub struct WasteByPath {
    /// Path.
    pub path: String,
    /// Hidden copies.
    pub count: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The whole explorer state.
pub struct Explorer {
    pub(super) analysis: Arc<Analysis>,
    pub(super) image: Image,
    pub(super) dockerfile: Option<(Dockerfile, String)>,
    pub(super) context: Option<BuildContext>,
    pub(super) build_args: BTreeMap<String, String>,
    pub(super) attribution: Option<Attribution>,
    recommendations: OnceLock<Result<Vec<Finding>, String>>,
    extract_dir: PathBuf,
    pub(super) options: Options,
    pub(super) layer_lines: Vec<LayerLine>,
    pub(super) waste_by_path: Vec<WasteByPath>,
    /// Waste items of each path (indices into the figures' waste list).
    waste_index: HashMap<String, Vec<usize>>,
    /// Duplicate group of each visible path (index into the figures' duplicates), built the
    /// first time a file's cost is explained.
    duplicate_index: OnceLock<HashMap<String, usize>>,
    trees: Vec<Option<Arc<LayerTree>>>,
    collapsed: HashMap<usize, Vec<bool>>,
    incoming: Option<Receiver<LayerTree>>,
    stop: Arc<AtomicBool>,
    // View state.
    pub(super) focus: Focus,
    pub(super) pane: Option<Pane>,
    /// The help overlay's first line, when it is open.
    pub(super) help: Option<usize>,
    pub(super) hide_base: bool,
    /// Selected layer (an index into the layers, not into the shown list).
    pub(super) layer: usize,
    pub(super) layers_offset: usize,
    pub(super) filter: Filter,
    pub(super) sort: Sort,
    pub(super) attributes: bool,
    keep: Option<Vec<bool>>,
    /// Row sizes counting only what the filter keeps (`None` without a filter).
    pub(super) shown_sizes: Option<Vec<u64>>,
    pub(super) visible: Vec<u32>,
    pub(super) cursor: usize,
    pub(super) offset: usize,
    pub(super) input: Option<(Input, String)>,
    pub(super) search: String,
    pub(super) message: Option<String>,
    /// Areas of the last frame, for paging and the mouse.
    pub(super) areas: Areas,
}

/// Where the last frame drew each list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    /// Rows of the layers list.
    pub layers: Rect,
    /// Rows of the tree or of the pane in its place.
    pub right: Rect,
}

impl std::fmt::Debug for Explorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explorer")
            .field("layer", &self.layer)
            .field("visible", &self.visible.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Explorer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ctrl(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
}

impl Explorer {
    /// Build the state from a pipeline that has analysed its image: the figures, the
    /// attribution (with `-f`) and the context are the pipeline's, nothing is computed again;
    /// then the final layer's tree. Ctrl+E writes into `extract_dir`.
    ///
    /// # Errors
    /// The pipeline has no analysed image.
    pub fn new(pipeline: Pipeline, extract_dir: PathBuf, options: Options) -> Result<Explorer> {
        let parts = pipeline.into_parts();
        let (Some(image), Some(analysis)) = (parts.image, parts.analysis) else {
            anyhow::bail!("the explorer needs an analysed image: run the pipeline on one first");
        };
        let (attribution, dockerfile, context, build_args) = (
            parts.attribution,
            parts.dockerfile,
            parts.context,
            parts.build_args,
        );
        let figures = analysis.figures();
        // With -f, a layer shows the Dockerfile's own text of its instruction.
        let line_of_layer: HashMap<usize, (usize, String)> = attribution
            .iter()
            .flat_map(|a| &a.instructions)
            .flat_map(|i| {
                let text = i
                    .instruction
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                i.layers.iter().map(move |l| (*l, (i.line, text.clone())))
            })
            .collect();
        let layer_lines = figures
            .layers
            .iter()
            .map(|l| LayerLine {
                index: l.index,
                size_bytes: l.size_bytes,
                wasted_bytes: l.wasted_bytes_introduced,
                instruction: match line_of_layer.get(&l.index) {
                    Some((_, text)) => text.clone(),
                    None => l
                        .created_by
                        .as_deref()
                        .map(short_instruction)
                        .unwrap_or_default(),
                },
                line: line_of_layer.get(&l.index).map(|(n, _)| *n),
                base: l.base,
            })
            .collect();
        let mut waste_index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, w) in figures.waste.iter().enumerate() {
            waste_index
                .entry(w.path.trim_start_matches('/').to_string())
                .or_default()
                .push(i);
        }
        let mut waste_by_path: Vec<WasteByPath> = waste_index
            .iter()
            .map(|(p, items)| WasteByPath {
                path: p.clone(),
                count: items.len(),
                bytes: items
                    .iter()
                    .filter_map(|i| figures.waste.get(*i))
                    .map(|w| w.bytes)
                    .sum(),
            })
            .collect();
        waste_by_path.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
        let n = figures.layers.len();
        let analysis = Arc::new(analysis);
        let top = n.saturating_sub(1);
        let mut trees: Vec<Option<Arc<LayerTree>>> = vec![None; n];
        if n > 0
            && let Some(slot) = trees.get_mut(top)
        {
            *slot = Some(Arc::new(LayerTree::load(&analysis, top)));
        }
        let stop = Arc::new(AtomicBool::new(false));
        // After the first frame's tree, a thread prepares the rest so that no key waits on a
        // merge: the top tree's size order, then every other layer's tree with its own.
        let incoming = (options.background && n > 0).then(|| {
            let (tx, rx) = channel();
            let (a, stop) = (analysis.clone(), stop.clone());
            let first = trees.get(top).cloned().flatten();
            std::thread::spawn(move || {
                #[cfg(debug_assertions)]
                super::test_panic("background");
                if let Some(t) = first {
                    t.order(Sort::Size);
                }
                for l in (0..top).rev() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = LayerTree::load(&a, l);
                    t.order(Sort::Size);
                    if tx.send(t).is_err() {
                        break;
                    }
                }
            });
            rx
        });
        let mut app = Explorer {
            analysis,
            image,
            dockerfile,
            context,
            build_args,
            attribution,
            recommendations: OnceLock::new(),
            extract_dir,
            options,
            layer_lines,
            waste_by_path,
            waste_index,
            duplicate_index: OnceLock::new(),
            trees,
            collapsed: HashMap::new(),
            incoming,
            stop,
            focus: Focus::Layers,
            pane: None,
            help: None,
            hide_base: false,
            layer: top,
            layers_offset: 0,
            filter: Filter::default(),
            sort: Sort::Name,
            attributes: true,
            keep: None,
            shown_sizes: None,
            visible: Vec::new(),
            cursor: 0,
            offset: 0,
            input: None,
            search: String::new(),
            message: None,
            areas: Areas::default(),
        };
        app.refresh_rows();
        Ok(app)
    }

    /// Take the trees the background thread finished. Returns whether any arrived.
    pub fn poll_background(&mut self) -> bool {
        let mut any = false;
        if let Some(rx) = &self.incoming {
            while let Ok(t) = rx.try_recv() {
                let l = t.layer;
                if let Some(slot) = self.trees.get_mut(l)
                    && slot.is_none()
                {
                    *slot = Some(Arc::new(t));
                    any = true;
                }
            }
        }
        any
    }

    /// Load every layer's tree now (tests and benchmarks start from a warm state).
    pub fn load_all_layers(&mut self) {
        for l in 0..self.trees.len() {
            self.tree_of(l);
        }
    }

    /// Wait for the background thread to finish every layer (benchmarks measure keys on the
    /// state a user has once it is done). Without a background thread, loads them here.
    pub fn wait_for_layers(&mut self) {
        if let Some(rx) = self.incoming.take() {
            for t in rx.iter() {
                let l = t.layer;
                if let Some(slot) = self.trees.get_mut(l)
                    && slot.is_none()
                {
                    *slot = Some(Arc::new(t));
                }
            }
        }
        self.load_all_layers();
        for t in self.trees.iter().flatten() {
            t.order(Sort::Size);
        }
    }

    /// How many layers' trees are ready.
    pub fn layers_ready(&self) -> usize {
        self.trees.iter().filter(|t| t.is_some()).count()
    }

    fn tree_of(&mut self, layer: usize) -> Option<Arc<LayerTree>> {
        self.poll_background();
        let slot = self.trees.get_mut(layer)?;
        if slot.is_none() {
            *slot = Some(Arc::new(LayerTree::load(&self.analysis, layer)));
        }
        slot.clone()
    }

    /// The image's figures, as the analysis measured them.
    pub(super) fn figures(&self) -> &ImageFigures {
        self.analysis.figures()
    }

    /// The selected layer.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The pane with the keyboard.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The pane shown in place of the tree.
    pub fn pane(&self) -> Option<&Pane> {
        self.pane.as_ref()
    }

    /// The status-line message of the last key, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The path under the cursor (no leading `/`).
    pub fn selected_path(&self) -> Option<&str> {
        Some(self.tree()?.path(self.selected_row()?))
    }

    /// The rows on screen (and below it), as (change letter, path).
    pub fn visible_paths(&self) -> Vec<(char, String)> {
        let Some(tree) = self.tree() else {
            return Vec::new();
        };
        self.visible
            .iter()
            .filter_map(|id| {
                let r = tree.row(*id)?;
                Some((
                    super::ui::change_letter(r.change),
                    tree.path(*id).to_string(),
                ))
            })
            .collect()
    }

    /// The visible rows recomputed from scratch (tests compare it with the spliced list).
    pub fn visible_from_scratch(&self) -> Vec<u32> {
        match self.tree() {
            Some(t) => visible_rows(t, self.sort, self.keep.as_deref(), self.collapsed()),
            None => Vec::new(),
        }
    }

    /// The size shown for row `id`: under a filter, a folder counts only the files the
    /// filter keeps.
    pub fn shown_size(&self, id: u32) -> Option<u64> {
        let own = self.tree()?.row(id)?.size;
        Some(match &self.shown_sizes {
            Some(s) => s.get(id as usize).copied().unwrap_or(own),
            None => own,
        })
    }

    /// The visible rows as kept between keys.
    pub fn visible_ids(&self) -> &[u32] {
        &self.visible
    }

    /// The tree of the selected layer.
    pub fn tree(&self) -> Option<&LayerTree> {
        self.trees.get(self.layer)?.as_deref()
    }

    pub(super) fn collapsed(&self) -> &[bool] {
        self.collapsed.get(&self.layer).map_or(&[], Vec::as_slice)
    }

    /// The row under the cursor.
    pub fn selected_row(&self) -> Option<u32> {
        self.visible.get(self.cursor).copied()
    }

    /// The layers the layers pane lists.
    pub fn shown_layers(&self) -> Vec<usize> {
        self.layer_lines
            .iter()
            .filter(|l| !(self.hide_base && l.base))
            .map(|l| l.index)
            .collect()
    }

    /// Rebuild the visible rows after a layer, filter or sort change, keeping the cursor on
    /// the same path when it is still shown.
    fn refresh_rows(&mut self) {
        let keep_path = self
            .tree()
            .and_then(|t| self.selected_row().map(|r| t.path(r).to_string()));
        self.refresh_rows_at(keep_path.as_deref());
    }

    fn refresh_rows_at(&mut self, path: Option<&str>) {
        let Some(tree) = self.tree_of(self.layer) else {
            self.visible.clear();
            self.shown_sizes = None;
            return;
        };
        self.keep = self.filter.keep(&tree);
        self.shown_sizes = self.keep.as_deref().map(|k| shown_sizes(&tree, k));
        let collapsed = self
            .collapsed
            .get(&self.layer)
            .map_or(&[][..], Vec::as_slice);
        self.visible = visible_rows(&tree, self.sort, self.keep.as_deref(), collapsed);
        let at = path
            .and_then(|p| tree.find(p))
            .and_then(|r| self.visible.iter().position(|v| *v == r));
        self.cursor = at.unwrap_or(self.cursor.min(self.visible.len().saturating_sub(1)));
    }

    fn select_layer(&mut self, layer: usize) {
        if layer == self.layer || layer >= self.trees.len() {
            return;
        }
        let path = self
            .tree()
            .and_then(|t| self.selected_row().map(|r| t.path(r).to_string()));
        self.layer = layer;
        self.refresh_rows_at(path.as_deref());
    }

    /// Handle one key. Key releases and repeats of releases are ignored.
    pub fn handle_key(&mut self, key: KeyEvent) -> Flow {
        if key.kind == KeyEventKind::Release {
            return Flow::Continue;
        }
        if ctrl(&key) && key.code == KeyCode::Char('c') {
            return Flow::Quit;
        }
        if let Some((mode, mut text)) = self.input.take() {
            match key.code {
                KeyCode::Esc => {
                    if mode == Input::Filter {
                        self.filter.path.clear();
                        self.refresh_rows();
                    }
                }
                KeyCode::Enter => match mode {
                    Input::Filter => {}
                    Input::Search => {
                        self.search = text;
                        self.find_next(true);
                    }
                },
                KeyCode::Backspace => {
                    text.pop();
                    self.input = Some((mode, text));
                }
                KeyCode::Char(c) if !ctrl(&key) => {
                    text.push(c);
                    self.input = Some((mode, text));
                }
                _ => self.input = Some((mode, text)),
            }
            if mode == Input::Filter
                && let Some((_, t)) = &self.input
                && *t != self.filter.path
            {
                self.filter.path = t.clone();
                self.refresh_rows();
            }
            return Flow::Continue;
        }
        self.message = None;
        if let Some(offset) = self.help {
            // The help scrolls (it is longer than 24 lines); other keys close it, Q quits.
            let last = super::ui::KEYS.len();
            self.help = match key.code {
                KeyCode::Char('q' | 'Q') => return Flow::Quit,
                KeyCode::Up | KeyCode::Char('k') => Some(offset.saturating_sub(1)),
                KeyCode::Down | KeyCode::Char('j') => Some((offset + 1).min(last)),
                KeyCode::PageUp => Some(offset.saturating_sub(10)),
                KeyCode::PageDown => Some((offset + 10).min(last)),
                _ => None,
            };
            return Flow::Continue;
        }
        if ctrl(&key) {
            self.ctrl_key(key.code);
            return Flow::Continue;
        }
        match key.code {
            KeyCode::Char('q' | 'Q') => return Flow::Quit,
            KeyCode::Char('?') => self.help = Some(0),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Layers => Focus::Right,
                    Focus::Right => Focus::Layers,
                }
            }
            KeyCode::Esc => {
                if self.pane.is_some() {
                    self.pane = None;
                    self.focus = Focus::Right;
                }
            }
            KeyCode::Char('/') => self.input = Some((Input::Search, String::new())),
            KeyCode::Char('n') => self.find_next(true),
            KeyCode::Char('N') => self.find_next(false),
            KeyCode::Char('b') => self.toggle_base(),
            KeyCode::Char('w') => self.open(Pane::Waste(ListState::default())),
            KeyCode::Char('r') => self.open_recommendations(),
            KeyCode::Char('d') => self.open_dockerfile(None),
            KeyCode::Char('c') => self.open_context(),
            KeyCode::Char('i') => self.open_why(),
            KeyCode::Char('v') => self.open_pager(),
            _ => match self.focus {
                Focus::Layers => self.layers_key(key.code),
                Focus::Right => match self.pane.is_some() {
                    true => self.pane_key(key.code),
                    false => self.tree_key(key.code),
                },
            },
        }
        Flow::Continue
    }

    fn ctrl_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char(' ') | KeyCode::Char('@') => self.toggle_all(),
            KeyCode::Char('a') => {
                self.filter.added = !self.filter.added;
                self.refresh_rows();
            }
            KeyCode::Char('r') => {
                self.filter.removed = !self.filter.removed;
                self.refresh_rows();
            }
            KeyCode::Char('m') => {
                self.filter.modified = !self.filter.modified;
                self.refresh_rows();
            }
            KeyCode::Char('u') => {
                self.filter.unmodified = !self.filter.unmodified;
                self.refresh_rows();
            }
            KeyCode::Char('l') => {
                self.filter.layer_changes = !self.filter.layer_changes;
                self.refresh_rows();
            }
            KeyCode::Char('b') => self.attributes = !self.attributes,
            KeyCode::Char('f') => {
                self.input = Some((Input::Filter, self.filter.path.clone()));
            }
            KeyCode::Char('o') => {
                self.sort = match self.sort {
                    Sort::Name => Sort::Size,
                    Sort::Size => Sort::Name,
                };
                self.refresh_rows();
            }
            KeyCode::Char('e') => self.extract(),
            _ => {}
        }
    }

    fn layers_key(&mut self, code: KeyCode) {
        let shown = self.shown_layers();
        let pos = shown.iter().position(|l| *l == self.layer);
        let page = (self.areas.layers.height as usize).max(1);
        let target = match (code, pos) {
            (KeyCode::Up | KeyCode::Char('k'), Some(p)) => p.checked_sub(1),
            (KeyCode::Down | KeyCode::Char('j'), Some(p)) => Some(p + 1),
            (KeyCode::PageUp, Some(p)) => Some(p.saturating_sub(page)),
            (KeyCode::PageDown, Some(p)) => Some(p + page),
            (KeyCode::Home, _) => Some(0),
            (KeyCode::End, _) => Some(shown.len().saturating_sub(1)),
            (KeyCode::Enter, Some(_)) => {
                let line = self.layer_lines.get(self.layer).and_then(|l| l.line);
                match line {
                    Some(l) => self.open_dockerfile(Some(l)),
                    None => {
                        self.message = Some(match self.dockerfile {
                            Some(_) => {
                                format!("layer {} is not matched to a Dockerfile line", self.layer)
                            }
                            None => "give -f Dockerfile to see each layer's line".into(),
                        })
                    }
                }
                None
            }
            (_, None) => Some(0),
            _ => None,
        };
        if let Some(t) = target
            && let Some(l) = shown.get(t.min(shown.len().saturating_sub(1)))
        {
            self.select_layer(*l);
        }
    }

    fn tree_key(&mut self, code: KeyCode) {
        let page = (self.areas.right.height as usize).max(1);
        let last = self.visible.len().saturating_sub(1);
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.cursor = (self.cursor + 1).min(last),
            KeyCode::PageUp => self.cursor = self.cursor.saturating_sub(page),
            KeyCode::PageDown => self.cursor = (self.cursor + page).min(last),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = last,
            KeyCode::Char(' ') => self.toggle_selected(),
            KeyCode::Left | KeyCode::Char('h') => self.collapse_or_parent(),
            KeyCode::Right | KeyCode::Char('l') => self.expand_selected(),
            KeyCode::Enter => self.open_why(),
            _ => {}
        }
    }

    fn is_collapsed(&self, id: u32) -> bool {
        self.collapsed().get(id as usize).copied().unwrap_or(false)
    }

    fn set_collapsed(&mut self, id: u32, value: bool) {
        let n = self.tree().map_or(0, LayerTree::len);
        let v = self
            .collapsed
            .entry(self.layer)
            .or_insert_with(|| vec![false; n]);
        if let Some(c) = v.get_mut(id as usize) {
            *c = value;
        }
    }

    fn toggle_selected(&mut self) {
        let Some(id) = self.selected_row() else {
            return;
        };
        if self.is_collapsed(id) {
            self.expand_selected();
        } else {
            self.collapse_selected();
        }
    }

    fn collapse_selected(&mut self) {
        let (Some(id), Some(tree)) = (
            self.selected_row(),
            self.trees.get(self.layer).cloned().flatten(),
        ) else {
            return;
        };
        let Some(r) = tree.row(id) else { return };
        if !r.is_folder() || self.is_collapsed(id) {
            return;
        }
        self.set_collapsed(id, true);
        // The rows under it are the ones that follow it, up to the first one outside.
        let start = tree.position(self.sort, id);
        let end = start + r.descendants as usize;
        let from = self.cursor + 1;
        let count = self
            .visible
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .take_while(|v| {
                let p = tree.position(self.sort, **v);
                p > start && p <= end
            })
            .count();
        self.visible.drain(from..from + count);
    }

    fn expand_selected(&mut self) {
        let (Some(id), Some(tree)) = (
            self.selected_row(),
            self.trees.get(self.layer).cloned().flatten(),
        ) else {
            return;
        };
        if !self.is_collapsed(id) {
            return;
        }
        self.set_collapsed(id, false);
        let rows = rows_under(&tree, self.sort, id, self.keep.as_deref(), self.collapsed());
        let at = self.cursor + 1;
        self.visible.splice(at..at, rows);
    }

    fn collapse_or_parent(&mut self) {
        let Some(id) = self.selected_row() else {
            return;
        };
        let folder_open = self
            .tree()
            .and_then(|t| t.row(id))
            .is_some_and(|r| r.is_folder() && r.descendants > 0)
            && !self.is_collapsed(id);
        if folder_open {
            self.collapse_selected();
        } else if let Some(parent) = self.tree().and_then(|t| t.row(id)).map(|r| r.parent)
            && let Some(p) = self.visible.iter().rposition(|v| *v == parent)
        {
            self.cursor = p;
        }
    }

    /// Ctrl+Space: collapse every folder, or expand them all when all are collapsed.
    fn toggle_all(&mut self) {
        let Some(tree) = self.trees.get(self.layer).cloned().flatten() else {
            return;
        };
        let all = (0..tree.len() as u32)
            .filter(|i| {
                tree.row(*i)
                    .is_some_and(|r| r.is_folder() && r.descendants > 0)
            })
            .all(|i| self.is_collapsed(i));
        let v: Vec<bool> = (0..tree.len() as u32)
            .map(|i| {
                !all && tree
                    .row(i)
                    .is_some_and(|r| r.is_folder() && r.descendants > 0)
            })
            .collect();
        self.collapsed.insert(self.layer, v);
        self.refresh_rows();
    }

    fn toggle_base(&mut self) {
        self.hide_base = !self.hide_base;
        let shown = self.shown_layers();
        if !shown.contains(&self.layer)
            && let Some(l) = shown.first()
        {
            self.select_layer(*l);
        }
        if shown.is_empty() {
            self.message = Some("every layer is a base layer: b shows them again".into());
        }
    }

    /// `/` then Enter, `n` and `N`: the next (or previous) path containing the search text,
    /// among the rows the filter keeps; folders above it are expanded.
    fn find_next(&mut self, forward: bool) {
        if self.search.is_empty() {
            return;
        }
        let Some(tree) = self.trees.get(self.layer).cloned().flatten() else {
            return;
        };
        let n = tree.len();
        if n == 0 {
            return;
        }
        let order = tree.order(self.sort);
        let at = |pos: usize| order.map_or(pos as u32, |o| o.get(pos).copied().unwrap_or(0));
        let start = self
            .selected_row()
            .map_or(0, |r| tree.position(self.sort, r));
        for step in 1..=n {
            let pos = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            let id = at(pos);
            let kept = self
                .keep
                .as_ref()
                .is_none_or(|k| k.get(id as usize).copied().unwrap_or(false));
            if kept && tree.path(id).contains(self.search.as_str()) {
                self.reveal(&tree, id);
                return;
            }
        }
        self.message = Some(format!(
            "{:?} not found in layer {}",
            self.search, self.layer
        ));
    }

    /// Put the cursor on row `id`, expanding the folders above it.
    fn reveal(&mut self, tree: &LayerTree, id: u32) {
        let mut changed = false;
        let mut p = tree.row(id).map_or(super::tree::NO_ROW, |r| r.parent);
        while let Some(r) = tree.row(p) {
            if self.is_collapsed(p) {
                self.set_collapsed(p, false);
                changed = true;
            }
            p = r.parent;
        }
        if changed {
            self.refresh_rows();
        }
        if let Some(pos) = self.visible.iter().position(|v| *v == id) {
            self.cursor = pos;
        }
    }

    /// Select `layer` and the row of `path` in it, showing it whatever the filter says.
    pub(super) fn jump_to(&mut self, layer: usize, path: &str) -> bool {
        if self.hide_base && self.layer_lines.get(layer).is_some_and(|l| l.base) {
            self.hide_base = false;
        }
        self.select_layer(layer);
        let Some(tree) = self.trees.get(self.layer).cloned().flatten() else {
            return false;
        };
        let Some(id) = tree.find(path) else {
            self.message = Some(format!("{path} is not in the tree after layer {layer}"));
            return false;
        };
        if self
            .keep
            .as_ref()
            .is_some_and(|k| !k.get(id as usize).copied().unwrap_or(false))
        {
            self.filter = Filter::default();
            self.refresh_rows();
        }
        self.reveal(&tree, id);
        self.pane = None;
        self.focus = Focus::Right;
        true
    }

    fn open(&mut self, pane: Pane) {
        self.pane = Some(pane);
        self.focus = Focus::Right;
    }

    pub(super) fn recommendations(&self) -> &Result<Vec<Finding>, String> {
        self.recommendations.get_or_init(|| {
            let mut input = layerscope_core::RecommendInput::default();
            input.analysis = Some(&self.analysis);
            input.attribution = self.attribution.as_ref();
            input.dockerfile = self.dockerfile.as_ref().map(|d| &d.0);
            input.dockerfile_text = self.dockerfile.as_ref().map(|d| d.1.as_str());
            input.context = self.context.as_ref();
            input.build_args = self.build_args.clone();
            layerscope_core::recommend(&input)
                .map(|r| r.recommendations)
                .map_err(|e| e.to_string())
        })
    }

    fn open_recommendations(&mut self) {
        if let Err(e) = self.recommendations() {
            self.message = Some(format!("recommendations: {e}"));
        }
        self.open(Pane::Recommendations(ListState::default()));
    }

    fn open_dockerfile(&mut self, line: Option<usize>) {
        let Some((_, text)) = &self.dockerfile else {
            self.message = Some("no Dockerfile: start with -f Dockerfile".into());
            return;
        };
        let lines = text.lines().count();
        let selected = line
            .map_or(0, |l| l.saturating_sub(1))
            .min(lines.saturating_sub(1));
        self.open(Pane::Dockerfile(ListState {
            selected,
            offset: selected.saturating_sub(3),
        }));
    }

    fn open_context(&mut self) {
        if self.context.is_none() {
            self.message =
                Some("no build context: start with -f Dockerfile [--context DIR]".into());
            return;
        }
        self.open(Pane::Context(ListState::default(), None));
    }

    /// The selected path of the tree, with its row.
    fn selected_entry(&self) -> Option<(String, super::tree::Row)> {
        let tree = self.tree()?;
        let id = self.selected_row()?;
        Some((tree.path(id).to_string(), *tree.row(id)?))
    }

    fn open_why(&mut self) {
        let Some((path, row)) = self.selected_entry() else {
            return;
        };
        let lines = self.why_lines(&path, &row);
        self.open(Pane::Why(Why {
            path,
            lines,
            offset: 0,
        }));
    }

    fn instruction_of(&self, layer: usize) -> String {
        let line = self.layer_lines.get(layer);
        let mut s = format!("layer {layer}");
        if let Some(l) = line.and_then(|l| l.line) {
            s.push_str(&format!(", Dockerfile line {l}"));
        }
        if let Some(i) = line
            .map(|l| l.instruction.as_str())
            .filter(|i| !i.is_empty())
        {
            s.push_str(&format!(": {}", truncate(i, 60)));
        }
        s
    }

    /// Why `path` costs what it costs: the entry, the copies hidden below it, its duplicates.
    pub(super) fn why_lines(&self, path: &str, row: &super::tree::Row) -> Vec<String> {
        use layerscope_core::format_size;
        let mut out = vec![format!("/{path}")];
        let kind = format!("{:?}", row.kind).to_lowercase();
        if row.change == Some(layerscope_core::ChangeKind::Deleted) {
            out.push(format!(
                "deleted by {}; it removed {} ({} bytes)",
                self.instruction_of(row.layer.unwrap_or(0) as usize),
                format_size(row.size),
                row.size
            ));
        } else if row.is_folder() {
            out.push(format!(
                "folder: {} ({} bytes) in the files below it after layer {}",
                format_size(row.size),
                row.size,
                self.layer
            ));
        } else {
            out.push(format!(
                "{kind}, {} ({} bytes), mode {:o}, owner {}:{}",
                format_size(row.size),
                row.size,
                row.mode & 0o7777,
                row.uid,
                row.gid
            ));
            match row.layer {
                Some(l) => out.push(format!("shipped by {}", self.instruction_of(l as usize))),
                None => out.push("exists only because paths below it do".into()),
            }
        }
        let prefix = format!("{path}/");
        // A file's hidden copies are indexed; a folder's are every copy under it.
        let mut hidden: Vec<&WasteItem> = if row.is_folder() {
            self.figures()
                .waste
                .iter()
                .filter(|w| w.path.trim_start_matches('/').starts_with(&prefix))
                .collect()
        } else {
            self.waste_index
                .get(path)
                .into_iter()
                .flatten()
                .filter_map(|i| self.figures().waste.get(*i))
                .collect()
        };
        hidden.sort_by_key(|w| (w.added_by_layer, w.hidden_by_layer));
        if hidden.is_empty() {
            out.push("no hidden copies: nothing shipped at this path is wasted".into());
        } else {
            let bytes: u64 = hidden.iter().map(|w| w.bytes).sum();
            out.push(format!(
                "{} hidden cop{} shipped but not visible: {} ({} bytes) of waste",
                hidden.len(),
                if hidden.len() == 1 { "y" } else { "ies" },
                format_size(bytes),
                bytes
            ));
            for w in hidden.iter().take(50) {
                let shown = if w.path.trim_start_matches('/') == path {
                    String::new()
                } else {
                    format!(" /{}", w.path.trim_start_matches('/'))
                };
                out.push(format!(
                    "  {}{shown}: added by layer {}, {} by layer {} ({})",
                    format_size(w.bytes),
                    w.added_by_layer,
                    waste_verb(w),
                    w.hidden_by_layer,
                    waste_kind(w)
                ));
                out.push(format!(
                    "    added:  {}",
                    self.instruction_of(w.added_by_layer)
                ));
                out.push(format!(
                    "    hidden: {}",
                    self.instruction_of(w.hidden_by_layer)
                ));
            }
            if hidden.len() > 50 {
                out.push(format!("  ... and {} more", hidden.len() - 50));
            }
        }
        if let Some(g) = self
            .duplicate_index()
            .get(path)
            .and_then(|g| self.figures().duplicates.get(*g))
        {
            out.push(format!(
                "identical content at {} paths in the final image ({} each, {} duplicated):",
                g.paths.len(),
                format_size(g.size_bytes),
                format_size(g.wasted_bytes)
            ));
            for p in g
                .paths
                .iter()
                .filter(|p| p.trim_start_matches('/') != path)
                .take(20)
            {
                out.push(format!("  /{}", p.trim_start_matches('/')));
            }
        } else if !row.is_folder() && row.size > 0 && row.layer.is_some() {
            out.push("no identical copy elsewhere in the final image".into());
        }
        out
    }

    /// The duplicate group of each path, indexed on first use (only the cost explanation
    /// needs it, so the first frame does not wait for it).
    fn duplicate_index(&self) -> &HashMap<String, usize> {
        self.duplicate_index.get_or_init(|| {
            let mut index = HashMap::new();
            for (g, group) in self.figures().duplicates.iter().enumerate() {
                for p in &group.paths {
                    index.insert(p.trim_start_matches('/').to_string(), g);
                }
            }
            index
        })
    }

    fn selected_file_layer(&mut self) -> Option<(String, usize, u64)> {
        let (path, row) = self.selected_entry()?;
        if row.change == Some(layerscope_core::ChangeKind::Deleted) {
            self.message = Some(format!(
                "/{path} is deleted in layer {}: no content",
                self.layer
            ));
            return None;
        }
        if !matches!(
            row.kind,
            layerscope_core::EntryKind::File | layerscope_core::EntryKind::Hardlink
        ) {
            self.message = Some(format!("/{path} is not a regular file"));
            return None;
        }
        let layer = row.layer?;
        Some((path, layer as usize, row.size))
    }

    fn open_pager(&mut self) {
        let Some((path, layer, _)) = self.selected_file_layer() else {
            return;
        };
        let title = format!("/{path} (layer {layer})");
        let lines = match self.image.read_file(layer, &path, PAGER_LIMIT) {
            Err(e) => {
                self.message = Some(e.to_string());
                return;
            }
            Ok(c) if c.bytes.iter().take(8192).any(|b| *b == 0) => vec![format!(
                "binary content, {} bytes: not shown (Ctrl+E extracts it)",
                c.size_bytes
            )],
            Ok(c) => {
                let text = String::from_utf8_lossy(&c.bytes);
                let mut lines: Vec<String> =
                    text.lines().map(|l| l.replace('\t', "    ")).collect();
                if !c.is_complete() {
                    lines.push(format!(
                        "[first {} of {} bytes shown: Ctrl+E extracts the whole file]",
                        c.bytes.len(),
                        c.size_bytes
                    ));
                }
                lines
            }
        };
        self.open(Pane::Pager(Pager {
            title,
            lines,
            offset: 0,
        }));
    }

    /// Ctrl+E: write the selected file into the extract directory under its own name, never
    /// over an existing file.
    fn extract(&mut self) {
        let Some((path, layer, _)) = self.selected_file_layer() else {
            return;
        };
        let name = Path::new(&path)
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let dest = self.extract_dir.join(name);
        let result = self
            .image
            .read_file(layer, &path, u64::MAX)
            .map_err(anyhow::Error::from)
            .and_then(|c| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&dest)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dest.display()))?;
                f.write_all(&c.bytes)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dest.display()))?;
                Ok(c.size_bytes)
            });
        self.message = Some(match result {
            Ok(n) => format!(
                "extracted /{path} from layer {layer} ({n} bytes) to {}",
                dest.display()
            ),
            Err(e) => format!("{e:#}"),
        });
    }

    fn pane_len(&self) -> usize {
        match &self.pane {
            Some(Pane::Waste(_)) => self.figures().waste.len(),
            Some(Pane::Recommendations(_)) => self.recommendations().as_ref().map_or(0, Vec::len),
            Some(Pane::Dockerfile(_)) => {
                self.dockerfile.as_ref().map_or(0, |d| d.1.lines().count())
            }
            Some(Pane::Context(..)) => self.context.as_ref().map_or(0, |c| c.files().len()),
            Some(Pane::Pager(p)) => p.lines.len(),
            Some(Pane::Why(w)) => w.lines.len(),
            None => 0,
        }
    }

    fn pane_key(&mut self, code: KeyCode) {
        let len = self.pane_len();
        let page = (self.areas.right.height as usize).max(1);
        let last = len.saturating_sub(1);
        let move_to = |cur: usize| -> Option<usize> {
            Some(match code {
                KeyCode::Up | KeyCode::Char('k') => cur.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => (cur + 1).min(last),
                KeyCode::PageUp => cur.saturating_sub(page),
                KeyCode::PageDown => (cur + page).min(last),
                KeyCode::Home => 0,
                KeyCode::End => last,
                _ => return None,
            })
        };
        match &mut self.pane {
            Some(Pane::Pager(Pager { offset, .. }) | Pane::Why(Why { offset, .. })) => {
                if let Some(n) = move_to(*offset) {
                    *offset = n;
                }
                return;
            }
            Some(
                Pane::Waste(s)
                | Pane::Recommendations(s)
                | Pane::Dockerfile(s)
                | Pane::Context(s, _),
            ) => {
                if let Some(n) = move_to(s.selected) {
                    s.selected = n;
                    return;
                }
            }
            None => return,
        }
        if code == KeyCode::Enter {
            self.pane_enter();
        }
    }

    fn pane_enter(&mut self) {
        match self.pane.clone() {
            Some(Pane::Waste(s)) => {
                if let Some(w) = self.figures().waste.get(s.selected).cloned() {
                    // The copy is visible in the tree of the layer that shipped it.
                    self.jump_to(w.added_by_layer, w.path.trim_start_matches('/'));
                }
            }
            Some(Pane::Recommendations(s)) => {
                let Some(f) = self
                    .recommendations()
                    .as_ref()
                    .ok()
                    .and_then(|r| r.get(s.selected))
                    .cloned()
                else {
                    return;
                };
                let layer = f.layer.unwrap_or(self.trees.len().saturating_sub(1));
                let path = f.evidence.iter().find_map(|e| {
                    let p = e.split_whitespace().next()?.trim_start_matches('/');
                    let t = self.tree_of(layer)?;
                    t.find(p).map(|_| p.to_string())
                });
                match (path, f.line) {
                    (Some(p), _) => {
                        self.jump_to(layer, &p);
                    }
                    (None, Some(l)) if self.dockerfile.is_some() => self.open_dockerfile(Some(l)),
                    (None, _) => {
                        self.message = Some(format!("{}: no file or line to show", f.code))
                    }
                }
            }
            Some(Pane::Dockerfile(s)) => {
                let line = s.selected + 1;
                let layer = self
                    .layer_lines
                    .iter()
                    .rev()
                    .find(|l| l.line == Some(line))
                    .map(|l| l.index);
                match layer {
                    Some(l) => {
                        self.select_layer(l);
                        self.pane = None;
                        self.focus = Focus::Layers;
                    }
                    None => self.message = Some(format!("line {line} made no layer of this image")),
                }
            }
            Some(Pane::Context(s, _)) => {
                let outcome = self.simulate_context(s.selected);
                self.pane = Some(Pane::Context(s, Some(outcome)));
            }
            _ => {}
        }
    }

    /// What a change to the context file at `index` rebuilds.
    pub(super) fn simulate_context(&self, index: usize) -> Result<ChangeOutcome, String> {
        let (Some((df, _)), Some(ctx)) = (&self.dockerfile, &self.context) else {
            return Err("no Dockerfile and context".into());
        };
        let Some(file) = ctx.files().get(index) else {
            return Err("no such context file".into());
        };
        let mut sim =
            Simulator::new(df, ctx, None, self.build_args.clone()).map_err(|e| e.to_string())?;
        if let Some(attribution) = &self.attribution {
            sim = sim.with_image(&self.analysis, attribution);
        }
        sim.simulate(&Change::path(file.path()))
            .map_err(|e| e.to_string())
    }

    /// Handle a mouse event: the wheel scrolls the list under the pointer, a click focuses
    /// it and selects the row.
    pub fn handle_mouse(&mut self, ev: MouseEvent) {
        let at = Position::new(ev.column, ev.row);
        let focus = if self.areas.layers.contains(at) || ev.column < self.areas.right.x {
            Focus::Layers
        } else {
            Focus::Right
        };
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        match ev.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let code = if ev.kind == MouseEventKind::ScrollUp {
                    KeyCode::Up
                } else {
                    KeyCode::Down
                };
                let saved = self.focus;
                self.focus = focus;
                for _ in 0..if focus == Focus::Layers { 1 } else { 3 } {
                    self.handle_key(key(code));
                }
                self.focus = saved;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = focus;
                if focus == Focus::Layers && self.areas.layers.contains(at) {
                    let i = self.layers_offset + (ev.row - self.areas.layers.y) as usize;
                    if let Some(l) = self.shown_layers().get(i) {
                        self.select_layer(*l);
                    }
                } else if self.pane.is_none() && self.areas.right.contains(at) {
                    let i = self.offset + (ev.row - self.areas.right.y) as usize;
                    if i < self.visible.len() {
                        self.cursor = i;
                    }
                }
            }
            _ => {}
        }
    }
}

fn waste_verb(w: &WasteItem) -> &'static str {
    match w.kind {
        layerscope_core::WasteKind::Deleted => "deleted",
        layerscope_core::WasteKind::HiddenByOpaque => "hidden",
        _ => "replaced",
    }
}

/// The waste kind as the report spells it.
pub fn waste_kind(w: &WasteItem) -> String {
    serde_json::to_value(w.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `created_by` without the shell prefix builders add.
pub fn short_instruction(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s
        .strip_prefix("/bin/sh -c #(nop) ")
        .or_else(|| s.strip_prefix("/bin/sh -c "))
        .unwrap_or(s);
    let s = s.strip_suffix(" # buildkit").unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `n` characters, with `…` when cut.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
