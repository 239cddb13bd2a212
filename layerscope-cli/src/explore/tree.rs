//! The file tree of one layer, flattened once into rows in tree order, and the list of rows
//! on screen. A keypress never copies the tree: moving the cursor is an index change,
//! collapsing or expanding a folder splices the visible list, and only a filter or sort
//! change rebuilds that list (one pass over the rows, no allocation per row).

use layerscope_core::{Analysis, ChangeKind, EntryKind};
use std::cmp::Ordering;
use std::sync::OnceLock;

/// No parent (a top-level entry).
pub const NO_ROW: u32 = u32::MAX;

/// One entry of the listing.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    path_start: u32,
    path_len: u32,
    /// Offset of the name inside the path.
    name_offset: u32,
    /// The enclosing folder's row, or [`NO_ROW`].
    pub parent: u32,
    /// How many rows follow this one inside its folder (0 for a file).
    pub descendants: u32,
    /// Nesting depth (0 = top level).
    pub depth: u16,
    /// Entry type.
    pub kind: EntryKind,
    /// Change made by this layer.
    pub change: Option<ChangeKind>,
    /// The layer of the entry that made it (the deleting layer for a deletion).
    pub layer: Option<u32>,
    /// Content bytes; for a folder, the bytes of the files below it; for a deletion, the
    /// bytes it removed.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

impl Row {
    /// A folder that can hold rows (a deleted folder is listed as one leaf).
    pub fn is_folder(&self) -> bool {
        self.kind == EntryKind::Dir && self.change != Some(ChangeKind::Deleted)
    }
}

/// The listing after one layer.
#[derive(Debug)]
pub struct LayerTree {
    /// The layer.
    pub layer: usize,
    paths: String,
    rows: Vec<Row>,
    /// Pre-order with each folder's children largest first, and its inverse (built on the
    /// first Ctrl+O on this layer).
    by_size: OnceLock<(Vec<u32>, Vec<u32>)>,
}

/// How the rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// By name, as `ls` (byte order).
    Name,
    /// Largest first within each folder.
    Size,
}

impl LayerTree {
    /// The filesystem after `layer`, with that layer's changes marked: one pass over
    /// [`Analysis::for_each_entry`] (tree order, no hash text, no string per entry).
    pub fn load(analysis: &Analysis, layer: usize) -> LayerTree {
        let mut paths = String::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut open: Vec<u32> = Vec::new();
        analysis.for_each_entry(layer, |e| {
            let p = e.path.trim_start_matches('/');
            while let Some(&top) = open.last() {
                let tp = row_path(&paths, &rows, top);
                if p.len() > tp.len()
                    && p.starts_with(tp)
                    && p.as_bytes().get(tp.len()) == Some(&b'/')
                {
                    break;
                }
                open.pop();
            }
            let parent = open.last().copied().unwrap_or(NO_ROW);
            let name_offset = if parent == NO_ROW {
                0
            } else {
                row_path(&paths, &rows, parent).len() + 1
            };
            let start = paths.len();
            paths.push_str(p);
            let row = Row {
                path_start: start as u32,
                path_len: p.len() as u32,
                name_offset: name_offset as u32,
                parent,
                descendants: 0,
                depth: open.len().min(u16::MAX as usize) as u16,
                kind: e.kind,
                change: e.change,
                layer: e.layer.map(|l| l as u32),
                size: e.size_bytes,
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
            };
            let id = rows.len() as u32;
            let folder = row.is_folder();
            rows.push(row);
            if folder {
                open.push(id);
            }
        });
        // Children follow their folder, so one backward pass sums every folder.
        for i in (0..rows.len()).rev() {
            let Some(r) = rows.get(i).copied() else {
                continue;
            };
            let Some(parent) = rows.get_mut(r.parent as usize) else {
                continue;
            };
            parent.descendants += 1 + r.descendants;
            if r.change != Some(ChangeKind::Deleted) {
                parent.size += r.size;
            }
        }
        LayerTree {
            layer,
            paths,
            rows,
            by_size: OnceLock::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the listing is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row `id`.
    pub fn row(&self, id: u32) -> Option<&Row> {
        self.rows.get(id as usize)
    }

    /// The full path of row `id` (no leading `/`).
    pub fn path(&self, id: u32) -> &str {
        row_path(&self.paths, &self.rows, id)
    }

    /// The name of row `id` inside its folder.
    pub fn name(&self, id: u32) -> &str {
        let p = self.path(id);
        let off = self
            .rows
            .get(id as usize)
            .map_or(0, |r| r.name_offset as usize);
        p.get(off..).unwrap_or(p)
    }

    /// The row listing `path` (the entry present after the layer when a deletion and a new
    /// entry share it).
    pub fn find(&self, path: &str) -> Option<u32> {
        let path = path.trim_start_matches('/');
        let first = self
            .rows
            .partition_point(|r| tree_order(row_path_of(&self.paths, r), path) == Ordering::Less);
        let mut found = None;
        let mut i = first;
        while let Some(r) = self.rows.get(i) {
            if row_path_of(&self.paths, r) != path {
                break;
            }
            if found.is_none() || r.change != Some(ChangeKind::Deleted) {
                found = Some(i as u32);
            }
            i += 1;
        }
        found
    }

    /// The order rows are shown in: `None` means row order (by name).
    pub fn order(&self, sort: Sort) -> Option<&[u32]> {
        match sort {
            Sort::Name => None,
            Sort::Size => Some(&self.size_order().0),
        }
    }

    /// Position of `id` in the order of `sort`.
    pub fn position(&self, sort: Sort, id: u32) -> usize {
        match sort {
            Sort::Name => id as usize,
            Sort::Size => self
                .size_order()
                .1
                .get(id as usize)
                .map_or(id as usize, |p| *p as usize),
        }
    }

    fn size_order(&self) -> &(Vec<u32>, Vec<u32>) {
        self.by_size.get_or_init(|| {
            let n = self.rows.len();
            let mut children: Vec<Vec<u32>> = Vec::new();
            let mut slot = vec![u32::MAX; n];
            let mut top: Vec<u32> = Vec::new();
            for (i, r) in self.rows.iter().enumerate() {
                if r.is_folder() {
                    slot[i] = children.len() as u32;
                    children.push(Vec::new());
                }
                match slot
                    .get(r.parent as usize)
                    .and_then(|s| children.get_mut(*s as usize))
                {
                    Some(c) => c.push(i as u32),
                    None => top.push(i as u32),
                }
            }
            let key =
                |id: &u32| std::cmp::Reverse(self.rows.get(*id as usize).map_or(0, |r| r.size));
            top.sort_by_key(key);
            for c in &mut children {
                c.sort_by_key(key);
            }
            let mut order = Vec::with_capacity(n);
            let mut stack: Vec<u32> = top.into_iter().rev().collect();
            while let Some(id) = stack.pop() {
                order.push(id);
                if let Some(c) = slot
                    .get(id as usize)
                    .and_then(|s| children.get(*s as usize))
                {
                    stack.extend(c.iter().rev());
                }
            }
            let mut inverse = vec![0u32; n];
            for (pos, id) in order.iter().enumerate() {
                if let Some(slot) = inverse.get_mut(*id as usize) {
                    *slot = pos as u32;
                }
            }
            (order, inverse)
        })
    }
}

fn row_path<'a>(paths: &'a str, rows: &[Row], id: u32) -> &'a str {
    rows.get(id as usize).map_or("", |r| row_path_of(paths, r))
}

fn row_path_of<'a>(paths: &'a str, r: &Row) -> &'a str {
    paths
        .get(r.path_start as usize..(r.path_start + r.path_len) as usize)
        .unwrap_or("")
}

/// Component by component, as the analysis lists paths.
fn tree_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Which rows a filter keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Show added entries (Ctrl+A).
    pub added: bool,
    /// Show removed entries (Ctrl+R).
    pub removed: bool,
    /// Show modified and metadata-only entries (Ctrl+M).
    pub modified: bool,
    /// Show unmodified entries (Ctrl+U).
    pub unmodified: bool,
    /// Only this layer's changes (Ctrl+L), whatever `unmodified` says.
    pub layer_changes: bool,
    /// Only paths containing this text (Ctrl+F).
    pub path: String,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            added: true,
            removed: true,
            modified: true,
            unmodified: true,
            layer_changes: false,
            path: String::new(),
        }
    }
}

impl Filter {
    fn is_everything(&self) -> bool {
        self.added
            && self.removed
            && self.modified
            && self.unmodified
            && !self.layer_changes
            && self.path.is_empty()
    }

    fn passes(&self, tree: &LayerTree, id: u32, r: &Row) -> bool {
        let kind_ok = match r.change {
            Some(ChangeKind::Added) => self.added,
            Some(ChangeKind::Deleted) => self.removed,
            Some(_) => self.modified,
            None => self.unmodified && !self.layer_changes,
        };
        kind_ok && (self.path.is_empty() || tree.path(id).contains(self.path.as_str()))
    }

    /// Rows kept: those that pass, and the folders above them. `None` keeps everything.
    pub fn keep(&self, tree: &LayerTree) -> Option<Vec<bool>> {
        if self.is_everything() {
            return None;
        }
        let mut keep = vec![false; tree.len()];
        for i in (0..tree.len()).rev() {
            let Some(r) = tree.row(i as u32) else {
                continue;
            };
            let kept = keep.get(i).copied().unwrap_or(false)
                || (!r.is_folder() || r.descendants == 0 || r.change.is_some())
                    && self.passes(tree, i as u32, r);
            if let Some(k) = keep.get_mut(i) {
                *k = kept;
            }
            if kept && let Some(p) = keep.get_mut(r.parent as usize) {
                *p = true;
            }
        }
        Some(keep)
    }
}

/// Sizes under a filter: a folder counts the bytes of the files below it that the filter
/// keeps (deletions count nothing, as without a filter); any other row keeps its own size.
/// Collapsing a folder does not change its size: its kept files are still inside.
pub fn shown_sizes(tree: &LayerTree, keep: &[bool]) -> Vec<u64> {
    let mut sizes = vec![0u64; tree.len()];
    for i in (0..tree.len()).rev() {
        let Some(r) = tree.row(i as u32) else {
            continue;
        };
        let kept = keep.get(i).copied().unwrap_or(false);
        let counted = if r.is_folder() {
            sizes.get(i).copied().unwrap_or(0)
        } else {
            if let Some(s) = sizes.get_mut(i) {
                *s = r.size;
            }
            if kept && r.change != Some(ChangeKind::Deleted) {
                r.size
            } else {
                0
            }
        };
        if kept && let Some(p) = sizes.get_mut(r.parent as usize) {
            *p += counted;
        }
    }
    sizes
}

/// The rows on screen for one tree, a filter, a sort and the collapsed folders.
pub fn visible_rows(
    tree: &LayerTree,
    sort: Sort,
    keep: Option<&[bool]>,
    collapsed: &[bool],
) -> Vec<u32> {
    let mut out = Vec::new();
    let n = tree.len();
    let order = tree.order(sort);
    let mut pos = 0usize;
    while pos < n {
        let id = order.map_or(pos as u32, |o| o.get(pos).copied().unwrap_or(0));
        pos = push_row(tree, id, pos, keep, collapsed, &mut out);
    }
    out
}

/// The rows under folder `id` that become visible when it is expanded.
pub fn rows_under(
    tree: &LayerTree,
    sort: Sort,
    id: u32,
    keep: Option<&[bool]>,
    collapsed: &[bool],
) -> Vec<u32> {
    let mut out = Vec::new();
    let Some(r) = tree.row(id) else { return out };
    let start = tree.position(sort, id) + 1;
    let end = start + r.descendants as usize;
    let order = tree.order(sort);
    let mut pos = start;
    while pos < end {
        let id = order.map_or(pos as u32, |o| o.get(pos).copied().unwrap_or(0));
        pos = push_row(tree, id, pos, keep, collapsed, &mut out);
    }
    out
}

fn push_row(
    tree: &LayerTree,
    id: u32,
    pos: usize,
    keep: Option<&[bool]>,
    collapsed: &[bool],
    out: &mut Vec<u32>,
) -> usize {
    let Some(r) = tree.row(id) else {
        return pos + 1;
    };
    let skip = pos + 1 + r.descendants as usize;
    if keep.is_some_and(|k| !k.get(id as usize).copied().unwrap_or(false)) {
        return skip;
    }
    out.push(id);
    if collapsed.get(id as usize).copied().unwrap_or(false) {
        skip
    } else {
        pos + 1
    }
}
