/* layerscope HTML report (issue 7). Hand-written, no framework, no network: the page's
 * Content-Security-Policy forbids every fetch.
 *
 * Data: the JSON in #layerscope-data (see render/html.rs `Page`). Rendering is lazy: the
 * explorer builds rows only for expanded folders (a page of children at a time), and the
 * treemap lays out a few levels below the zoomed directory, lumping tiny items together,
 * so an image with 200k files stays responsive.
 *
 * The explorer's and treemap's state lives in the URL hash, so a view can be linked and the
 * browser test can drive it:
 *   #view=final|<layer>&changes=1&waste=1&min=<bytes or 1MB>&q=<text>&sort=size|name
 *   &expand=<path>,<path>&zoom=<path>
 *   &section=<panel id>   show one panel alone
 *   &do=<action>,<action> after drawing, act as a user would, through the same event
 *       handlers: click:<path> (a folder's toggle), search:<text>, check:<checkbox id>,
 *       select:<select id>=<value>, zoom:<path> (click a treemap folder). For automation and
 *       the browser test.
 * When the page is drawn (and the actions are done), <body data-ready="1">; a script error
 * sets <body data-error>.
 */
(function () {
  'use strict';

  var app = document.getElementById('app');
  var tip = document.getElementById('tip');
  window.addEventListener('error', function (e) {
    document.body.setAttribute('data-error', String((e && e.message) || e));
  });

  var D, t0 = Date.now();
  try {
    D = JSON.parse(document.getElementById('layerscope-data').textContent);
    document.body.setAttribute('data-parse-ms', String(Date.now() - t0));
  } catch (e) {
    app.appendChild(el('div', { class: 'err' }, 'The report data could not be read: ' + e.message));
    document.body.setAttribute('data-error', String(e.message));
    return;
  }
  var R = D.report || null;
  var DIR = 1;
  var KIND_NAMES = ['file', 'dir', 'symlink', 'hardlink', 'char device', 'block device', 'fifo', 'other'];
  var CHANGE_NAMES = ['added', 'modified', 'metadata-only', 'deleted'];
  var CHANGE_LABELS = ['added', 'modified', 'metadata', 'deleted'];
  var CHANGE_PILL = ['added', 'modified', 'metadata', 'deleted'];

  /* ---------- small helpers ---------- */

  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(parent, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { for (var j = 0; j < c.length; j++) add(parent, c[j]); return; }
    parent.appendChild(c.nodeType ? c : document.createTextNode(String(c)));
  }
  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function icon(path, size) {
    var s = svg('svg', { viewBox: '0 0 16 16', width: size || 16, height: size || 16, 'aria-hidden': 'true' });
    var p = svg('path', { d: path, fill: 'currentColor' });
    s.appendChild(p);
    return s;
  }
  var CHEVRON = 'M5.5 3l5 5-5 5-1.1-1.1L8.3 8 4.4 4.1z';

  var UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  /* Same rule as the terminal (render::human): SI units, one decimal. */
  function human(b) {
    b = Number(b) || 0;
    if (Math.abs(b) < 1000) return Math.round(b) + ' B';
    var v = Math.abs(b), u = 0;
    while (v >= 1000 && u < UNITS.length - 1) { v /= 1000; u++; }
    return (b < 0 ? '-' : '') + v.toFixed(1) + ' ' + UNITS[u];
  }
  function grouped(n) {
    var s = String(Math.round(Math.abs(Number(n) || 0)));
    return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function pct(r) { return (r * 100).toFixed(1) + '%'; }
  function plural(n, w, ws) { return grouped(n) + ' ' + (n === 1 ? w : (ws || w + 's')); }
  function bytes(b, cls) {
    return el('span', { class: 'b' + (cls ? ' ' + cls : ''), title: grouped(b) + ' bytes', 'data-bytes': String(b) }, human(b));
  }
  function signedBytes(b) {
    var s = el('span', { class: b > 0 ? 'pos' : b < 0 ? 'neg' : '', title: (b > 0 ? '+' : '') + grouped(b) + ' bytes', 'data-bytes': String(b) },
      (b > 0 ? '+' : '') + human(b));
    return s;
  }
  function shortDigest(d) {
    if (!d) return '';
    var i = d.indexOf(':');
    return (i >= 0 ? d.slice(i + 1) : d).slice(0, 12);
  }
  function ellipsize(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
  function parseSize(s) {
    if (s === null || s === undefined || s === '') return 0;
    var m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(String(s));
    if (!m) return 0;
    var p = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase()];
    return Math.round(parseFloat(m[1]) * Math.pow(m[3] ? 1024 : 1000, p));
  }

  /* Layer colours: base-image layers in greys, the image's own layers in a categorical
   * palette, so the treemap shows at a glance what the Dockerfile added. */
  /* Tableau 10 without its red, which means waste here. */
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#5fa2ce', '#86bcb6', '#d4a6c8', '#8cd17d'];
  var BASE_PALETTE = ['#8d97a6', '#a9b1bd', '#76808f', '#bcc3cc'];
  var baseLayers = R && R.base ? R.base.base_layers : 0;
  function layerColor(i) {
    if (i === null || i === undefined || i < 0) return '#a0a8b3';
    if (i < baseLayers) return BASE_PALETTE[i % BASE_PALETTE.length];
    var k = i - baseLayers;
    if (k < PALETTE.length) return PALETTE[k];
    /* Past the palette, hues a golden angle apart stay distinct from their neighbours. */
    var h = (k * 137.508 + 20) % 360;
    if (h < 25 || h > 340) h = (h + 45) % 360; /* red means waste */
    return hslHex(h, 0.42, 0.58);
  }
  function hslHex(h, s, l) {
    var a = s * Math.min(l, 1 - l);
    function f(n) {
      var k = (n + h / 30) % 12;
      var c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
      return ('0' + Math.round(c * 255).toString(16)).slice(-2);
    }
    return '#' + f(0) + f(8) + f(4);
  }
  function ink(hex) {
    var n = parseInt(hex.slice(1), 16);
    var r = (n >> 16) & 255, g = (n >> 8) & 255, b = n & 255;
    return (0.299 * r + 0.587 * g + 0.114 * b) > 160 ? '#1b2230' : '#ffffff';
  }
  function swatch(i) {
    var s = el('i', { class: 'sw', 'aria-hidden': 'true' });
    s.style.background = layerColor(i);
    return s;
  }
  function instructionOf(i) {
    return (D.instructions && D.instructions[i]) || '';
  }
  function layerLabel(i) {
    var t = 'layer ' + i;
    if (R && R.layers[i] && R.layers[i].base) t += ' (base)';
    return t;
  }

  function panel(id, title, sub) {
    var head = el('div', { class: 'head' }, el('h2', { id: id + '-title' }, title));
    if (sub) head.appendChild(sub.nodeType ? sub : el('span', { class: 'sub' }, sub));
    var body = el('div', { class: 'body' });
    var p = el('section', { class: 'panel', id: id, 'aria-labelledby': id + '-title' }, head, body);
    p.head = head;
    p.body = body;
    return p;
  }

  /* ---------- header and cards ---------- */

  var LOGO = 'M8 1.5l6.5 3.2L8 7.9 1.5 4.7zM2.9 7.2L8 9.7l5.1-2.5 1.4.7L8 11.1 1.5 7.9zm0 3.2L8 12.9l5.1-2.5 1.4.7L8 14.3 1.5 11.1z';

  function renderHeader(root) {
    var brand = el('div', { class: 'brand' }, icon(LOGO, 16), 'layerscope', el('span', { class: 'cmd' }, D.command));
    var facts = el('div', { class: 'facts' });
    function fact(label, value, title) {
      if (value === null || value === undefined || value === '') return;
      facts.appendChild(el('span', { title: title || null }, label + ' ', el('b', null, value)));
    }
    if (R && R.image) {
      var im = R.image;
      fact('Platform', im.platform);
      fact('Format', im.format);
      var cfg = el('span', { title: im.config_digest }, 'Config ', el('b', { class: 'mono' }, shortDigest(im.config_digest)));
      facts.appendChild(cfg);
      if (im.created) fact('Created', im.created.replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC'));
      fact('User', im.user === '' ? 'root' : im.user);
      if (im.exposed_ports && im.exposed_ports.length) fact('Ports', im.exposed_ports.join(', '));
      if (im.reference && im.source) fact('Source', im.source);
    }
    var header = el('header', { class: 'top' }, el('div', { class: 'wrap' }, brand, el('h1', null, D.title), facts));
    root.appendChild(header);
  }

  function renderCards(root) {
    if (!D.cards || !D.cards.length) return;
    var grid = el('div', { class: 'cards', role: 'list' });
    D.cards.forEach(function (c) {
      var value = el('div', { class: 'value' }, c.value);
      if (c.exact_bytes !== null && c.exact_bytes !== undefined) {
        value.title = grouped(c.exact_bytes) + ' bytes';
        value.setAttribute('data-bytes', String(c.exact_bytes));
      }
      var meter = null;
      if (c.meter !== null && c.meter !== undefined) {
        var bar = el('i');
        bar.style.width = (Math.max(0, Math.min(1, c.meter)) * 100).toFixed(1) + '%';
        meter = el('div', { class: 'meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 1, 'aria-valuenow': c.meter }, bar);
      }
      grid.appendChild(el('div', { class: 'card ' + c.tone, role: 'listitem', 'data-testid': 'card-' + c.id },
        el('div', { class: 'label' }, c.label), value, meter, el('div', { class: 'detail' }, c.detail)));
    });
    root.appendChild(grid);
  }

  /* ---------- layers (or Dockerfile instructions) ---------- */

  function layerRows() {
    var L = R.layers;
    var df = D.dockerfile;
    var mapped = df && df.steps.some(function (s) { return s.layers && s.layers.length; });
    function sum(idx) {
      var r = { layers: idx, size: 0, wasted: 0, compressed: 0 };
      idx.forEach(function (i) {
        var l = L[i];
        if (!l) return;
        r.size += l.size_bytes; r.wasted += l.wasted_bytes_introduced; r.compressed += l.compressed_size_bytes;
      });
      return r;
    }
    if (!mapped) {
      return L.map(function (l) {
        var r = sum([l.index]);
        r.label = String(l.index);
        r.text = instructionOf(l.index);
        r.full = l.created_by || '';
        r.base = l.base;
        r.color = l.index;
        return r;
      });
    }
    var rows = [];
    var seen = {};
    df.steps.forEach(function (s) { (s.layers || []).forEach(function (i) { seen[i] = true; }); });
    var unmapped = L.filter(function (l) { return !seen[l.index]; }).map(function (l) { return l.index; });
    if (unmapped.length) {
      var b = sum(unmapped);
      b.label = unmapped.length === 1 ? String(unmapped[0]) : unmapped[0] + '–' + unmapped[unmapped.length - 1];
      b.text = 'base image (' + plural(unmapped.length, 'layer') + ')';
      b.full = b.text;
      b.base = true;
      b.color = unmapped[0];
      rows.push(b);
    }
    df.steps.forEach(function (s) {
      if (!s.layers || !s.layers.length) return;
      var r = sum(s.layers);
      r.label = s.layers.join(',');
      /* The instruction on one line: continuations joined. */
      r.text = df.lines.slice(s.first_line - 1, s.last_line).join('\n').replace(/\\\s*\n\s*/g, ' ').replace(/\s+/g, ' ').trim();
      r.full = df.lines.slice(s.first_line - 1, s.last_line).join('\n');
      r.line = s.first_line;
      r.color = s.layers[s.layers.length - 1];
      rows.push(r);
    });
    return rows;
  }

  function renderLayers(root) {
    if (!R || !R.layers || !R.layers.length) return;
    var rows = layerRows();
    var perStep = rows.some(function (r) { return r.line; });
    var max = 1;
    rows.forEach(function (r) { max = Math.max(max, r.size, r.compressed); });
    var legend = el('div', { class: 'legend' },
      el('span', { class: 'key' }, el('i', { class: 'sw', style: null }, null), 'kept (layer colour)'),
      el('span', { class: 'key' }, el('i', { class: 'sw waste' }), 'wasted: hidden in the final image'),
      el('span', { class: 'key' }, el('i', { class: 'sw comp' }), 'compressed'));
    legend.firstChild.firstChild.style.background = 'linear-gradient(90deg,' + PALETTE[0] + ' 0 33%,' + PALETTE[1] + ' 33% 66%,' + PALETTE[2] + ' 66%)';
    var p = panel('layers', perStep ? 'Dockerfile instructions' : 'Layers',
      perStep ? 'bytes each instruction shipped, kept and wasted; click one to browse its files'
        : 'bytes each layer shipped, kept and wasted; click one to browse its files');
    p.head.appendChild(el('span', { class: 'spacer' }));
    p.head.appendChild(legend);
    var grid = el('div', { class: 'layers', role: 'table', 'aria-label': 'Layers' });
    grid.appendChild(el('div', { class: 'hd l', role: 'columnheader' }, perStep ? 'Layer' : '#'));
    grid.appendChild(el('div', { class: 'hd l', role: 'columnheader' }, perStep ? 'Instruction (line)' : 'Instruction'));
    grid.appendChild(el('div', { class: 'hd l', role: 'columnheader' }, 'Bytes'));
    grid.appendChild(el('div', { class: 'hd', role: 'columnheader' }, 'Size'));
    grid.appendChild(el('div', { class: 'hd c5', role: 'columnheader' }, 'Wasted'));
    grid.appendChild(el('div', { class: 'hd c6', role: 'columnheader' }, 'Compressed'));
    rows.forEach(function (r) {
      var kept = Math.max(0, r.size - r.wasted);
      var kw = el('div', { class: 'kw' });
      kw.style.width = (r.size / max * 100).toFixed(3) + '%';
      if (r.size > 0) kw.style.minWidth = '2px';
      var k = el('i');
      k.style.width = (r.size ? kept / r.size * 100 : 0).toFixed(3) + '%';
      k.style.background = layerColor(r.color);
      var w = el('i', { class: 'w' });
      w.style.width = (r.size ? r.wasted / r.size * 100 : 0).toFixed(3) + '%';
      kw.appendChild(k); kw.appendChild(w);
      var c = el('div', { class: 'c' });
      c.style.width = (r.compressed / max * 100).toFixed(3) + '%';
      if (r.compressed > 0) c.style.minWidth = '2px';
      var bar = el('div', { class: 'bar', title: grouped(kept) + ' bytes kept, ' + grouped(r.wasted) + ' wasted, ' + grouped(r.compressed) + ' compressed' }, kw, c);
      var ins = el('div', { class: 'ins', title: r.full },
        r.line ? el('span', { class: 'line' }, 'L' + r.line) : null,
        r.base ? el('span', { class: 'tag' }, 'base') : null, r.text || '—');
      var last = r.layers[r.layers.length - 1];
      var row = el('div', {
        class: 'lrow', role: 'row', tabindex: 0, 'data-layers': r.layers.join(','), 'data-bytes': r.size,
        'aria-label': (perStep ? 'Instruction ' : 'Layer ') + r.label + ': ' + human(r.size)
      },
      el('div', { class: 'idx', role: 'cell' }, swatch(r.color), r.label), el('div', { class: 'ins-cell', role: 'cell' }, ins), el('div', { role: 'cell', class: 'bar-cell' }, bar),
      el('div', { class: 'num', role: 'cell' }, bytes(r.size)),
      el('div', { class: 'num c5' + (r.wasted ? ' w' : ' z'), role: 'cell' }, r.wasted ? bytes(r.wasted) : '–'),
      el('div', { class: 'num c6', role: 'cell' }, bytes(r.compressed)));
      function open() { showLayer(last); }
      row.addEventListener('click', open);
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
      grid.appendChild(row);
    });
    p.body.appendChild(grid);
    root.appendChild(p);
  }

  /* ---------- the file table ---------- */

  var F = null;
  function decodeFiles(f) {
    var n = f.parent.length;
    var parent = new Int32Array(n), name = new Int32Array(n), pa = 0, na = 0;
    for (var i0 = 0; i0 < n; i0++) {
      pa += f.parent[i0]; parent[i0] = pa;
      na += f.name[i0]; name[i0] = na;
    }
    var first = new Int32Array(n + 1);
    for (var i = 1; i < n; i++) first[parent[i] + 1]++;
    for (i = 0; i < n; i++) first[i + 1] += first[i];
    var kids = new Int32Array(Math.max(0, n - 1));
    var fill = first.slice(0, n);
    for (i = 1; i < n; i++) kids[fill[parent[i]]++] = i;
    function dec(v) {
      var m = v.node.length, node = new Int32Array(m), c = 0;
      for (var j = 0; j < m; j++) { c += v.node[j]; node[j] = c; }
      return { m: m, node: node, code: v.code, layer: v.layer || null, size: v.size };
    }
    return { n: n, names: f.names, parent: parent, name: name, first: first, kids: kids, final: dec(f.final), layers: f.layers.map(dec) };
  }

  var viewCache = {};
  /* The tree as it stands in a view: 'final', or after layer v with v's changes marked.
   * present: 0 absent, 1 present, 2 deleted by this layer (shown struck through). */
  function computeView(v) {
    var key = String(v);
    if (viewCache[key]) return viewCache[key];
    var n = F.n;
    var V = {
      key: key, present: new Uint8Array(n), kind: new Int8Array(n), layer: new Int32Array(n).fill(-1),
      size: new Float64Array(n), change: new Int8Array(n).fill(-1), files: new Int32Array(n)
    };
    var j, i, c, r;
    if (v === 'final') {
      r = F.final;
      for (j = 0; j < r.m; j++) {
        i = r.node[j];
        V.present[i] = 1; V.kind[i] = (r.code[j] / 5) | 0; V.layer[i] = r.layer[j]; V.size[i] = r.size[j];
      }
    } else {
      for (var l = 0; l <= v; l++) {
        r = F.layers[l];
        for (j = 0; j < r.m; j++) {
          i = r.node[j]; c = r.code[j] % 5;
          if (c === 4) {
            if (l === v) { V.present[i] = 2; V.kind[i] = (r.code[j] / 5) | 0; V.layer[i] = l; V.size[i] = r.size[j]; V.change[i] = 3; }
            else { V.present[i] = 0; V.change[i] = -1; }
          } else {
            V.present[i] = 1; V.kind[i] = (r.code[j] / 5) | 0; V.layer[i] = l; V.size[i] = r.size[j];
            V.change[i] = l === v && c > 0 ? c - 1 : -1;
          }
        }
      }
    }
    for (i = 0; i < n; i++) if (V.present[i] === 1 && V.kind[i] === DIR) V.size[i] = 0;
    V.present[0] = 1; V.kind[0] = DIR;
    /* Parents precede children, so one backward pass sums sizes and brings in the
     * directories that exist only because paths below them do. */
    for (i = n - 1; i >= 1; i--) {
      if (!V.present[i]) continue;
      var p = F.parent[i];
      if (V.present[p] !== 1) {
        V.present[p] = 1; V.kind[p] = DIR; V.layer[p] = -1; V.size[p] = 0; V.change[p] = -1;
      }
      if (V.present[i] !== 1) continue;
      if (V.kind[i] === DIR) { V.size[p] += V.size[i]; V.files[p] += V.files[i]; }
      else { V.size[p] += V.size[i]; V.files[p] += 1; }
    }
    var counts = [0, 0, 0, 0];
    if (v !== 'final') for (i = 1; i < n; i++) if (V.change[i] >= 0 && V.kind[i] !== DIR && V.present[i]) counts[V.change[i]]++;
    V.counts = counts;
    viewCache[key] = V;
    return V;
  }

  var pathCache = null, lowerCache = null, childMap = null;
  function pathOf(i) {
    if (pathCache) return pathCache[i];
    var parts = [];
    while (i > 0) { parts.push(F.names[F.name[i]]); i = F.parent[i]; }
    return parts.reverse().join('/');
  }
  function allPaths() {
    if (!pathCache) {
      var a = new Array(F.n);
      a[0] = '';
      for (var i = 1; i < F.n; i++) {
        var p = a[F.parent[i]];
        a[i] = p ? p + '/' + F.names[F.name[i]] : F.names[F.name[i]];
      }
      pathCache = a;
    }
    return pathCache;
  }
  function lowerPaths() {
    if (!lowerCache) lowerCache = allPaths().map(function (s) { return s.toLowerCase(); });
    return lowerCache;
  }
  function lookup(path) {
    if (!childMap) {
      childMap = new Map();
      for (var i = 1; i < F.n; i++) childMap.set(F.parent[i] + '\u0000' + F.names[F.name[i]], i);
    }
    var cur = 0;
    var parts = String(path).split('/');
    for (var j = 0; j < parts.length; j++) {
      if (!parts[j] || parts[j] === '.') continue;
      var next = childMap.get(cur + '\u0000' + parts[j]);
      if (next === undefined) return -1;
      cur = next;
    }
    return cur;
  }

  var wasteSets = null;
  function getWasteSets() {
    if (wasteSets) return wasteSets;
    wasteSets = { any: new Set(), added: new Set(), hidden: new Set() };
    ((R && R.waste) || []).forEach(function (w) {
      var i = lookup(w.path);
      if (i < 0) return;
      wasteSets.any.add(i);
      wasteSets.added.add(i + ':' + w.added_by_layer);
      wasteSets.hidden.add(i + ':' + w.hidden_by_layer);
    });
    return wasteSets;
  }

  /* ---------- treemap ---------- */

  var TM = { root: 0, svg: null, nav: null, dom: new Map() };

  function dominantLayer(V, node) {
    if (TM.dom.has(node)) return TM.dom.get(node);
    var acc = new Map(), stack = [node];
    while (stack.length) {
      var d = stack.pop();
      for (var k = F.first[d]; k < F.first[d + 1]; k++) {
        var c = F.kids[k];
        if (V.present[c] !== 1) continue;
        if (V.kind[c] === DIR) stack.push(c);
        else if (V.size[c] > 0) acc.set(V.layer[c], (acc.get(V.layer[c]) || 0) + V.size[c]);
      }
    }
    var best = -1, bestBytes = -1;
    acc.forEach(function (b, l) { if (b > bestBytes) { best = l; bestBytes = b; } });
    TM.dom.set(node, best);
    return best;
  }

  /* Squarified treemap (Bruls, Huizing, van Wijk 2000): rows along the shorter side, each
   * grown while it improves the worst aspect ratio. Items carry `a` (area), largest first. */
  function squarify(items, x, y, w, h) {
    var out = [], i = 0;
    while (i < items.length && w > 0.5 && h > 0.5) {
      var horizontal = w >= h, side = horizontal ? h : w;
      var row = [], sum = 0, mn = Infinity, mx = 0, worst = Infinity;
      while (i < items.length) {
        var a = items[i].a, s2 = sum + a, n2 = Math.min(mn, a), x2 = Math.max(mx, a);
        var wst = Math.max(side * side * x2 / (s2 * s2), (s2 * s2) / (side * side * n2));
        if (row.length && wst > worst) break;
        row.push(items[i]); sum = s2; mn = n2; mx = x2; worst = wst; i++;
      }
      var thick = sum / side, off = 0;
      for (var j = 0; j < row.length; j++) {
        var len = row[j].a / thick;
        if (horizontal) out.push({ it: row[j], x: x, y: y + off, w: thick, h: len });
        else out.push({ it: row[j], x: x + off, y: y, w: len, h: thick });
        off += len;
      }
      if (horizontal) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
    return out;
  }

  function sortedKids(V, dir, by) {
    var key = V.key + '|' + by + '|' + dir;
    var cached = sortCache.get(key);
    if (cached) return cached;
    var a = [];
    for (var k = F.first[dir]; k < F.first[dir + 1]; k++) if (V.present[F.kids[k]]) a.push(F.kids[k]);
    var names = F.names, nm = F.name;
    if (by === 'name') {
      a.sort(function (x, y) {
        var dx = V.kind[x] === DIR ? 0 : 1, dy = V.kind[y] === DIR ? 0 : 1;
        if (dx !== dy) return dx - dy;
        var sx = names[nm[x]], sy = names[nm[y]];
        return sx < sy ? -1 : sx > sy ? 1 : 0;
      });
    } else {
      a.sort(function (x, y) {
        var d = V.size[y] - V.size[x];
        if (d) return d;
        var sx = names[nm[x]], sy = names[nm[y]];
        return sx < sy ? -1 : sx > sy ? 1 : 0;
      });
    }
    sortCache.set(key, a);
    return a;
  }
  var sortCache = new Map();

  function renderTreemapPanel(root) {
    if (!F) return;
    var p = panel('treemap-panel', 'Final filesystem', 'tile area = bytes, colour = the layer that added the file; click a folder to zoom in, a file to find it in the explorer');
    TM.nav = el('nav', { class: 'tm-nav', 'aria-label': 'Treemap location' });
    TM.svg = svg('svg', { id: 'treemap', role: 'img', 'aria-label': 'Treemap of the final filesystem by size' });
    var legend = el('div', { class: 'legend tm-legend' });
    if (R) {
      R.layers.forEach(function (l) {
        if (!l.size_bytes) return;
        legend.appendChild(el('span', { class: 'key', title: instructionOf(l.index) }, swatch(l.index), layerLabel(l.index)));
      });
    }
    p.body.appendChild(TM.nav);
    p.body.appendChild(TM.svg);
    p.body.appendChild(legend);
    root.appendChild(p);
    TM.svg.addEventListener('mousemove', function (e) {
      var t = e.target;
      var node = t && t.getAttribute ? t.getAttribute('data-node') : null;
      if (node === null) { hideTip(); return; }
      showTip(e, tmTip(Number(node), t));
    });
    TM.svg.addEventListener('mouseleave', hideTip);
    TM.svg.addEventListener('click', function (e) {
      var t = e.target, node = t && t.getAttribute ? t.getAttribute('data-node') : null;
      if (node === null) return;
      var i = Number(node);
      if (i < 0) return;
      var V = computeView('final');
      if (V.kind[i] === DIR) { TM.root = i; drawTreemap(); writeHash(); }
      else reveal('final', i);
    });
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(drawTreemap, 120);
    });
  }

  function tmTip(i, target) {
    var V = computeView('final');
    if (i < 0) {
      return [el('div', { class: 'p' }, target.getAttribute('data-label') || ''),
        el('div', null, human(Number(target.getAttribute('data-bytes'))) + ' (' + grouped(Number(target.getAttribute('data-bytes'))) + ' bytes)')];
    }
    var isDir = V.kind[i] === DIR;
    var lines = [el('div', { class: 'p' }, '/' + pathOf(i) + (isDir ? '/' : '')),
      el('div', null, human(V.size[i]) + ' (' + grouped(V.size[i]) + ' bytes)' + (isDir ? ' in ' + plural(V.files[i], 'file') : ''))];
    if (isDir) {
      var d = dominantLayer(V, i);
      if (d >= 0) lines.push(el('div', { class: 'm' }, 'mostly from ' + layerLabel(d) + ': ' + ellipsize(instructionOf(d), 80)));
    } else {
      lines.push(el('div', { class: 'm' }, layerLabel(V.layer[i]) + ': ' + ellipsize(instructionOf(V.layer[i]), 80)));
    }
    return lines;
  }

  function showTip(e, content) {
    tip.textContent = '';
    add(tip, content);
    tip.hidden = false;
    var pad = 14, w = tip.offsetWidth, h = tip.offsetHeight;
    var x = e.clientX + pad, y = e.clientY + pad;
    if (x + w > window.innerWidth - 4) x = Math.max(4, e.clientX - w - pad);
    if (y + h > window.innerHeight - 4) y = Math.max(4, e.clientY - h - pad);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.hidden = true; }

  function drawTreemap() {
    if (!TM.svg) return;
    var V = computeView('final');
    if (V.present[TM.root] !== 1 || V.kind[TM.root] !== DIR) TM.root = 0;
    var s = TM.svg;
    while (s.firstChild) s.removeChild(s.firstChild);
    var W = Math.max(200, s.clientWidth || 1200), H = Math.max(200, s.clientHeight || 460);
    s.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var defs = svg('defs', {});
    var pat = svg('pattern', { id: 'tm-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
    pat.appendChild(svg('rect', { width: 6, height: 6, fill: '#9aa3ae' }));
    pat.appendChild(svg('rect', { width: 3, height: 6, fill: '#b5bcc6' }));
    defs.appendChild(pat);
    s.appendChild(defs);
    var budget = { n: 2500 };
    var g = svg('g', {});
    s.appendChild(g);
    if (V.size[TM.root] <= 0) {
      var t = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'dl' });
      t.textContent = 'No file bytes here';
      g.appendChild(t);
    } else {
      layoutDir(g, V, TM.root, 0, 0, W, H, 0, budget);
    }
    s.setAttribute('data-tiles', String(2500 - budget.n));
    drawTmNav();
  }

  function label(g, x, y, w, h, text, size, color, cls) {
    var maxChars = Math.floor((w - 8) / 6.6);
    if (maxChars < 6 || h < 15) return;
    var t = svg('text', { x: x + 4, y: y + 12, class: cls || null });
    if (color) t.setAttribute('fill', color);
    t.textContent = ellipsize(text, maxChars);
    g.appendChild(t);
    if (size && h >= 30 && maxChars >= 6) {
      var t2 = svg('text', { x: x + 4, y: y + 25, class: (cls ? cls + ' ' : '') + 'sz' });
      if (color) t2.setAttribute('fill', color);
      t2.textContent = size;
      g.appendChild(t2);
    }
  }

  function layoutDir(g, V, node, x, y, w, h, depth, budget) {
    var total = V.size[node];
    if (total <= 0 || w < 1 || h < 1) return;
    var kids = sortedKids(V, node, 'size');
    var k = (w * h) / total, items = [], other = 0, otherN = 0;
    for (var j = 0; j < kids.length; j++) {
      var c = kids[j];
      if (V.present[c] !== 1 || V.size[c] <= 0) continue;
      var a = V.size[c] * k;
      if (a < 30 || items.length >= 300 || budget.n <= 0) { other += V.size[c]; otherN++; }
      else items.push({ node: c, a: a });
    }
    if (other > 0) items.push({ node: -1, a: other * k, size: other, n: otherN });
    var rects = squarify(items, x, y, w, h);
    for (j = 0; j < rects.length; j++) {
      var r = rects[j], it = r.it;
      budget.n--;
      if (it.node < 0) {
        var lbl = plural(it.n, 'smaller item') + ' in /' + pathOf(node);
        g.appendChild(svg('rect', { x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), class: 'leaf other', 'data-node': -1, 'data-bytes': it.size, 'data-label': lbl }));
        continue;
      }
      var c2 = it.node, isDir = V.kind[c2] === DIR, name = F.names[F.name[c2]];
      if (isDir && depth < 3 && r.w >= 56 && r.h >= 40 && budget.n > 0) {
        g.appendChild(svg('rect', { x: r.x + 0.5, y: r.y + 0.5, width: Math.max(0, r.w - 1), height: Math.max(0, r.h - 1), class: 'dir', 'data-node': c2, rx: 2 }));
        label(g, r.x, r.y + 1, r.w, 16, name + '/  ' + human(V.size[c2]), null, null, 'dl');
        layoutDir(g, V, c2, r.x + 2, r.y + 18, r.w - 4, r.h - 20, depth + 1, budget);
      } else {
        var layer = isDir ? dominantLayer(V, c2) : V.layer[c2];
        var fill = layerColor(layer);
        g.appendChild(svg('rect', { x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), class: 'leaf', fill: fill, 'data-node': c2 }));
        label(g, r.x, r.y, r.w, r.h, name + (isDir ? '/' : ''), human(V.size[c2]), ink(fill));
      }
    }
  }

  function drawTmNav() {
    var nav = TM.nav;
    nav.textContent = '';
    var chain = [], i = TM.root;
    while (i > 0) { chain.push(i); i = F.parent[i]; }
    chain.reverse();
    var V = computeView('final');
    function crumb(node, text) {
      if (node === TM.root) return el('span', { class: 'cur', 'aria-current': 'location' }, text);
      return el('button', { type: 'button', onclick: function () { TM.root = node; drawTreemap(); writeHash(); } }, text);
    }
    nav.appendChild(crumb(0, '/'));
    chain.forEach(function (n) {
      nav.appendChild(el('span', { class: 'sep' }, '›'));
      nav.appendChild(crumb(n, F.names[F.name[n]]));
    });
    nav.appendChild(el('span', { class: 'sub', style: null }, '\u2003' + human(V.size[TM.root]) + ' in ' + plural(V.files[TM.root], 'file')));
  }

  /* ---------- explorer ---------- */

  var S = { view: 'final', changes: false, waste: false, min: 0, q: '', sort: 'size', expanded: new Set(), collapsed: new Set(), limits: new Map() };
  var EX = {};
  var PAGE = 200, MAX_ROWS = 4000, AUTO_EXPAND = 400;

  function renderExplorerPanel(root) {
    if (!F) return;
    var p = panel('explorer', 'File explorer', 'the final image, or the tree as it stands after any layer with that layer\'s changes marked');
    var viewSel = el('select', { id: 'ex-view', 'aria-label': 'Which filesystem' });
    viewSel.appendChild(el('option', { value: 'final' }, 'Final image'));
    if (R) {
      R.layers.forEach(function (l) {
        viewSel.appendChild(el('option', { value: String(l.index) },
          'After layer ' + l.index + (l.base ? ' (base)' : '') + ': ' + ellipsize(instructionOf(l.index), 56)));
      });
    } else {
      F.layers.forEach(function (_, i) { viewSel.appendChild(el('option', { value: String(i) }, 'After layer ' + i)); });
    }
    var changes = el('input', { type: 'checkbox', id: 'ex-changes' });
    var waste = el('input', { type: 'checkbox', id: 'ex-waste' });
    var min = el('select', { id: 'ex-min', 'aria-label': 'Minimum size' });
    [[0, 'any size'], [1000, '≥ 1 kB'], [10000, '≥ 10 kB'], [100000, '≥ 100 kB'], [1000000, '≥ 1 MB'], [10000000, '≥ 10 MB'], [100000000, '≥ 100 MB']]
      .forEach(function (o) { min.appendChild(el('option', { value: String(o[0]) }, o[1])); });
    var q = el('input', { type: 'search', id: 'ex-q', placeholder: 'Search paths…', 'aria-label': 'Search by path', autocomplete: 'off', spellcheck: 'false' });
    var sort = el('select', { id: 'ex-sort', 'aria-label': 'Sort' });
    sort.appendChild(el('option', { value: 'size' }, 'Largest first'));
    sort.appendChild(el('option', { value: 'name' }, 'By name'));
    var expandAll = el('button', { type: 'button', class: 'btn' }, 'Expand all');
    var collapseAll = el('button', { type: 'button', class: 'btn' }, 'Collapse');
    var controls = el('div', { class: 'ex-controls' },
      el('label', null, 'Show', viewSel),
      el('label', { title: 'Only entries this layer added, modified or deleted' }, changes, 'Changes only'),
      el('label', { title: 'Only files whose bytes are hidden in the final image (in the final image: paths with hidden copies underneath)' }, waste, 'Waste only'),
      el('label', null, 'Size', min),
      q, el('label', null, 'Sort', sort));
    var status = el('div', { class: 'ex-status', 'data-testid': 'ex-status' });
    var treeTools = el('span', { class: 'tools' }, expandAll, collapseAll);
    var tree = el('div', { class: 'tree', role: 'tree', 'aria-label': 'Files', tabindex: '-1' });
    p.body.style.padding = '0';
    p.body.appendChild(controls);
    p.body.appendChild(status);
    p.body.appendChild(tree);
    root.appendChild(p);
    EX = { panel: p, viewSel: viewSel, changes: changes, waste: waste, min: min, q: q, sort: sort, status: status, tree: tree, tools: treeTools };

    viewSel.addEventListener('change', function () { S.view = viewSel.value === 'final' ? 'final' : Number(viewSel.value); S.limits.clear(); update(); });
    changes.addEventListener('change', function () { S.changes = changes.checked; update(); });
    waste.addEventListener('change', function () { S.waste = waste.checked; update(); });
    min.addEventListener('change', function () { S.min = Number(min.value); update(); });
    sort.addEventListener('change', function () { S.sort = sort.value; update(); });
    var qTimer = 0;
    q.addEventListener('input', function () {
      clearTimeout(qTimer);
      qTimer = setTimeout(function () { S.q = q.value.trim(); update(); }, 180);
    });
    expandAll.addEventListener('click', function () {
      var V = computeView(S.view), shown = currentShown(), added = 0;
      for (var i = 1; i < F.n && added < 5000; i++) {
        if (V.present[i] && V.kind[i] === DIR && (!shown || shown[i])) { S.expanded.add(i); added++; }
      }
      S.collapsed.clear();
      update();
    });
    collapseAll.addEventListener('click', function () {
      S.expanded.clear();
      S.collapsed.clear();
      S.limits.clear();
      if (currentShown()) {
        var V = computeView(S.view);
        for (var i = 1; i < F.n; i++) if (V.present[i] && V.kind[i] === DIR) S.collapsed.add(i);
      }
      update();
    });
    tree.addEventListener('click', function (e) {
      var more = e.target.closest ? e.target.closest('[data-more]') : null;
      if (more) {
        var d = Number(more.getAttribute('data-more'));
        S.limits.set(d, (S.limits.get(d) || PAGE) + 1000);
        renderTree();
        return;
      }
      var row = e.target.closest ? e.target.closest('.trow.dir') : null;
      if (row) toggle(Number(row.getAttribute('data-node')));
    });
    tree.addEventListener('keydown', function (e) {
      var row = e.target.closest ? e.target.closest('.trow') : null;
      if (!row) return;
      var i = Number(row.getAttribute('data-node'));
      if (e.key === 'ArrowRight' && row.classList.contains('dir') && !isOpen(i)) { toggle(i); e.preventDefault(); }
      else if (e.key === 'ArrowLeft' && row.classList.contains('dir') && isOpen(i)) { toggle(i); e.preventDefault(); }
    });
  }

  function toggle(i) {
    if (isOpen(i)) { S.expanded.delete(i); S.collapsed.add(i); }
    else { S.expanded.add(i); S.collapsed.delete(i); }
    renderTree();
    writeHash();
    var row = EX.tree.querySelector('.trow[data-node="' + i + '"] .tw');
    if (row) row.focus({ preventScroll: true });
  }

  function filterActive() { return (S.changes && S.view !== 'final') || S.waste || S.min > 0 || S.q !== ''; }

  var shownCache = { key: null, shown: null, matches: 0, total: 0 };
  function currentShown() {
    if (!filterActive()) return null;
    var key = [S.view, S.changes, S.waste, S.min, S.q].join('|');
    if (shownCache.key === key) return shownCache.shown;
    var V = computeView(S.view), n = F.n, shown = new Uint8Array(n), matches = 0, matchBytes = 0;
    var q = S.q.toLowerCase(), paths = q ? lowerPaths() : null;
    var changesOnly = S.changes && S.view !== 'final';
    var ws = S.waste ? getWasteSets() : null;
    for (var i = 1; i < n; i++) {
      var pr = V.present[i];
      if (!pr) continue;
      if (changesOnly && V.change[i] < 0) continue;
      if (q && paths[i].indexOf(q) < 0) continue;
      if (V.kind[i] === DIR) {
        if (S.waste || S.min > 0) continue;
        if (!changesOnly && !q) continue;
      } else {
        if (V.size[i] < S.min) continue;
        if (ws) {
          var hit = S.view === 'final' ? ws.any.has(i)
            : pr === 2 ? ws.hidden.has(i + ':' + S.view) : ws.added.has(i + ':' + V.layer[i]);
          if (!hit) continue;
        }
        matchBytes += V.size[i];
      }
      shown[i] = 1;
      matches++;
    }
    var total = matches;
    for (i = n - 1; i >= 1; i--) {
      if (shown[i] && !shown[F.parent[i]]) { shown[F.parent[i]] = 2; total++; }
    }
    shown[0] = 2;
    shownCache = { key: key, shown: shown, matches: matches, total: total, bytes: matchBytes };
    return shown;
  }

  function isOpen(i) {
    if (S.expanded.has(i)) return true;
    if (S.collapsed.has(i)) return false;
    var shown = currentShown();
    return !!(shown && shownCache.total <= AUTO_EXPAND && shown[i]);
  }

  function update() {
    syncControls();
    renderTree();
    writeHash();
  }

  function syncControls() {
    EX.viewSel.value = String(S.view);
    EX.changes.checked = S.changes;
    EX.changes.disabled = S.view === 'final';
    EX.changes.parentNode.style.opacity = S.view === 'final' ? '0.5' : '';
    EX.waste.checked = S.waste;
    if (!EX.min.querySelector('option[value="' + S.min + '"]')) {
      EX.min.appendChild(el('option', { value: String(S.min) }, '≥ ' + human(S.min)));
    }
    EX.min.value = String(S.min);
    if (EX.q.value.trim() !== S.q) EX.q.value = S.q;
    EX.sort.value = S.sort;
  }

  function renderStatus(V) {
    var st = EX.status;
    st.textContent = '';
    var root = V.size[0];
    if (S.view === 'final') {
      st.appendChild(el('span', { 'data-files': V.files[0], 'data-bytes': root }, 'Final image: ', el('b', null, plural(V.files[0], 'file')), ', ', bytes(root)));
    } else {
      var l = R ? R.layers[S.view] : null;
      st.appendChild(el('span', { 'data-files': V.files[0], 'data-bytes': root },
        'After layer ' + S.view + ': ', el('b', null, plural(V.files[0], 'file')), ', ', bytes(root)));
      var c = V.counts;
      var chg = el('span', {
        'data-added': c[0], 'data-modified': c[1] + c[2], 'data-metadata-only': c[2], 'data-deleted': c[3]
      }, 'this layer: ');
      [[0, 'added'], [1, 'modified'], [2, 'metadata only'], [3, 'deleted']].forEach(function (x, j) {
        if (j) chg.appendChild(document.createTextNode(' · '));
        chg.appendChild(el('span', { class: 'pill ' + CHANGE_PILL[x[0]] }, grouped(c[x[0]]) + ' ' + x[1]));
      });
      st.appendChild(chg);
      if (l && l.created_by) st.appendChild(el('code', { class: 'mono', title: l.created_by }, ellipsize(instructionOf(S.view), 90)));
    }
    if (filterActive()) {
      currentShown();
      st.appendChild(el('span', { 'data-matches': shownCache.matches },
        el('b', null, plural(shownCache.matches, 'match', 'matches')), S.min || S.waste ? ', ' : '', S.min || S.waste ? bytes(shownCache.bytes) : null));
    }
    st.appendChild(EX.tools);
  }

  function renderTree() {
    if (!EX.tree) return;
    var V = computeView(S.view);
    renderStatus(V);
    var shown = currentShown();
    var tree = EX.tree;
    tree.textContent = '';
    var head = el('div', { class: 'thead', role: 'presentation' },
      el('span', null, 'Name'), el('span', null, S.view === 'final' ? '' : 'Change'), el('span', null, 'Size'), el('span', { class: 'share' }, 'Share of folder'), el('span', null, 'Layer'));
    tree.appendChild(head);
    var frag = document.createDocumentFragment();
    var count = 0, truncated = false;
    function visit(dir, depth) {
      var kids = sortedKids(V, dir, S.sort);
      if (shown) kids = kids.filter(function (k) { return shown[k]; });
      var lim = S.limits.get(dir) || PAGE;
      var end = Math.min(kids.length, lim);
      for (var j = 0; j < end; j++) {
        if (count >= MAX_ROWS) { truncated = true; return; }
        var c = kids[j];
        frag.appendChild(row(V, c, depth, dir));
        count++;
        if (V.kind[c] === DIR && isOpen(c)) visit(c, depth + 1);
      }
      if (kids.length > end) {
        var more = el('div', { class: 'more trow', role: 'none' },
          el('span', { class: 'nm' }, el('span', { class: 'sp' }),
            el('button', { type: 'button', 'data-more': dir }, 'Show ' + grouped(Math.min(1000, kids.length - end)) + ' more of ' + plural(kids.length - end, 'entry', 'entries') + ' left')));
        more.firstChild.style.paddingLeft = (depth * 16) + 'px';
        frag.appendChild(more);
      }
    }
    visit(0, 0);
    tree.appendChild(frag);
    if (count === 0) {
      tree.appendChild(el('div', { class: 'empty' }, filterActive() ? 'Nothing matches these filters.' : 'This filesystem is empty.'));
    }
    if (truncated) {
      tree.appendChild(el('div', { class: 'empty' }, 'Showing the first ' + grouped(MAX_ROWS) + ' rows: collapse folders or narrow the filters to see more.'));
    }
    tree.setAttribute('data-rows', String(count));
  }

  function row(V, i, depth, parentDir) {
    var isDir = V.kind[i] === DIR, ghost = V.present[i] === 2, ch = V.change[i];
    var path = pathOf(i), open = isDir && isOpen(i);
    var r = el('div', {
      class: 'trow' + (isDir ? ' dir' : '') + (ghost ? ' deleted' : ''), role: 'treeitem', 'aria-level': depth + 1,
      'aria-expanded': isDir ? String(open) : null, 'data-node': i, 'data-path': path, 'data-kind': KIND_NAMES[V.kind[i]],
      'data-bytes': V.size[i], 'data-change': ch >= 0 ? CHANGE_NAMES[ch] : null, 'data-layer': V.layer[i] >= 0 ? V.layer[i] : null
    });
    var nm = el('span', { class: 'nm' });
    nm.style.paddingLeft = (depth * 16) + 'px';
    if (isDir) nm.appendChild(el('button', { type: 'button', class: 'tw', 'aria-label': (open ? 'Collapse ' : 'Expand ') + path }, icon(CHEVRON, 10)));
    else nm.appendChild(el('span', { class: 'sp' }));
    nm.appendChild(el('span', { class: 't', title: '/' + path }, F.names[F.name[i]] + (isDir ? '/' : '')));
    if (!isDir && V.kind[i] !== 0) nm.appendChild(el('span', { class: 'k' }, KIND_NAMES[V.kind[i]]));
    if (isDir && V.files[i] && !ghost) nm.appendChild(el('span', { class: 'k' }, plural(V.files[i], 'file')));
    r.appendChild(nm);
    r.appendChild(el('span', { class: 'chg' }, ch >= 0 ? el('span', { class: 'pill ' + CHANGE_PILL[ch] }, CHANGE_LABELS[ch]) : null));
    r.appendChild(el('span', { class: 'sz' }, bytes(V.size[i])));
    var share = el('span', { class: 'share', 'aria-hidden': 'true' });
    var bar = el('i');
    var denom = Math.max(V.size[parentDir], V.size[i]);
    bar.style.width = (denom > 0 ? V.size[i] / denom * 100 : 0).toFixed(2) + '%';
    share.appendChild(bar);
    r.appendChild(share);
    var ly = el('span', { class: 'ly', title: V.layer[i] >= 0 ? layerLabel(V.layer[i]) + ': ' + instructionOf(V.layer[i]) : 'implicit directory' });
    if (V.layer[i] >= 0) { ly.appendChild(swatch(V.layer[i])); ly.appendChild(document.createTextNode(String(V.layer[i]))); }
    else ly.appendChild(document.createTextNode('–'));
    r.appendChild(ly);
    return r;
  }

  function expandTo(i, self) {
    if (self) { S.expanded.add(i); S.collapsed.delete(i); }
    var p = F.parent[i];
    while (p > 0) { S.expanded.add(p); S.collapsed.delete(p); p = F.parent[p]; }
  }

  function reveal(view, i) {
    S.view = view;
    expandTo(i, false);
    var p = F.parent[i];
    var V = computeView(view);
    var kids = sortedKids(V, p, S.sort);
    var idx = kids.indexOf(i);
    if (idx >= (S.limits.get(p) || PAGE)) S.limits.set(p, idx + 1);
    update();
    var r = EX.tree.querySelector('.trow[data-node="' + i + '"]');
    if (r) {
      EX.panel.scrollIntoView({ block: 'start' });
      r.scrollIntoView({ block: 'center' });
      r.style.background = 'var(--accent-soft)';
      var b = r.querySelector('button, .t');
      if (b && b.focus) b.focus({ preventScroll: true });
    }
  }

  function showLayer(l) {
    S.view = l;
    S.changes = true;
    S.limits.clear();
    update();
    if (EX.panel) EX.panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  /* ---------- URL hash ---------- */

  function readHash() {
    var h = location.hash.replace(/^#/, '');
    var p = new URLSearchParams(h);
    var v = p.get('view');
    if (v !== null && v !== 'final' && /^\d+$/.test(v) && F && Number(v) < F.layers.length) S.view = Number(v);
    else S.view = 'final';
    S.changes = p.get('changes') === '1';
    S.waste = p.get('waste') === '1';
    S.min = parseSize(p.get('min'));
    S.q = (p.get('q') || '').trim();
    S.sort = p.get('sort') === 'name' ? 'name' : 'size';
    var ex = p.get('expand');
    if (ex && F) {
      ex.split(',').forEach(function (path) {
        var i = lookup(path.trim());
        if (i > 0) expandTo(i, true);
      });
    }
    S.actions = (p.get('do') || '').split(',').filter(Boolean);
    var sec = p.get('section');
    if (sec) S.section = sec;
    var z = p.get('zoom');
    if (z && F) {
      var zi = lookup(z);
      if (zi > 0) TM.root = zi;
    }
  }

  var writing = false;
  function writeHash() {
    if (!F) return;
    var p = new URLSearchParams();
    if (S.view !== 'final') p.set('view', String(S.view));
    if (S.changes && S.view !== 'final') p.set('changes', '1');
    if (S.waste) p.set('waste', '1');
    if (S.min) p.set('min', String(S.min));
    if (S.q) p.set('q', S.q);
    if (S.sort !== 'size') p.set('sort', S.sort);
    var ex = [];
    S.expanded.forEach(function (i) { if (ex.length < 50) ex.push(pathOf(i)); });
    if (ex.length) p.set('expand', ex.join(','));
    if (TM.root > 0) p.set('zoom', pathOf(TM.root));
    var s = p.toString();
    try {
      writing = true;
      history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
    } catch (e) { /* some browsers refuse history on file:// */ }
    writing = false;
  }

  /* ---------- sortable tables ---------- */

  function dataTable(opts) {
    var cols = opts.columns, rows = opts.rows, wrap = el('div', { class: 'tscroll' });
    var sortKey = opts.sort || null, desc = opts.desc !== false, limit = opts.page || 25;
    var table = el('table', { class: 'data', id: opts.id || null });
    wrap.appendChild(table);
    var foot = el('div', { class: 'tfoot' });
    wrap.appendChild(foot);
    function val(c, r) { return c.get ? c.get(r) : r[c.key]; }
    function draw() {
      table.textContent = '';
      var sorted = rows.slice();
      if (sortKey) {
        var c = cols.filter(function (x) { return x.key === sortKey; })[0];
        sorted.sort(function (a, b) {
          var x = val(c, a), y = val(c, b);
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          var r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
          return desc ? -r : r;
        });
      }
      var tr = el('tr');
      cols.forEach(function (c) {
        var numeric = c.type === 'bytes' || c.type === 'num' || c.type === 'signed-bytes';
        var active = c.key === sortKey;
        var th = el('th', { class: numeric ? 'r' : null, scope: 'col', 'aria-sort': active ? (desc ? 'descending' : 'ascending') : null },
          el('button', { type: 'button', title: 'Sort by ' + c.label }, c.label, el('span', { class: 'arr', 'aria-hidden': 'true' }, active ? (desc ? '▼' : '▲') : '▽')));
        th.firstChild.addEventListener('click', function () {
          if (sortKey === c.key) desc = !desc;
          else { sortKey = c.key; desc = numeric || c.type === 'layer'; }
          draw();
        });
        tr.appendChild(th);
      });
      table.appendChild(el('thead', null, tr));
      var tb = el('tbody');
      sorted.slice(0, limit).forEach(function (r) {
        var row = el('tr');
        cols.forEach(function (c) { row.appendChild(cell(c, r)); });
        tb.appendChild(row);
      });
      table.appendChild(tb);
      foot.textContent = '';
      if (rows.length > limit) {
        foot.appendChild(document.createTextNode('Showing ' + grouped(limit) + ' of ' + grouped(rows.length)));
        foot.appendChild(el('button', { type: 'button', class: 'tmore', onclick: function () { limit += 100; draw(); } }, 'Show 100 more'));
        foot.appendChild(el('button', { type: 'button', class: 'tmore', onclick: function () { limit = rows.length; draw(); } }, 'Show all'));
      } else if (rows.length > 10) {
        foot.appendChild(document.createTextNode(plural(rows.length, 'row')));
      }
    }
    function cell(c, r) {
      var v = val(c, r);
      if (c.render) return c.render(r, v);
      switch (c.type) {
        case 'bytes': return el('td', { class: 'r' }, v === null || v === undefined ? '–' : bytes(v));
        case 'signed-bytes': return el('td', { class: 'r' }, v === null || v === undefined ? '–' : signedBytes(v));
        case 'num': return el('td', { class: 'r' }, v === null || v === undefined ? '–' : grouped(v));
        case 'path': return el('td', { class: 'p' }, v === null || v === undefined ? '' : String(v));
        case 'layer': return el('td', null, v === null || v === undefined ? '–' : layerCell(v));
        default: return el('td', null, v === null || v === undefined ? '' : String(v));
      }
    }
    draw();
    return wrap;
  }

  function layerCell(i) {
    return el('span', { class: 'lyc', title: layerLabel(i) + ': ' + instructionOf(i) }, swatch(i), String(i));
  }
  function layerWithInstruction(i) {
    return el('td', { class: 'i', title: layerLabel(i) + ': ' + ((R && R.layers[i] && R.layers[i].created_by) || '') },
      el('span', { class: 'lyc' }, swatch(i), String(i)), ' ', instructionOf(i));
  }

  var KIND_PILL = { 'overwritten': 'modified', 'metadata-copy-up': 'metadata', 'deleted': 'deleted', 'hidden-by-opaque': 'deleted' };

  function renderWaste(root) {
    if (!R) return;
    var items = R.waste || [];
    var byKind = R.totals && R.totals.waste_by_kind ? Object.keys(R.totals.waste_by_kind).map(function (k) {
      return k + ' ' + human(R.totals.waste_by_kind[k]);
    }).join(' · ') : '';
    // `waste` is the list as filtered and cut (--path, --min-size, --top); the count is the
    // image's total, like every figure in `totals`.
    var total = R.totals && R.totals.waste_items !== undefined ? R.totals.waste_items : items.length;
    var listed = items.length < total ? ' (' + items.length + ' listed' + (R.filter ? ', filtered: ' + R.filter : '') + ')' : (R.filter ? ' (filtered: ' + R.filter + ')' : '');
    var p = panel('waste', 'Waste', total ? plural(total, 'hidden copy', 'hidden copies') + (byKind ? ': ' + byKind : '') + listed : null);
    if (!items.length) {
      p.body.appendChild(el('div', { class: 'empty' }, total ? 'No hidden copy is listed: the list was filtered or cut (' + (R.filter || 'top') + ').' : 'No waste: every byte the layers ship is visible in the final image.'));
    } else {
      p.body.appendChild(dataTable({
        id: 'waste-table', rows: items, sort: 'bytes', columns: [
          { key: 'bytes', label: 'Bytes', type: 'bytes' },
          { key: 'kind', label: 'Kind', render: function (r) { return el('td', null, el('span', { class: 'pill ' + (KIND_PILL[r.kind] || 'neutral') }, r.kind)); } },
          {
            key: 'path', label: 'Path', render: function (r) {
              var a = el('a', { href: '#', title: 'Show in the explorer, after layer ' + r.hidden_by_layer }, r.path);
              a.addEventListener('click', function (e) {
                e.preventDefault();
                var i = lookup(r.path);
                if (i > 0) reveal(r.hidden_by_layer, i);
              });
              return el('td', { class: 'p' }, F ? a : r.path);
            }
          },
          { key: 'added_by_layer', label: 'Added by', type: 'layer', render: function (r) { return layerWithInstruction(r.added_by_layer); } },
          { key: 'hidden_by_layer', label: 'Hidden by', type: 'layer', render: function (r) { return layerWithInstruction(r.hidden_by_layer); } }
        ]
      }));
    }
    root.appendChild(p);
  }

  function renderDuplicates(root) {
    if (!R) return;
    var groups = R.duplicates || [];
    var dtotal = R.totals && R.totals.duplicate_groups !== undefined ? R.totals.duplicate_groups : groups.length;
    var p = panel('duplicates', 'Duplicate files', dtotal
      ? plural(dtotal, 'group') + ' of byte-identical visible files, ' + human(R.totals.duplicate_bytes) + ' beyond the first copies' + (groups.length < dtotal ? ' (' + groups.length + ' listed' + (R.filter ? ', filtered: ' + R.filter : '') + ')' : '') : null);
    if (!groups.length) {
      p.body.appendChild(el('div', { class: 'empty' }, dtotal ? 'No group is listed: the list was filtered or cut (' + (R.filter || 'top') + ').' : 'No two visible files have the same content.'));
    } else {
      p.body.appendChild(dataTable({
        id: 'duplicates-table', rows: groups, sort: 'wasted_bytes', columns: [
          { key: 'wasted_bytes', label: 'Wasted', type: 'bytes' },
          { key: 'copies', label: 'Copies', type: 'num', get: function (r) { return r.paths.length; } },
          { key: 'size_bytes', label: 'Each', type: 'bytes' },
          {
            key: 'paths', label: 'Paths', get: function (r) { return r.paths[0]; }, render: function (r) {
              var d = el('div', { class: 'paths' });
              r.paths.slice(0, 4).forEach(function (x) { d.appendChild(el('div', null, x)); });
              if (r.paths.length > 4) d.appendChild(el('div', { class: 'and', title: r.paths.slice(4).join('\n') }, 'and ' + plural(r.paths.length - 4, 'more path')));
              return el('td', null, d);
            }
          },
          { key: 'sha256', label: 'Content', render: function (r) { return el('td', { class: 'mono', title: r.sha256 }, shortDigest(r.sha256)); } }
        ]
      }));
    }
    root.appendChild(p);
  }

  function renderLargest(root) {
    if (!R || !R.largest_files || !R.largest_files.length) return;
    var p = panel('largest', 'Largest files', 'the ' + plural(R.largest_files.length, 'largest visible file') + ' of the final image');
    p.body.appendChild(dataTable({
      id: 'largest-table', rows: R.largest_files, sort: 'size_bytes', page: 20, columns: [
        { key: 'size_bytes', label: 'Bytes', type: 'bytes' },
        { key: 'path', label: 'Path', type: 'path' },
        { key: 'layer', label: 'Added by', type: 'layer', render: function (r) { return r.layer === null ? el('td', null, '–') : layerWithInstruction(r.layer); } }
      ]
    }));
    root.appendChild(p);
  }

  function renderRecommendations(root) {
    var recs = D.recommendations;
    if (!recs) return;
    // Each byte counted once: findings that overlap or are alternatives share bytes.
    var saving = D.recommendations_total_bytes || 0;
    var p = panel('recommendations', 'Recommendations', recs.length ? plural(recs.length, 'finding') + (saving ? ', ' + human(saving) + ' to save together' : '') : null);
    if (!recs.length) p.body.appendChild(el('div', { class: 'empty' }, 'Nothing to recommend.'));
    else {
      p.body.appendChild(dataTable({
        id: 'recommendations-table', rows: recs, sort: 'saving_bytes', columns: [
          { key: 'saving_bytes', label: 'Saving', type: 'bytes' },
          { key: 'code', label: 'Code', render: function (r) { return el('td', { class: 'mono' }, r.code); } },
          { key: 'line', label: 'Line', type: 'num' },
          { key: 'layer', label: 'Layer', type: 'layer' },
          { key: 'message', label: 'Recommendation', render: function (r) { return el('td', null, r.message, (r.overlaps || []).map(function (o) { return el('div', { class: 'sub' }, o); })); } }
        ]
      }));
    }
    root.appendChild(p);
  }

  function renderGate(root) {
    var g = D.gate;
    if (!g) return;
    var p = panel('gate', 'Gate', el('span', { class: 'pill ' + (g.passed ? 'pass' : 'fail'), 'data-testid': 'gate-verdict' }, g.passed ? 'passed' : 'failed'));
    p.head.appendChild(el('span', { class: 'sub' }, g.summary));
    p.body.appendChild(dataTable({
      id: 'gate-table', rows: g.rules, page: 50, columns: [
        { key: 'passed', label: 'Result', render: function (r) { return el('td', null, el('span', { class: 'pill ' + (r.passed ? 'pass' : 'fail') }, r.passed ? 'pass' : 'fail')); } },
        { key: 'name', label: 'Rule', render: function (r) { return el('td', { class: 'mono' }, r.name); } },
        { key: 'detail', label: 'Detail' }
      ]
    }));
    root.appendChild(p);
  }

  function renderDockerfile(root) {
    var df = D.dockerfile;
    if (!df) return;
    var stepAt = {};
    df.steps.forEach(function (s, k) { for (var l = s.first_line; l <= s.last_line; l++) stepAt[l] = k; });
    var rebuilding = df.steps.filter(function (s) { return s.rebuilds; }).length;
    var sub = df.rebuild_bytes !== null && df.rebuild_bytes !== undefined
      ? (df.change ? 'after a change to ' + df.change + ': ' : '') + plural(rebuilding, 'step') + ' rebuild, ' + human(df.rebuild_bytes) + ' of layers' +
        (df.conditional_rebuild_bytes ? ' (' + human(df.conditional_rebuild_bytes) + ' of them only if a re-run step\'s output differs)' : '')
      : df.name;
    var p = panel('dockerfile', 'Dockerfile', sub);
    var box = el('div', { class: 'dockerfile', role: 'table', 'aria-label': df.name });
    df.lines.forEach(function (text, j) {
      var no = j + 1, k = stepAt[no], s = k === undefined ? null : df.steps[k];
      var ann = el('span', { class: 'ann' });
      if (s && s.first_line === no) {
        var b = 0;
        (s.layers || []).forEach(function (l) { if (R && R.layers[l]) b += R.layers[l].size_bytes; });
        if (s.layers && s.layers.length) {
          ann.appendChild(el('span', null, (s.layers.length === 1 ? 'layer ' + s.layers[0] : 'layers ' + s.layers.join(', ')) + ' · '));
          ann.appendChild(bytes(b));
        }
        if (s.rebuilds) ann.appendChild(el('span', { class: 'pill modified', title: s.reason || '' }, s.reason ? 'rebuilds: ' + s.reason : 'rebuilds'));
      }
      var cls = 'ln' + (s && s.rebuilds ? ' rebuild' : '') + (/^\s*#/.test(text) ? ' comment' : '');
      box.appendChild(el('div', { class: cls, role: 'row', 'data-line': no, 'data-rebuilds': s && s.rebuilds ? '1' : null },
        el('span', { class: 'no', role: 'cell' }, String(no)), el('span', { class: 'code', role: 'cell' }, text || ' '), ann));
    });
    p.body.appendChild(box);
    root.appendChild(p);
  }

  function renderSections(root) {
    (D.sections || []).forEach(function (s) {
      var p = panel(s.id, s.title, s.note || null);
      if (!s.rows.length) p.body.appendChild(el('div', { class: 'empty' }, 'Nothing here.'));
      else {
        var first = s.columns.filter(function (c) { return c.kind === 'bytes' || c.kind === 'signed-bytes'; })[0];
        p.body.appendChild(dataTable({
          id: s.id + '-table', rows: s.rows, sort: first ? first.key : null,
          columns: s.columns.map(function (c) {
            var col = { key: c.key, label: c.label, type: c.kind === 'number' ? 'num' : c.kind };
            if (c.kind === 'signed-bytes') col.get = function (r) { return r[c.key] === null || r[c.key] === undefined ? null : Math.abs(r[c.key]); };
            if (c.kind === 'signed-bytes') col.render = function (r) { return el('td', { class: 'r' }, r[c.key] === null || r[c.key] === undefined ? '–' : signedBytes(r[c.key])); };
            return col;
          })
        }));
      }
      root.appendChild(p);
    });
  }

  function renderWarnings(root) {
    var w = (R && R.warnings) || [];
    var notes = [];
    if (R && R.history && R.history.note) notes.push('history: ' + R.history.note);
    if (!w.length) return;
    var p = panel('warnings', 'Warnings', plural(w.length, 'thing', 'things') + ' tolerated while reading the image');
    var ul = el('ul', { class: 'warnings' });
    w.forEach(function (x) { ul.appendChild(el('li', null, x)); });
    p.body.appendChild(ul);
    root.appendChild(p);
  }

  /* ---------- main ---------- */

  function main() {
    var t0 = Date.now();
    if (D.files) F = decodeFiles(D.files);
    renderHeader(app);
    var wrap = el('main', { class: 'wrap' });
    app.appendChild(wrap);
    renderCards(wrap);
    renderGate(wrap);
    renderDockerfile(wrap);
    renderLayers(wrap);
    renderTreemapPanel(wrap);
    renderExplorerPanel(wrap);
    renderRecommendations(wrap);
    renderWaste(wrap);
    renderDuplicates(wrap);
    renderLargest(wrap);
    renderSections(wrap);
    renderWarnings(wrap);
    wrap.appendChild(el('footer', null, D.generator + (R ? ' · report schema ' + R.schema_version : '') +
      ' · a self-contained file: it makes no network requests'));
    if (F) {
      readHash();
      syncControls();
      renderTree();
      drawTreemap();
      window.addEventListener('hashchange', function () {
        if (writing) return;
        readHash();
        syncControls();
        renderTree();
        drawTreemap();
      });
    }
    /* #section=<id> shows that panel alone (a focused link, and screenshots of one part). */
    if (S.section) {
      var target = document.getElementById(S.section);
      if (target) { target.classList.add('solo'); document.body.setAttribute('data-solo', S.section); }
    }
    document.body.setAttribute('data-render-ms', String(Date.now() - t0));
    runActions(S.actions || [], function () { document.body.setAttribute('data-ready', '1'); });
  }

  function runActions(list, done) {
    var k = 0;
    function next() {
      if (k >= list.length) { done(); return; }
      var a = list[k++], c = a.indexOf(':');
      try { act(c < 0 ? a : a.slice(0, c), c < 0 ? '' : a.slice(c + 1)); }
      catch (e) { document.body.setAttribute('data-error', 'action ' + a + ': ' + e.message); }
      setTimeout(next, 300); /* longer than the search box's debounce */
    }
    next();
  }

  function act(verb, arg) {
    var target;
    if (verb === 'click') {
      target = EX.tree && EX.tree.querySelector('.trow[data-path="' + cssEscape(arg) + '"]');
      if (!target) throw new Error('no row for ' + arg);
      (target.querySelector('.tw') || target).click();
    } else if (verb === 'search') {
      EX.q.value = arg;
      EX.q.dispatchEvent(new Event('input', { bubbles: true }));
    } else if (verb === 'check') {
      target = document.getElementById(arg);
      if (!target) throw new Error('no checkbox ' + arg);
      target.click();
    } else if (verb === 'select') {
      var eq = arg.indexOf('=');
      target = document.getElementById(arg.slice(0, eq));
      if (!target) throw new Error('no select ' + arg);
      target.value = arg.slice(eq + 1);
      target.dispatchEvent(new Event('change', { bubbles: true }));
    } else if (verb === 'zoom') {
      var i = lookup(arg);
      target = TM.svg && TM.svg.querySelector('[data-node="' + i + '"]');
      if (!target) throw new Error('no treemap tile for ' + arg);
      target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    } else {
      throw new Error('unknown action ' + verb);
    }
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&');
  }

  try {
    main();
  } catch (e) {
    document.body.setAttribute('data-error', String(e && e.stack || e));
    app.appendChild(el('div', { class: 'err' }, 'The report could not be drawn: ' + e));
  }
})();
