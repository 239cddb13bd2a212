//! The merged filesystem view. Every whiteout and opaque rule lives here (image-spec
//! layer.md "Whiteouts", "Opaque Whiteout", "Changeset over existing files"):
//!
//! - a layer's `.wh.<name>` and `.wh..wh..opq` markers are applied first, and only to the
//!   view of the lower layers, "regardless of the ordering in which the whiteout file was
//!   encountered"; so a file in the same layer as its whiteout survives;
//! - then the layer's other entries are applied in tar order: the last entry for a path wins;
//!   a directory over a directory replaces attributes only; anything else unlinks the old
//!   path (its subtree included) and recreates it;
//! - hardlinks share their target's inode, so bytes are counted once per inode and stay
//!   visible while any link to them does.
//!
//! The view is a tree of nodes in an arena. A removal detaches a subtree and visits each
//! node once; each node is created once per entry. The whole merge is therefore linear in
//! the number of entries, whatever the number of whiteouts (dive rebuilds a merged tree per
//! directory whiteout).

use crate::layer::{ContentId, Entry, EntryKind, LayerContents};
use std::collections::HashMap;

const NONE: u32 = u32::MAX;
const ROOT: u32 = 0;

/// Why bytes a layer shipped are no longer visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WasteKind {
    /// Replaced by different content (or a different type) later.
    Overwritten,
    /// Re-added with identical content: a chmod/chown/touch copy-up.
    MetadataCopyUp,
    /// Removed by a whiteout (the path or a directory above it).
    Deleted,
    /// Hidden by an opaque directory marker.
    HiddenByOpaque,
}

/// How a path changed in one layer, compared with the view of the layers below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// The path did not exist below.
    Added,
    /// Content, type or link target changed.
    Modified,
    /// Same content; mode, owner, xattrs or mtime changed (the file was shipped again).
    MetadataOnly,
    /// Removed by a whiteout or hidden by an opaque directory.
    Deleted,
}

/// One changed path in one layer.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The node of the path (detached nodes keep their name and parent, so the path of a
    /// deleted entry can still be spelled out with [`Tree::path_of`]).
    pub(crate) node: u32,
    pub(crate) kind: ChangeKind,
    pub(crate) entry_kind: EntryKind,
    /// For a deletion: bytes of the regular files it removed (the subtree included).
    pub(crate) removed_bytes: u64,
}

/// One copy of file content that is no longer visible.
#[derive(Debug, Clone)]
pub(crate) struct HiddenCopy {
    /// The node whose removal hid the copy (see [`Tree::path_of`]).
    pub(crate) node: u32,
    pub(crate) bytes: u64,
    /// The (layer, entry) whose content the copy is.
    pub(crate) source: (u32, u32),
    pub(crate) added_by: usize,
    pub(crate) hidden_by: usize,
    pub(crate) kind: WasteKind,
}

/// A visible non-directory entry of the final view.
#[derive(Debug, Clone)]
pub(crate) struct Visible {
    pub(crate) node: u32,
    pub(crate) path: String,
    pub(crate) kind: EntryKind,
    /// The layer of the entry that made it; `None` for an implicit directory.
    pub(crate) layer: Option<usize>,
    /// Inode id when the entry holds file content (regular file or hardlink to one).
    pub(crate) inode: Option<u32>,
    pub(crate) size: u64,
    /// The (layer, entry) whose content this is, when it has content.
    pub(crate) source: Option<(u32, u32)>,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: u64,
    pub(crate) has_xattrs: bool,
}

/// Per-layer change records.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerChanges {
    pub(crate) changes: Vec<Change>,
    pub(crate) dangling_hardlinks: u64,
}

/// One path of the merged view. Names live in the tree's arena; children are found through
/// the tree's hash index on (parent, name) and listed through sibling links, so a node costs
/// about 40 bytes plus its name, whatever the shape of the tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    parent: u32,
    name_start: u32,
    name_len: u32,
    first_child: u32,
    next: u32,
    prev: u32,
    /// (layer, entry index) of the entry that made this node; NONE layer = implicit dir.
    layer: u32,
    entry: u32,
    inode: u32,
    kind: EntryKind,
    is_dir: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Inode {
    pub(crate) size: u64,
    pub(crate) id: ContentId,
    pub(crate) layer: u32,
    /// The entry (in `layer`) that made the inode: where its content lies.
    pub(crate) entry: u32,
    pub(crate) refs: u32,
}

/// The merged view after applying some layers.
pub(crate) struct Tree {
    nodes: Vec<Node>,
    names: String,
    /// (parent, name) -> node, for the children currently attached.
    index: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    pub(crate) inodes: Vec<Inode>,
    pub(crate) hidden: Vec<HiddenCopy>,
    pub(crate) layers: Vec<LayerChanges>,
}

/// The state of a node before the current layer touched it.
#[derive(Debug, Clone, Copy)]
struct Prev {
    existed: bool,
    layer: u32,
    entry: u32,
    kind: EntryKind,
    inode_id: Option<ContentId>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("nodes", &self.nodes.len())
            .field("inodes", &self.inodes.len())
            .field("hidden", &self.hidden.len())
            .finish_non_exhaustive()
    }
}

impl Tree {
    fn new(entries: usize, files: usize) -> Tree {
        let mut nodes = Vec::with_capacity(entries + 1);
        nodes.push(Node {
            parent: NONE,
            name_start: 0,
            name_len: 0,
            first_child: NONE,
            next: NONE,
            prev: NONE,
            layer: NONE,
            entry: NONE,
            inode: NONE,
            kind: EntryKind::Dir,
            is_dir: true,
        });
        Tree {
            nodes,
            names: String::new(),
            index: hashbrown::HashTable::with_capacity(entries),
            hasher: hashbrown::DefaultHashBuilder::default(),
            inodes: Vec::with_capacity(files),
            hidden: Vec::new(),
            layers: Vec::new(),
        }
    }

    /// Merge `layers` bottom-up (all of them).
    pub(crate) fn merge(layers: &[LayerContents]) -> Tree {
        let entries = layers.iter().map(|l| l.entries.len()).sum();
        let files = layers
            .iter()
            .map(|l| {
                l.entries
                    .iter()
                    .filter(|e| e.kind == EntryKind::File)
                    .count()
            })
            .sum();
        let mut t = Tree::new(entries, files);
        for (i, l) in layers.iter().enumerate() {
            t.apply(i, l, layers);
        }
        t.shrink_to_fit();
        t
    }

    /// Give back what the merge reserved and did not use: the node count above is an upper
    /// bound (whiteouts and directories seen again make no node) and the lists grow by
    /// doubling. The merged view is kept for the whole analysis.
    fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.names.shrink_to_fit();
        self.inodes.shrink_to_fit();
        self.hidden.shrink_to_fit();
        for l in &mut self.layers {
            l.changes.shrink_to_fit();
        }
    }

    fn name_of(&self, id: u32) -> &str {
        self.nodes.get(id as usize).map_or("", |n| {
            self.names
                .get(n.name_start as usize..(n.name_start + n.name_len) as usize)
                .unwrap_or("")
        })
    }

    fn key_hash(&self, parent: u32, name: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one((parent, name))
    }

    fn child(&self, dir: u32, name: &str) -> Option<u32> {
        let hash = self.key_hash(dir, name);
        self.index
            .find(hash, |&c| {
                self.nodes.get(c as usize).is_some_and(|n| n.parent == dir)
                    && self.name_of(c) == name
            })
            .copied()
    }

    /// Children of a directory, in no particular order.
    fn children(&self, dir: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut c = self.nodes.get(dir as usize).map_or(NONE, |n| n.first_child);
        while c != NONE {
            out.push(c);
            c = self.nodes.get(c as usize).map_or(NONE, |n| n.next);
        }
        out
    }

    /// Children of a directory sorted by name (listing order).
    fn sorted_children(&self, dir: u32) -> Vec<u32> {
        let mut out = self.children(dir);
        out.sort_by(|a, b| self.name_of(*a).cmp(self.name_of(*b)));
        out
    }

    /// Take a node out of its parent's children (index and sibling list).
    fn detach(&mut self, id: u32) {
        let Some(n) = self.nodes.get(id as usize).copied() else {
            return;
        };
        let hash = {
            let name = self.name_of(id);
            self.key_hash(n.parent, name)
        };
        if let Ok(entry) = self.index.find_entry(hash, |&c| c == id) {
            entry.remove();
        }
        if n.prev != NONE {
            if let Some(p) = self.nodes.get_mut(n.prev as usize) {
                p.next = n.next;
            }
        } else if let Some(parent) = self.nodes.get_mut(n.parent as usize)
            && parent.first_child == id
        {
            parent.first_child = n.next;
        }
        if n.next != NONE
            && let Some(x) = self.nodes.get_mut(n.next as usize)
        {
            x.prev = n.prev;
        }
        if let Some(me) = self.nodes.get_mut(id as usize) {
            me.next = NONE;
            me.prev = NONE;
        }
    }

    fn lookup(&self, path: &str) -> Option<u32> {
        let mut cur = ROOT;
        if path.is_empty() {
            return Some(ROOT);
        }
        for part in path.split('/') {
            cur = self.child(cur, part)?;
        }
        Some(cur)
    }

    /// The path of a node (also of a detached one: it keeps its parent and name).
    pub(crate) fn path_of(&self, mut id: u32) -> String {
        let mut parts = Vec::new();
        while id != ROOT && id != NONE {
            let Some(n) = self.nodes.get(id as usize) else {
                break;
            };
            parts.push(self.name_of(id));
            id = n.parent;
        }
        parts.reverse();
        parts.join("/")
    }

    fn release_inode(&mut self, inode: u32, node: u32, hidden_by: usize, kind: WasteKind) {
        let Some(ino) = self.inodes.get_mut(inode as usize) else {
            return;
        };
        ino.refs = ino.refs.saturating_sub(1);
        if ino.refs == 0 {
            let (bytes, added_by) = (ino.size, ino.layer as usize);
            let source = (ino.layer, ino.entry);
            self.hidden.push(HiddenCopy {
                node,
                bytes,
                source,
                added_by,
                hidden_by,
                kind,
            });
        }
    }

    /// Detach `id` from its parent and hide its whole subtree. Returns (non-dir nodes
    /// removed, regular-file bytes removed) and records deletions when asked.
    fn remove_subtree(
        &mut self,
        id: u32,
        layer: usize,
        kind: WasteKind,
        record: Option<&mut Vec<Change>>,
    ) -> (u64, u64) {
        self.detach(id);
        let mut files = 0u64;
        let mut bytes = 0u64;
        let mut stack = vec![id];
        let mut record = record;
        while let Some(n) = stack.pop() {
            let children = self.children(n);
            for c in &children {
                self.unindex(*c);
            }
            stack.extend(children.into_iter().rev());
            let Some(node) = self.nodes.get_mut(n as usize) else {
                continue;
            };
            let (nkind, inode) = (node.kind, node.inode);
            node.inode = NONE;
            node.first_child = NONE;
            let own_bytes = if nkind == EntryKind::File {
                self.inodes.get(inode as usize).map_or(0, |i| i.size)
            } else {
                0
            };
            if nkind != EntryKind::Dir {
                files += 1;
                bytes += own_bytes;
            }
            if inode != NONE {
                self.release_inode(inode, n, layer, kind);
            }
            if let Some(rec) = record.as_deref_mut() {
                rec.push(Change {
                    node: n,
                    kind: ChangeKind::Deleted,
                    entry_kind: nkind,
                    removed_bytes: own_bytes,
                });
            }
        }
        (files, bytes)
    }

    /// Find or create the directory for `path`'s parent; a non-directory in the way is
    /// replaced by an implicit directory (its content overwritten).
    fn ensure_parent(
        &mut self,
        path: &str,
        layer: usize,
        changes: &mut Vec<Change>,
    ) -> (u32, String) {
        let (dir, base) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        let mut cur = ROOT;
        if !dir.is_empty() {
            for part in dir.split('/') {
                match self.child(cur, part) {
                    Some(c) if self.nodes.get(c as usize).is_some_and(|n| n.is_dir) => cur = c,
                    existing => {
                        let replaced = existing.is_some();
                        if let Some(c) = existing {
                            self.remove_subtree(c, layer, WasteKind::Overwritten, None);
                        }
                        cur = self.insert(cur, part, EntryKind::Dir, NONE, NONE, NONE);
                        if replaced {
                            changes.push(Change {
                                node: cur,
                                kind: ChangeKind::Modified,
                                entry_kind: EntryKind::Dir,
                                removed_bytes: 0,
                            });
                        }
                    }
                }
            }
        }
        (cur, base.to_string())
    }

    /// Drop a node from the (parent, name) index (its parent is going away with it).
    fn unindex(&mut self, id: u32) {
        let Some(parent) = self.nodes.get(id as usize).map(|n| n.parent) else {
            return;
        };
        let hash = self.key_hash(parent, self.name_of(id));
        if let Ok(entry) = self.index.find_entry(hash, |&c| c == id) {
            entry.remove();
        }
    }

    fn insert(
        &mut self,
        parent: u32,
        name: &str,
        kind: EntryKind,
        layer: u32,
        entry: u32,
        inode: u32,
    ) -> u32 {
        let id = self.nodes.len() as u32;
        let name_start = self.names.len() as u32;
        self.names.push_str(name);
        let first = self
            .nodes
            .get(parent as usize)
            .map_or(NONE, |p| p.first_child);
        self.nodes.push(Node {
            parent,
            name_start,
            name_len: name.len() as u32,
            first_child: NONE,
            next: first,
            prev: NONE,
            layer,
            entry,
            inode,
            kind,
            is_dir: kind == EntryKind::Dir,
        });
        if first != NONE
            && let Some(f) = self.nodes.get_mut(first as usize)
        {
            f.prev = id;
        }
        if let Some(p) = self.nodes.get_mut(parent as usize) {
            p.first_child = id;
        }
        let hash = self.key_hash(parent, name);
        let (nodes, names) = (&self.nodes, &self.names);
        let hasher = &self.hasher;
        self.index.insert_unique(hash, id, |&c| {
            use std::hash::BuildHasher;
            let n = nodes.get(c as usize);
            let nm = n
                .and_then(|n| {
                    names.get(n.name_start as usize..(n.name_start + n.name_len) as usize)
                })
                .unwrap_or("");
            hasher.hash_one((n.map_or(NONE, |n| n.parent), nm))
        });
        id
    }

    fn apply(&mut self, li: usize, layer: &LayerContents, all: &[LayerContents]) {
        let mut lc = LayerChanges::default();
        // Phase 1: whiteouts and opaque markers, against the lower view only.
        for e in &layer.entries {
            match e.kind {
                EntryKind::Whiteout => {
                    let path = layer.path(e);
                    if let Some(id) = self.lookup(path)
                        && id != ROOT
                    {
                        let before = lc.changes.len();
                        self.remove_subtree(id, li, WasteKind::Deleted, Some(&mut lc.changes));
                        // The first record is the whiteout's own target: it carries the
                        // bytes of the whole subtree for reporting.
                        let total: u64 = lc.changes[before..].iter().map(|c| c.removed_bytes).sum();
                        if let Some(first) = lc.changes.get_mut(before) {
                            first.removed_bytes = total;
                        }
                    }
                }
                EntryKind::Opaque => {
                    let path = layer.path(e);
                    if let Some(id) = self.lookup(path) {
                        let kids: Vec<u32> =
                            if self.nodes.get(id as usize).is_some_and(|n| n.is_dir) {
                                self.sorted_children(id)
                            } else {
                                Vec::new()
                            };
                        for k in kids {
                            self.remove_subtree(
                                k,
                                li,
                                WasteKind::HiddenByOpaque,
                                Some(&mut lc.changes),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        // Phase 2: the layer's own entries in tar order.
        let mut touched: HashMap<u32, Prev> = HashMap::new();
        let mut order: Vec<u32> = Vec::new();
        for (ei, e) in layer.entries.iter().enumerate() {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                continue;
            }
            let path = layer.path(e);
            let (parent, base) = self.ensure_parent(path, li, &mut lc.changes);
            let (kind, inode) = self.resolve_entry(li, ei, e, layer, &mut lc);
            let existing = self.child(parent, &base);
            match existing {
                Some(id) => {
                    let prev = self.prev_of(id);
                    touched.entry(id).or_insert_with(|| {
                        order.push(id);
                        prev
                    });
                    let old_kind = self
                        .nodes
                        .get(id as usize)
                        .map_or(EntryKind::Dir, |n| n.kind);
                    if old_kind == EntryKind::Dir && kind == EntryKind::Dir {
                        // Directory over directory: attributes only, children stay.
                    } else {
                        if old_kind == EntryKind::Dir {
                            let kids: Vec<u32> = self.sorted_children(id);
                            for k in kids {
                                self.remove_subtree(
                                    k,
                                    li,
                                    WasteKind::Overwritten,
                                    Some(&mut lc.changes),
                                );
                            }
                        }
                        let old_inode = self.nodes.get(id as usize).map_or(NONE, |n| n.inode);
                        if old_inode != NONE && old_inode == inode {
                            // Linked again to the inode it held: `resolve_entry` counted the
                            // new link, and the old one goes.
                            if let Some(i) = self.inodes.get_mut(inode as usize) {
                                i.refs = i.refs.saturating_sub(1);
                            }
                        } else if old_inode != NONE {
                            let same = kind == EntryKind::File
                                && self.inodes.get(old_inode as usize).map(|i| i.id) == Some(e.id);
                            let waste = if same {
                                WasteKind::MetadataCopyUp
                            } else {
                                WasteKind::Overwritten
                            };
                            self.release_inode(old_inode, id, li, waste);
                        }
                    }
                    if let Some(n) = self.nodes.get_mut(id as usize) {
                        n.kind = kind;
                        n.layer = li as u32;
                        n.entry = ei as u32;
                        n.inode = inode;
                        // A non-directory has no children (they were removed above).
                        n.is_dir = kind == EntryKind::Dir;
                        if !n.is_dir {
                            n.first_child = NONE;
                        }
                    }
                }
                None => {
                    let id = self.insert(parent, &base, kind, li as u32, ei as u32, inode);
                    touched.insert(
                        id,
                        Prev {
                            existed: false,
                            layer: NONE,
                            entry: NONE,
                            kind,
                            inode_id: None,
                        },
                    );
                    order.push(id);
                }
            }
        }
        // Classify each touched path against its state before this layer.
        for id in order {
            let Some(prev) = touched.get(&id).copied() else {
                continue;
            };
            let Some(node) = self.nodes.get(id as usize) else {
                continue;
            };
            if node.layer != li as u32 {
                continue; // replaced again or removed within the layer
            }
            let Some(e) = layer.entries.get(node.entry as usize) else {
                continue;
            };
            let kind = if !prev.existed {
                ChangeKind::Added
            } else if prev.kind != node.kind {
                ChangeKind::Modified
            } else {
                let old = all
                    .get(prev.layer as usize)
                    .and_then(|l| l.entries.get(prev.entry as usize).map(|oe| (l, oe)));
                match old {
                    // The directory existed only implicitly below.
                    None => ChangeKind::MetadataOnly,
                    Some((ol, oe)) => {
                        let same_content = match node.kind {
                            EntryKind::File => prev.inode_id == Some(e.id),
                            EntryKind::Symlink | EntryKind::Hardlink => {
                                ol.link(oe) == layer.link(e)
                            }
                            _ => true,
                        };
                        if same_content {
                            ChangeKind::MetadataOnly
                        } else {
                            ChangeKind::Modified
                        }
                    }
                }
            };
            lc.changes.push(Change {
                node: id,
                kind,
                entry_kind: node.kind,
                removed_bytes: 0,
            });
        }
        self.layers.push(lc);
    }

    fn prev_of(&self, id: u32) -> Prev {
        match self.nodes.get(id as usize) {
            Some(n) => Prev {
                existed: true,
                layer: n.layer,
                entry: n.entry,
                kind: n.kind,
                inode_id: self.inodes.get(n.inode as usize).map(|i| i.id),
            },
            None => Prev {
                existed: false,
                layer: NONE,
                entry: NONE,
                kind: EntryKind::Dir,
                inode_id: None,
            },
        }
    }

    /// The node kind and inode an entry makes: a new inode for a regular file, the target's
    /// inode for a hardlink.
    fn resolve_entry(
        &mut self,
        li: usize,
        ei: usize,
        e: &Entry,
        layer: &LayerContents,
        lc: &mut LayerChanges,
    ) -> (EntryKind, u32) {
        match e.kind {
            EntryKind::File => {
                let id = self.inodes.len() as u32;
                self.inodes.push(Inode {
                    size: e.size,
                    id: e.id,
                    layer: li as u32,
                    entry: ei as u32,
                    refs: 1,
                });
                (EntryKind::File, id)
            }
            EntryKind::Hardlink => {
                let target = layer.link(e).unwrap_or("");
                match self.lookup(target).and_then(|t| self.nodes.get(t as usize)) {
                    Some(t) if t.inode != NONE => {
                        let inode = t.inode;
                        if let Some(i) = self.inodes.get_mut(inode as usize) {
                            i.refs += 1;
                        }
                        (EntryKind::Hardlink, inode)
                    }
                    _ => {
                        lc.dangling_hardlinks += 1;
                        (EntryKind::Hardlink, NONE)
                    }
                }
            }
            k => (k, NONE),
        }
    }

    /// Every visible non-directory entry, sorted by path.
    pub(crate) fn visible(&self, layers: &[LayerContents]) -> Vec<Visible> {
        self.listing(layers, false)
    }

    /// Every visible entry in tree order (a directory, then its children by name);
    /// directories included when asked (implicit ones have no layer).
    pub(crate) fn listing(&self, layers: &[LayerContents], include_dirs: bool) -> Vec<Visible> {
        let mut out = Vec::new();
        self.for_each_visible(layers, include_dirs, |path, v| {
            out.push(Visible {
                path: path.to_string(),
                ..v
            });
        });
        out
    }

    /// Visit every visible entry in tree order without allocating a path per entry: the
    /// path is a reused buffer (the `path` field of the passed record is empty).
    pub(crate) fn for_each_visible(
        &self,
        layers: &[LayerContents],
        include_dirs: bool,
        mut f: impl FnMut(&str, Visible),
    ) {
        let mut path = String::new();
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        while let Some((id, parent_len)) = stack.pop() {
            let Some(n) = self.nodes.get(id as usize) else {
                continue;
            };
            path.truncate(parent_len);
            if id != ROOT {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(self.name_of(id));
            }
            let e = layers
                .get(n.layer as usize)
                .and_then(|l| Some((l, l.entries.get(n.entry as usize)?)));
            let is_dir = n.is_dir;
            let (mode, uid, gid, mtime, has_xattrs) = e.map_or(
                (if is_dir { 0o755 } else { 0 }, 0, 0, 0, false),
                |(l, e)| (e.mode, e.uid, e.gid, e.mtime, l.xattrs(e) != 0),
            );
            let inode = (n.inode != NONE).then_some(n.inode);
            let (size, source) = inode
                .and_then(|i| self.inodes.get(i as usize))
                .map_or((0, None), |i| (i.size, Some((i.layer, i.entry))));
            let record = Visible {
                node: id,
                path: String::new(),
                kind: if is_dir { EntryKind::Dir } else { n.kind },
                layer: (n.layer != NONE).then_some(n.layer as usize),
                inode,
                size,
                source,
                mode,
                uid,
                gid,
                mtime,
                has_xattrs,
            };
            if is_dir {
                if include_dirs && id != ROOT {
                    f(&path, record);
                }
                let len = path.len();
                stack.extend(self.sorted_children(id).into_iter().rev().map(|c| (c, len)));
            } else {
                f(&path, record);
            }
        }
    }

    /// Bytes of content still visible: each live inode once.
    pub(crate) fn visible_bytes(&self) -> u64 {
        self.inodes
            .iter()
            .filter(|i| i.refs > 0)
            .map(|i| i.size)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::read_layer;
    use crate::testkit::LayerBuilder;

    fn merge(layers: Vec<LayerBuilder>) -> (Tree, Vec<LayerContents>) {
        let contents: Vec<LayerContents> = layers
            .iter()
            .map(|l| read_layer(&l.tar()[..], None).unwrap())
            .collect();
        (Tree::merge(&contents), contents)
    }

    fn paths(t: &Tree, c: &[LayerContents]) -> Vec<String> {
        t.visible(c).into_iter().map(|v| v.path).collect()
    }

    #[test]
    fn whiteout_removes_lower_subtree_but_not_same_layer_file() {
        let (t, c) = merge(vec![
            LayerBuilder::new()
                .dir("d")
                .file("d/a", b"1234")
                .file("d/sub/b", b"56")
                .file("keep", b"k"),
            LayerBuilder::new()
                .file("d/new", b"n")
                .whiteout("d")
                .file("keep2", b"x"),
        ]);
        // `.wh.d` applies to the lower d only; d/new from the same layer survives even
        // though it precedes the whiteout in the tar.
        assert_eq!(paths(&t, &c), vec!["d/new", "keep", "keep2"]);
        let hidden: u64 = t.hidden.iter().map(|h| h.bytes).sum();
        assert_eq!(hidden, 6);
        assert!(
            t.hidden
                .iter()
                .all(|h| h.kind == WasteKind::Deleted && h.hidden_by == 1 && h.added_by == 0)
        );
    }

    #[test]
    fn opaque_marker_hides_lower_children_wherever_it_sits() {
        let (t, c) = merge(vec![
            LayerBuilder::new()
                .file("etc/app/old1", b"x")
                .file("etc/app/old2", b"yy"),
            LayerBuilder::new()
                .dir("etc/app")
                .file("etc/app/new", b"new")
                .opaque("etc/app"),
        ]);
        assert_eq!(paths(&t, &c), vec!["etc/app/new"]);
        assert_eq!(t.hidden.len(), 2);
        assert!(t.hidden.iter().all(|h| h.kind == WasteKind::HiddenByOpaque));
    }

    #[test]
    fn last_entry_for_a_path_in_a_layer_wins() {
        let (t, c) = merge(vec![
            LayerBuilder::new()
                .file("f", b"first")
                .file("f", b"second!"),
        ]);
        let v = t.visible(&c);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].size, 7);
        assert_eq!(t.hidden.len(), 1);
        assert_eq!(t.hidden[0].bytes, 5);
        assert_eq!(t.layers[0].changes.len(), 1);
        assert_eq!(t.layers[0].changes[0].kind, ChangeKind::Added);
    }

    #[test]
    fn chmod_readd_is_metadata_copy_up() {
        let (t, _) = merge(vec![
            LayerBuilder::new().file("bin/tool", b"0123456789"),
            LayerBuilder::new().file_meta("bin/tool", b"0123456789", 0o755, 0, 0, 1_700_000_000),
        ]);
        assert_eq!(t.hidden.len(), 1);
        assert_eq!(t.hidden[0].kind, WasteKind::MetadataCopyUp);
        assert_eq!(
            t.layers[1]
                .changes
                .iter()
                .find(|c| t.path_of(c.node) == "bin/tool")
                .unwrap()
                .kind,
            ChangeKind::MetadataOnly
        );
        assert_eq!(t.visible_bytes(), 10);
    }

    #[test]
    fn hardlink_keeps_bytes_visible_after_target_deleted() {
        let (t, c) = merge(vec![
            LayerBuilder::new().file("a", b"abcdef").hardlink("b", "a"),
            LayerBuilder::new().whiteout("a"),
        ]);
        assert_eq!(paths(&t, &c), vec!["b"]);
        assert_eq!(t.visible_bytes(), 6);
        assert!(t.hidden.is_empty());
    }

    /// A path hardlinked twice to the same file holds one link, not two: once it becomes a
    /// symlink, the file's last copy is its own, and rewriting it hides the old bytes.
    #[test]
    fn hardlink_written_twice_counts_once() {
        let (t, _) = merge(vec![
            LayerBuilder::new()
                .dir("a")
                .file("a/c", b"x")
                .hardlink("b", "a/c")
                .hardlink("b", "a/c")
                .symlink("b", "t"),
            LayerBuilder::new().dir("a").file("a/c", b"x"),
        ]);
        assert_eq!(t.hidden.len(), 1);
        assert_eq!(t.hidden[0].kind, WasteKind::MetadataCopyUp);
        assert_eq!(t.hidden[0].bytes, 1);
    }

    #[test]
    fn hardlink_to_lower_layer_file() {
        let (t, c) = merge(vec![
            LayerBuilder::new().file("a", b"abc"),
            LayerBuilder::new().hardlink("b", "a"),
        ]);
        let v = t.visible(&c);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].inode, v[1].inode);
        assert_eq!(t.visible_bytes(), 3);
    }

    #[test]
    fn whiteout_of_missing_path_then_overwrite_in_same_layer() {
        let (t, c) = merge(vec![
            LayerBuilder::new().file("x", b"old"),
            LayerBuilder::new()
                .whiteout("nothing-here")
                .file("x", b"newer"),
        ]);
        assert_eq!(paths(&t, &c), vec!["x"]);
        assert_eq!(t.hidden.len(), 1);
        assert_eq!(t.hidden[0].kind, WasteKind::Overwritten);
        assert_eq!(t.layers[1].changes.len(), 1);
    }

    #[test]
    fn file_replacing_directory_and_back() {
        let (t, c) = merge(vec![
            LayerBuilder::new().file("p/a", b"12"),
            LayerBuilder::new().file("p", b"file"),
            LayerBuilder::new().file("p/b", b"3"),
        ]);
        assert_eq!(paths(&t, &c), vec!["p/b"]);
        let total: u64 = t.hidden.iter().map(|h| h.bytes).sum();
        assert_eq!(total, 6);
    }
}
