//! `--compat dive`: the figures dive 0.13.1 prints (efficiency, wastedBytes,
//! userWastedPercent, its inefficient-file list), reproduced exactly, bugs included, so that a
//! CI gate written against dive keeps its meaning. The correct figures live in the merged view
//! ([`crate::tree`]); nothing here feeds them.
//!
//! dive's model (wagoodman/dive `dive/filetree/efficiency.go`, `file_tree.go`, `file_node.go`,
//! `dive/image/docker/image_archive.go`, `dive/image/analysis.go`), as reproduced here:
//!
//! - Each layer becomes a tree by adding its tar entries in order at their paths: missing
//!   parents are created implicitly with an empty payload (size 0, *not* a directory); an entry
//!   for an existing path replaces that node's payload and keeps its children; names starting
//!   `.wh..wh..` (the opaque marker) are never added, but their parents are. A whiteout is an
//!   ordinary node named `.wh.<name>`.
//! - Layer size: the sum of the tar header sizes of every entry (a path listed twice counts
//!   twice). Image size: the sum over layers; user size: the sum over layers 1.. (layer 0 is
//!   taken as the base image).
//! - Per layer, the leaves of its tree (nodes without children in *that* tree: files, links,
//!   whiteouts, empty directories) are visited depth-first, children in byte order before
//!   their parent. The key is the path with the leaf's `.wh.` prefix stripped. A leaf's size is
//!   its header size; a whiteout is sized from the tree of the lower layers (see
//!   [`Stacked`]): 0 for a file, the sum of every node under the path for a directory. A
//!   whiteout whose path is missing there is an error that stops the visit of the rest of
//!   that layer, after its key was created with dive's "no size yet" sentinel (-1), which then
//!   counts -1 in the efficiency numerator unless a later layer visits the key.
//! - Per key: `cum += size`, `min = min(min, size)`, `count += 1`; the key joins the
//!   inefficient list when its count reaches 2.
//! - efficiency = sum(min) / sum(cum) (1 when sum(cum) is 0); wastedBytes = sum(cum) over the
//!   inefficient list (the surviving copy included); userWastedPercent = wastedBytes /
//!   userSize, unguarded (NaN or +Inf when userSize is 0).
//! - The list is sorted by `cum` with Go's unstable `sort.Sort` and printed in reverse, so
//!   ties come out in the order Go's pattern-defeating quicksort leaves them ([`go_sort`]).
//!
//! Known limits of the reproduction (inputs dive itself reads differently or not at all):
//! entries layerscope does not record (AUFS `.wh..wh.` metadata other than the opaque marker,
//! PAX global headers, tar volume labels), whiteouts with content, `../` paths (confined to
//! the root here, kept as `..` nodes by dive), and non-UTF-8 names.

use crate::layer::{EntryKind, LayerContents};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh..";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const ROOT: usize = 0;

/// dive 0.13.1's figures for an image (see the module docs for how dive computes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DiveFigures {
    /// dive's `efficiency` as a ratio (dive prints it times 100 with 4 decimals).
    pub efficiency: f64,
    /// dive's `wastedBytes`: every copy of every path seen at least twice.
    pub wasted_bytes: u64,
    /// dive's user size: the layer sizes of every layer but the first.
    pub user_size_bytes: u64,
    /// dive's `userWastedPercent` as a ratio, like dive's `WastedUserPercent` and its
    /// `--highestUserWastedPercent` (dive prints it times 100). `None` when
    /// `user_size_bytes` is 0, where dive divides by zero and prints `NaN` (or `+Inf` when
    /// `wasted_bytes` is not 0).
    pub user_wasted_percent: Option<f64>,
    /// dive's image size: the sum of the tar header sizes of every entry of every layer.
    pub size_bytes: u64,
    /// dive's "Inefficient Files", in the order dive prints them.
    pub inefficient_files: Vec<DiveInefficientFile>,
    /// Layers whose accounting dive stopped early, at a whiteout of a path missing below.
    pub aborted_layers: Vec<usize>,
}

/// One line of dive's "Inefficient Files".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DiveInefficientFile {
    /// The path (absolute, `.wh.` stripped), as dive prints it.
    pub path: String,
    /// dive's "Count": how many layers' leaves had this key.
    pub count: u64,
    /// dive's "Wasted Space": the sum of the sizes of all those leaves.
    pub cumulative_size_bytes: u64,
}

/// dive's per-node payload: the tar header's size and whether it was a directory entry.
#[derive(Debug, Clone, Copy, Default)]
struct Info {
    size: u64,
    is_dir: bool,
}

#[derive(Debug, Clone)]
struct Node {
    name: Box<str>,
    parent: usize,
    children: BTreeMap<Box<str>, usize>,
    info: Info,
}

/// A dive file tree: nodes in an arena; a removed subtree is detached, not freed.
#[derive(Debug, Clone)]
struct DiveTree {
    nodes: Vec<Node>,
}

impl DiveTree {
    fn new() -> DiveTree {
        DiveTree {
            nodes: vec![Node {
                name: "".into(),
                parent: ROOT,
                children: BTreeMap::new(),
                info: Info::default(),
            }],
        }
    }

    /// One layer's tree, built from its entries in tar order.
    fn from_layer(layer: &LayerContents) -> DiveTree {
        let mut t = DiveTree::new();
        for e in &layer.entries {
            let path = layer.path(e);
            let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            let renamed;
            let info = match e.kind {
                EntryKind::Whiteout => {
                    let Some(base) = parts.pop() else { continue };
                    renamed = format!("{WHITEOUT_PREFIX}{base}");
                    parts.push(&renamed);
                    Info::default()
                }
                EntryKind::Opaque => {
                    parts.push(OPAQUE_MARKER);
                    Info::default()
                }
                EntryKind::Dir => Info {
                    size: e.size,
                    is_dir: true,
                },
                _ => Info {
                    size: e.size,
                    is_dir: false,
                },
            };
            t.add_path(&parts, info);
        }
        t
    }

    fn node(&self, id: usize) -> Option<&Node> {
        self.nodes.get(id)
    }

    fn child(&self, id: usize, name: &str) -> Option<usize> {
        self.node(id)?.children.get(name).copied()
    }

    fn info(&self, id: usize) -> Info {
        self.node(id).map(|n| n.info).unwrap_or_default()
    }

    /// dive's `FileTree.AddPath`: walk and create; the payload goes to the last node only.
    fn add_path(&mut self, parts: &[&str], info: Info) {
        let mut cur = ROOT;
        for (i, name) in parts.iter().enumerate() {
            cur = match self.child(cur, name) {
                Some(c) => c,
                None => {
                    if name.starts_with(DOUBLE_WHITEOUT_PREFIX) {
                        return;
                    }
                    let id = self.nodes.len();
                    self.nodes.push(Node {
                        name: (*name).into(),
                        parent: cur,
                        children: BTreeMap::new(),
                        info: Info::default(),
                    });
                    if let Some(p) = self.nodes.get_mut(cur) {
                        p.children.insert((*name).into(), id);
                    }
                    id
                }
            };
            if i + 1 == parts.len()
                && let Some(n) = self.nodes.get_mut(cur)
            {
                n.info = info;
            }
        }
    }

    /// dive's `FileTree.GetNode`.
    fn get(&self, parts: &[&str]) -> Option<usize> {
        parts
            .iter()
            .try_fold(ROOT, |cur, name| self.child(cur, name))
    }

    /// dive's `FileTree.RemovePath` (a missing path is dive's ignored error).
    fn remove(&mut self, parts: &[&str]) {
        let Some(id) = self.get(parts) else { return };
        if id == ROOT {
            return;
        }
        let Some((parent, name)) = self.node(id).map(|n| (n.parent, n.name.clone())) else {
            return;
        };
        if let Some(p) = self.nodes.get_mut(parent) {
            p.children.remove(&name);
        }
    }

    /// The subtree of `start`, children in byte order before their parent (dive's
    /// `VisitDepthChildFirst`), `start` last. Iterative: paths can be thousands of levels deep.
    fn child_first(&self, start: usize) -> Vec<usize> {
        // Pre-order with children pushed in sorted order (so the last pops first), reversed.
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            out.push(id);
            if let Some(n) = self.node(id) {
                stack.extend(n.children.values().copied());
            }
        }
        out.reverse();
        out
    }

    /// The names from the root down to `id`.
    fn components(&self, mut id: usize) -> Vec<&str> {
        let mut parts = Vec::new();
        while id != ROOT {
            let Some(n) = self.node(id) else { break };
            parts.push(&*n.name);
            id = n.parent;
        }
        parts.reverse();
        parts
    }

    /// dive's whiteout sizer: every node of the subtree, the node itself included.
    fn subtree_size(&self, id: usize) -> u64 {
        self.child_first(id)
            .into_iter()
            .filter(|&n| n != ROOT)
            .fold(0u64, |acc, n| acc.saturating_add(self.info(n).size))
    }

    /// dive's `FileTree.Stack(upper)`: every node of `upper` child-first; a whiteout removes
    /// its target, anything else is added at its path (implicit parents included, so an
    /// implicit directory of `upper` resets the payload below to "not a directory").
    fn stack(&mut self, upper: &DiveTree) {
        for id in upper.child_first(ROOT) {
            if id == ROOT {
                continue;
            }
            let mut parts = upper.components(id);
            let Some(leaf) = parts.last_mut() else {
                continue;
            };
            if let Some(target) = leaf.strip_prefix(WHITEOUT_PREFIX) {
                *leaf = target;
                self.remove(&parts);
            } else {
                self.add_path(&parts, upper.info(id));
            }
        }
    }
}

/// The tree dive sizes layer `i`'s whiteouts against: dive's `StackTreeRange(trees, 0, i-1)`,
/// which starts from a copy of layer 0 and stacks layers 0..i-1 on it (layer 0 twice). dive
/// rebuilds it for every whiteout; it only changes between layers, so it is built
/// incrementally here, once per layer.
type Stacked = DiveTree;

#[derive(Debug, Default)]
struct Record {
    cum: u64,
    /// `None` is dive's `minDiscoveredSize = -1`.
    min: Option<u64>,
    count: u64,
}

/// dive's figures for the layers of an image, base first.
pub(crate) fn dive_figures(layers: &[LayerContents]) -> DiveFigures {
    let trees: Vec<DiveTree> = layers.iter().map(DiveTree::from_layer).collect();
    let layer_sizes: Vec<u64> = layers
        .iter()
        .map(|l| {
            l.entries
                .iter()
                .fold(0u64, |acc, e| acc.saturating_add(e.size))
        })
        .collect();

    let mut records: HashMap<String, Record> = HashMap::new();
    let mut inefficient: Vec<String> = Vec::new();
    let mut aborted_layers = Vec::new();
    let mut stacked: Stacked = trees.first().cloned().unwrap_or_else(DiveTree::new);
    for (i, tree) in trees.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).and_then(|p| trees.get(p)) {
            stacked.stack(prev);
        }
        for id in tree.child_first(ROOT) {
            let Some(node) = tree.node(id) else { continue };
            if id == ROOT || !node.children.is_empty() {
                continue;
            }
            let mut parts = tree.components(id);
            let mut whiteout = false;
            if let Some(leaf) = parts.last_mut()
                && let Some(target) = leaf.strip_prefix(WHITEOUT_PREFIX)
            {
                *leaf = target;
                whiteout = true;
            }
            let key = format!("/{}", parts.join("/"));
            let rec = records.entry(key.clone()).or_default();
            let size = if whiteout {
                match stacked.get(&parts) {
                    None => {
                        aborted_layers.push(i);
                        break;
                    }
                    Some(below) if stacked.info(below).is_dir => stacked.subtree_size(below),
                    Some(_) => 0,
                }
            } else {
                node.info.size
            };
            rec.cum = rec.cum.saturating_add(size);
            rec.min = Some(rec.min.map_or(size, |m| m.min(size)));
            rec.count += 1;
            if rec.count == 2 {
                inefficient.push(key);
            }
        }
    }

    let (min_sum, cum_sum) = records.values().fold((0i128, 0i128), |(m, c), r| {
        (m + r.min.map_or(-1, i128::from), c + i128::from(r.cum))
    });
    let efficiency = if cum_sum == 0 {
        1.0
    } else {
        // Go: float64(int64) / float64(int64).
        min_sum as f64 / cum_sum as f64
    };

    let mut list: Vec<DiveInefficientFile> = inefficient
        .into_iter()
        .map(|path| {
            let (count, cum) = records.get(&path).map_or((0, 0), |r| (r.count, r.cum));
            DiveInefficientFile {
                path,
                count,
                cumulative_size_bytes: cum,
            }
        })
        .collect();
    let wasted_bytes = list
        .iter()
        .fold(0u64, |acc, f| acc.saturating_add(f.cumulative_size_bytes));
    go_sort(&mut list, |a, b| {
        a.cumulative_size_bytes < b.cumulative_size_bytes
    });
    list.reverse();

    let size_bytes = layer_sizes
        .iter()
        .fold(0u64, |acc, s| acc.saturating_add(*s));
    let user_size_bytes = layer_sizes
        .iter()
        .skip(1)
        .fold(0u64, |acc, s| acc.saturating_add(*s));
    DiveFigures {
        efficiency,
        wasted_bytes,
        user_size_bytes,
        user_wasted_percent: crate::units::ratio(wasted_bytes, user_size_bytes),
        size_bytes,
        inefficient_files: list,
        aborted_layers,
    }
}

/// Go's `sort.Sort` (Go 1.19+ pattern-defeating quicksort, `sort/zsortinterface.go` as built
/// into dive 0.13.1 by Go 1.24): unstable, and deterministic, so ties end where dive's do.
/// Indices are Go's `int`; out-of-range accesses cannot happen in the algorithm and are
/// ignored rather than panicking.
fn go_sort<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len() as isize;
    if n <= 1 {
        return;
    }
    let limit = bits_len(n as u64) as isize;
    let mut s = GoSorter { data, less };
    s.pdqsort(0, n, limit);
}

/// Go's `bits.Len`: the number of bits needed to represent `x`.
fn bits_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct GoSorter<'a, T, F> {
    data: &'a mut [T],
    less: F,
}

impl<T, F: Fn(&T, &T) -> bool> GoSorter<'_, T, F> {
    fn less(&self, i: isize, j: isize) -> bool {
        let (Ok(i), Ok(j)) = (usize::try_from(i), usize::try_from(j)) else {
            return false;
        };
        match (self.data.get(i), self.data.get(j)) {
            (Some(a), Some(b)) => (self.less)(a, b),
            _ => false,
        }
    }

    fn swap(&mut self, i: isize, j: isize) {
        if let (Ok(i), Ok(j)) = (usize::try_from(i), usize::try_from(j))
            && i < self.data.len()
            && j < self.data.len()
        {
            self.data.swap(i, j);
        }
    }

    fn insertion_sort(&mut self, a: isize, b: isize) {
        let mut i = a + 1;
        while i < b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
            i += 1;
        }
    }

    fn sift_down(&mut self, lo: isize, hi: isize, first: isize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: isize, b: isize) {
        let (first, lo, hi) = (a, 0, b - a);
        let mut i = (hi - 1) / 2;
        while i >= 0 {
            self.sift_down(i, hi, first);
            i -= 1;
        }
        let mut i = hi - 1;
        while i >= 0 {
            self.swap(first, first + i);
            self.sift_down(lo, i, first);
            i -= 1;
        }
    }

    fn pdqsort(&mut self, mut a: isize, mut b: isize, mut limit: isize) {
        const MAX_INSERTION: isize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse_range(a, b);
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(a, b)
            {
                return;
            }
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let balance_threshold = length / 8;
            if left < right {
                was_balanced = left >= balance_threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= balance_threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    fn partition(&mut self, a: isize, b: isize, pivot: isize) -> (isize, bool) {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        while i <= j && self.less(i, a) {
            i += 1;
        }
        while i <= j && !self.less(j, a) {
            j -= 1;
        }
        if i > j {
            self.swap(j, a);
            return (j, true);
        }
        self.swap(i, j);
        i += 1;
        j -= 1;
        loop {
            while i <= j && self.less(i, a) {
                i += 1;
            }
            while i <= j && !self.less(j, a) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        self.swap(j, a);
        (j, false)
    }

    fn partition_equal(&mut self, a: isize, b: isize, pivot: isize) -> isize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a + 1, b - 1);
        loop {
            while i <= j && !self.less(a, i) {
                i += 1;
            }
            while i <= j && self.less(a, j) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
        i
    }

    fn partial_insertion_sort(&mut self, a: isize, b: isize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: isize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            // Go shifts down to index 1, not to `a` (kept as is).
            if i - a >= 2 {
                let mut j = i - 1;
                while j >= 1 {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                let mut j = i + 1;
                while j < b {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j += 1;
                }
            }
        }
        false
    }

    fn break_patterns(&mut self, a: isize, b: isize) {
        let length = b - a;
        if length >= 8 {
            // Go 1.22+ `sort.xorshift`, seeded with the length.
            let mut random = length as u64;
            let modulus = 1u64 << bits_len(length as u64);
            let mut idx = a + (length / 4) * 2 - 1;
            while idx <= a + (length / 4) * 2 + 1 {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let mut other = (random & (modulus - 1)) as isize;
                if other >= length {
                    other -= length;
                }
                self.swap(idx, a + other);
                idx += 1;
            }
        }
    }

    fn choose_pivot(&mut self, a: isize, b: isize) -> (isize, Hint) {
        const SHORTEST_NINTHER: isize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0usize;
        let mut i = a + l / 4;
        let mut j = a + l / 4 * 2;
        let mut k = a + l / 4 * 3;
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        match swaps {
            0 => (j, Hint::Increasing),
            MAX_SWAPS => (j, Hint::Decreasing),
            _ => (j, Hint::Unknown),
        }
    }

    fn order2(&self, a: isize, b: isize, swaps: &mut usize) -> (isize, isize) {
        if self.less(b, a) {
            *swaps += 1;
            (b, a)
        } else {
            (a, b)
        }
    }

    fn median(&self, a: isize, b: isize, c: isize, swaps: &mut usize) -> isize {
        let (a, b) = self.order2(a, b, swaps);
        let (b, _) = self.order2(b, c, swaps);
        let (_, b) = self.order2(a, b, swaps);
        b
    }

    fn reverse_range(&mut self, a: isize, b: isize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::read_layer;
    use crate::testkit::LayerBuilder;

    fn figures(layers: &[LayerBuilder]) -> DiveFigures {
        let parsed: Vec<LayerContents> = layers
            .iter()
            .map(|b| read_layer(&b.tar()[..], None).unwrap())
            .collect();
        dive_figures(&parsed)
    }

    #[test]
    fn empty_image_is_fully_efficient_and_nan() {
        let f = dive_figures(&[]);
        assert_eq!(f.efficiency, 1.0);
        assert_eq!(f.wasted_bytes, 0);
        assert_eq!(f.user_wasted_percent, None);
    }

    #[test]
    fn overwrite_counts_both_copies_and_min_copy_efficiency() {
        let f = figures(&[
            LayerBuilder::new().file("a", &[0; 100]),
            LayerBuilder::new().file("a", &[1; 300]),
        ]);
        assert_eq!(f.wasted_bytes, 400);
        assert_eq!(f.efficiency, 100.0 / 400.0);
        assert_eq!(f.user_wasted_percent, Some(400.0 / 300.0));
        assert_eq!(f.size_bytes, 400);
        assert_eq!(
            f.inefficient_files,
            vec![DiveInefficientFile {
                path: "/a".into(),
                count: 2,
                cumulative_size_bytes: 400
            }]
        );
    }

    #[test]
    fn directory_whiteout_is_sized_from_the_stacked_lower_layers() {
        let f = figures(&[
            LayerBuilder::new()
                .dir("d")
                .file("d/x", &[0; 10])
                .file("d/y", &[0; 20]),
            LayerBuilder::new().dir("d").file("d/z", &[0; 5]),
            LayerBuilder::new().whiteout("d"),
        ]);
        // `/d` is a leaf only in layer 2: one visit, sized 35; nothing counted twice.
        assert_eq!(f.wasted_bytes, 0);
        assert_eq!(f.efficiency, 1.0);
        assert!(f.aborted_layers.is_empty());
    }

    #[test]
    fn whiteout_of_a_missing_path_stops_the_layer_and_leaves_a_minus_one() {
        let f = figures(&[
            LayerBuilder::new().file("b", &[0; 10]),
            // Visit order: "/.wh.a" fails first, so "/b" of layer 1 is never counted.
            LayerBuilder::new().whiteout("a").file("b", &[0; 10]),
        ]);
        assert_eq!(f.aborted_layers, vec![1]);
        assert_eq!(f.wasted_bytes, 0);
        // Keys: /b (min 10, cum 10) and /a (never sized: min -1, cum 0).
        assert_eq!(f.efficiency, 9.0 / 10.0);
    }

    #[test]
    fn go_sort_sorts_and_matches_go_on_ties() {
        let mut v: Vec<(u64, usize)> = (0..200).map(|i| ((i * 7919 % 13) as u64, i)).collect();
        go_sort(&mut v, |a, b| a.0 < b.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut ids: Vec<usize> = v.iter().map(|x| x.1).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..200).collect::<Vec<_>>());
        // Up to 12 elements Go uses insertion sort: stable.
        let mut small: Vec<(u64, usize)> = (0..12).map(|i| ((i % 3) as u64, i)).collect();
        go_sort(&mut small, |a, b| a.0 < b.0);
        assert_eq!(
            small.iter().map(|x| x.1).collect::<Vec<_>>(),
            vec![0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
        );
    }
}
