// The explorer: one graph's forward pass, then its backward pass, one tensor at a time.
//
// Everything it shows comes from the data viz/explorer/page.py wrote into the page: each tensor's value and gradient
// (the engine's), the forward order (autograd.graph.walk) and the backward order (the same walk reversed: the
// order of the engine's own reverse pass), and for every edge the local partial its primitive declares with the
// numbers of that declaration's vjp. Positions are Graphviz's, one layout per unit (a box of boxes, such as a
// time step, and the rest of the graph); shutting a box compresses its unit's layout, opening a unit's card
// stretches the root's.
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const byId = (id) => document.getElementById(id);
  const NUMBER = 10; // characters a number takes on a card (viz/explorer/layout.py: NUMBER)
  const LONG = 13; // and in the ledger
  const LIMIT = data.limit;
  const tensorCount = data.nodes.length, forwardSteps = data.forward.length, backwardSteps = data.backward.length;
  const TOTAL = forwardSteps + backwardSteps;
  const math = data.math;
  const forwardIndex = new Int32Array(tensorCount), backwardIndex = new Int32Array(tensorCount).fill(-1);
  data.forward.forEach((n, k) => { forwardIndex[n] = k; });
  data.backward.forEach((n, k) => { backwardIndex[n] = k; });
  const timeline = [...data.forward.map((n) => ["forward", n]), ...data.backward.map((n) => ["backward", n])];
  const kindColour = Object.fromEntries(data.kinds.map(([kind, colour]) => [kind, colour]));
  const members = data.boxes.map((box) => new Set(box.members));

  let position = Math.min(data.start, TOTAL);
  let selected = null; // the tensor whose ledger is pinned; null: the current one
  const shut = new Set(data.collapsed);
  const view = { x: 0, y: 0, scale: 1 };
  let scene = null; // what is drawn: elements by tensor, box and edge

  // ---------------------------------------------------------------------------------------------------------
  // Numbers
  // ---------------------------------------------------------------------------------------------------------

  const toNumber = (v) => (typeof v === "string" ? Number(v) : v); // "NaN", "Infinity", "-Infinity"
  const values = (enc) => (enc && enc.d ? enc.d.map(toNumber) : null);
  const size = (shape) => shape.reduce((a, b) => a * b, 1);

  function fmt(x, digits = 4) {
    if (Number.isNaN(x)) return "NaN";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e-3 && a < 1e4) return x.toPrecision(digits);
    const e = x.toExponential(digits - 1);
    return e.length > digits + 6 ? x.toExponential(digits - 2) : e; // three-digit exponents keep the width
  }

  function summary(enc, width, digits) {
    let norm, lo, hi;
    const d = values(enc);
    if (d) {
      norm = Math.sqrt(d.reduce((s, x) => s + x * x, 0));
      lo = d.reduce((m, x) => Math.min(m, x), Infinity);
      hi = d.reduce((m, x) => Math.max(m, x), -Infinity);
    } else {
      [norm, lo, hi] = [toNumber(enc.n), toNumber(enc.lo), toNumber(enc.hi)];
    }
    const p = (x) => fmt(x, digits).padStart(width);
    return `‖·‖ ${p(norm)}  min ${p(lo)}  max ${p(hi)}`;
  }

  // An array as a card writes it (viz/explorer/layout.py: array_lines), or, `long`, as the ledger does: every
  // element it holds, a row a line.
  function lines(enc, long = false) {
    if (!enc) return [];
    const width = long ? LONG : NUMBER, digits = long ? 7 : 4;
    const n = size(enc.s);
    if (n === 0) return ["(empty)"];
    if (!long && (n > LIMIT || !enc.d)) return [summary(enc, width, digits)];
    if (!enc.d) return [summary(enc, width, digits), "(too large for the page to hold every element)"];
    const d = values(enc).map((x) => fmt(x, digits).padStart(width));
    if (enc.s.length === 0) return [d[0]];
    const row = enc.s[enc.s.length - 1] || 1;
    const out = [];
    for (let r = 0; r < d.length; r += row) out.push("[" + d.slice(r, r + row).join(" ") + "]");
    return out;
  }

  function short(enc) {
    const d = values(enc);
    if (!d) return summary(enc, 0, 3);
    const shown = d.slice(0, 4).map((x) => fmt(x, 3)).join(" ");
    return d.length > 4 ? `[${shown} …]` : `[${shown}]`;
  }

  const escapeHtml = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const shapeText = (shape) => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
  const nodeName = (n) => data.nodes[n].name || `#${n} ${data.nodes[n].op || "constant"}`;

  // ---------------------------------------------------------------------------------------------------------
  // Where things are: each unit's layout compressed where boxes are shut, the root's stretched where units open
  // ---------------------------------------------------------------------------------------------------------

  // A piecewise-linear map of one axis: every item [from, to, length] gets at least `length` (a shut box less than
  // its layout gave it, an open unit more); stretches of the axis no item covers keep theirs.
  function axisMap(items, extent) {
    const cuts = [0, extent];
    for (const [a, b] of items) cuts.push(a, b);
    const xs = [...new Set(cuts)].sort((p, q) => p - q);
    const factor = new Array(xs.length).fill(null);
    for (const [a, b, length] of items) {
      if (b - a < 1e-6) continue;
      const f = length / (b - a);
      for (let s = lowest(xs, a); s < xs.length - 1 && xs[s] < b; s++) {
        factor[s] = factor[s] === null ? f : Math.max(factor[s], f);
      }
    }
    const out = [0];
    for (let s = 0; s < xs.length - 1; s++) out.push(out[s] + (xs[s + 1] - xs[s]) * (factor[s] ?? 1));
    const f = (x) => {
      if (x <= xs[0]) return out[0] + (x - xs[0]);
      if (x >= xs[xs.length - 1]) return out[xs.length - 1] + (x - xs[xs.length - 1]);
      const s = Math.max(0, lowest(xs, x + 1e-9) - 1);
      return out[s] + (x - xs[s]) * (factor[s] ?? 1);
    };
    return f;
  }

  function lowest(sorted, x) { // the first index whose value is ≥ x
    let lo = 0, hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // The outermost shut box among `box` and the boxes around it inside its unit (null: none is shut).
  function shutAround(box) {
    let found = null;
    for (let b = box; b !== null && data.boxes[b].opens === null; b = data.boxes[b].parent) if (shut.has(b)) found = b;
    return found;
  }

  function hiddenIn(unit, j) { // the shut box that hides thing j of the unit, or null
    const thing = unit.things[j];
    return thing[1] === "card" || thing[4] === null ? null : shutAround(thing[4]);
  }

  const geometries = new Map();
  function geometry(u) { // a unit's maps and size, for the current shut boxes
    if (geometries.has(u)) return geometries.get(u);
    const unit = data.units[u], L = data.layouts[unit.layout];
    const xs = [], ys = [];
    const need = (x0, x1, y0, y1, w, h) => { xs.push([x0, x1, w]); ys.push([y0, y1, h]); };
    unit.things.forEach((thing, j) => {
      const [x, y, w, h] = L.nodes[j];
      if (thing[1] === "card") {
        const box = thing[0];
        const size = shut.has(box) ? [w, h] : (({ w: gw, h: gh }) => [gw, gh])(geometry(data.boxes[box].opens));
        need(x - w / 2, x + w / 2, y - h / 2, y + h / 2, ...size);
      } else if (hiddenIn(unit, j) === null) {
        need(x - w / 2, x + w / 2, y - h / 2, y + h / 2, w, h);
      }
    });
    unit.boxes.forEach((b, k) => {
      if (shut.has(b) && shutAround(b) === b) {
        const [x0, y0, x1, y1] = L.clusters[k];
        need(x0, x1, y0, y1, ...data.boxes[b].size);
      }
    });
    L.edges.forEach((edge, j) => { // the routed edges come first; their labels take room
      const [tail, head] = unit.links[j];
      if (edge.length > 1 && hiddenIn(unit, tail) === null && hiddenIn(unit, head) === null) {
        const [, lx, ly, lw, lh] = edge;
        need(lx - lw / 2, lx + lw / 2, ly - lh / 2, ly + lh / 2, lw, lh);
      }
    });
    const fx = axisMap(xs, L.w), fy = axisMap(ys, L.h);
    const g = { fx, fy, w: fx(L.w), h: fy(L.h) };
    geometries.set(u, g);
    return g;
  }

  // Every drawn thing of the scene, in page coordinates.
  function compose() {
    geometries.clear();
    const s = { frames: [], cards: [], wires: [], labels: [], nodeCards: new Map(), boxCards: new Map(),
                wiresOf: new Map(), frameOf: new Map(), width: 0, height: 0 };
    const root = geometry(0);
    s.width = root.w; s.height = root.h;
    emit(s, 0, root, 0, 0);
    return s;
  }

  function rect(x, y, w, h) { return { x, y, w, h }; }
  const centred = (cx, cy, w, h) => rect(cx - w / 2, cy - h / 2, w, h);

  function emit(s, u, g, ox, oy) {
    const unit = data.units[u], L = data.layouts[unit.layout];
    const X = (x) => ox + g.fx(x), Y = (y) => oy + g.fy(y);
    if (unit.box !== null) {
      s.frames.push({ box: unit.box, outline: true, r: rect(ox, oy, g.w, g.h),
                      label: L.label ? [X(L.label[0]), Y(L.label[1])] : [ox + g.w / 2, oy + 12] });
    }
    const regions = new Map(); // shut box → its region and card
    unit.boxes.forEach((b, k) => {
      const [x0, y0, x1, y1, lx, ly] = L.clusters[k];
      const around = shutAround(b);
      const region = rect(X(x0), Y(y0), X(x1) - X(x0), Y(y1) - Y(y0));
      if (around === null) {
        s.frames.push({ box: b, outline: data.boxes[b].outline, r: region, label: [X(lx), Y(ly)] });
      } else if (around === b) {
        const [w, h] = data.boxes[b].size;
        const card = centred(region.x + region.w / 2, region.y + region.h / 2, w, h);
        regions.set(b, { region, card });
        s.cards.push({ kind: "box", box: b, r: card });
      }
    });
    const drawn = []; // per thing: { key, r (what edges end on), region (what they stop at) }
    unit.things.forEach((thing, j) => {
      const [x, y, w, h] = L.nodes[j];
      if (thing[1] === "card") {
        const box = thing[0];
        const region = rect(X(x - w / 2), Y(y - h / 2), X(x + w / 2) - X(x - w / 2), Y(y + h / 2) - Y(y - h / 2));
        if (shut.has(box)) {
          const card = centred(X(x), Y(y), w, h);
          s.cards.push({ kind: "box", box, r: card });
          drawn.push({ key: `u${box}`, r: card, region: card });
        } else {
          const inner = geometry(data.boxes[box].opens);
          emit(s, data.boxes[box].opens, inner, region.x + (region.w - inner.w) / 2, region.y + (region.h - inner.h) / 2);
          drawn.push({ key: `u${box}`, r: region, region });
        }
        return;
      }
      const hidden = hiddenIn(unit, j);
      if (hidden === null) {
        const card = centred(X(x), Y(y), w, h);
        s.cards.push({ kind: "node", thing, r: card });
        drawn.push({ key: `t${u}.${j}`, r: card, region: card });
      } else {
        const { region, card } = regions.get(hidden);
        drawn.push({ key: `b${hidden}`, r: card, region, hidden: true });
      }
    });
    const merged = new Map();
    unit.links.forEach((link, j) => {
      const [tail, head] = link.map((k) => drawn[k]);
      if (tail.key === head.key) return;
      const edge = L.edges[j]; // undefined: a loose edge, which Graphviz did not route
      const ids = unit.edges[j];
      const key = `${tail.key}>${head.key}`;
      if ((tail.hidden || head.hidden || !edge) && merged.has(key)) {
        merged.get(key).edges.push(...ids);
        return;
      }
      let points = edge ? sample(edge[0]).map(([x, y]) => [X(x), Y(y)]) : curve(tail.r, head.r);
      if (tail.hidden) points = trim(points, tail, false);
      if (head.hidden) points = trim(points, head, true);
      const wire = { edges: [...ids], points, dashed: Boolean(tail.hidden || head.hidden) };
      merged.set(key, wire);
      s.wires.push(wire);
      if (edge && edge.length > 1 && !tail.hidden && !head.hidden) s.labels.push({ edge: ids[0], at: [X(edge[1]), Y(edge[2])] });
    });
  }

  // A loose edge: from the bottom of one box to the top of the other (or side to side), a smooth curve.
  function curve(a, b) {
    const down = b.y >= a.y + a.h;
    const p0 = down ? [a.x + a.w / 2, a.y + a.h] : border(a, [b.x + b.w / 2, b.y + b.h / 2]);
    const p3 = down ? [b.x + b.w / 2, b.y] : border(b, [a.x + a.w / 2, a.y + a.h / 2]);
    const bend = Math.max(30, (p3[1] - p0[1]) / 2);
    const flat = [...p0, p0[0], p0[1] + bend, p3[0], p3[1] - bend, p3[0], p3[1] - 1, ...p3];
    return sample(flat);
  }

  // A Graphviz spline (cubic Béziers, then the arrow's tip) as points.
  function sample(flat) {
    const pts = [];
    for (let k = 0; k < flat.length; k += 2) pts.push([flat[k], flat[k + 1]]);
    const tip = pts.pop();
    const out = [pts[0]];
    for (let i = 0; i + 3 < pts.length; i += 3) {
      const [p0, p1, p2, p3] = [pts[i], pts[i + 1], pts[i + 2], pts[i + 3]];
      for (let k = 1; k <= 8; k++) {
        const t = k / 8, u = 1 - t;
        const a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t;
        out.push([a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]]);
      }
    }
    if (tip) out.push(tip);
    return out;
  }

  const inside = (r, [x, y]) => x > r.x && x < r.x + r.w && y > r.y && y < r.y + r.h;

  // Cut an edge where it enters a shut box's region and end it on the box's card.
  function trim(points, end, atHead) {
    const pts = atHead ? [...points].reverse() : [...points];
    let k = 0;
    while (k < pts.length - 1 && inside(end.region, pts[k])) k++;
    const rest = pts.slice(k);
    const out = [border(end.r, rest[0]), ...rest];
    return atHead ? out.reverse() : out;
  }

  function border(r, [x, y]) { // where the line from r's centre to (x, y) leaves r
    const cx = r.x + r.w / 2, cy = r.y + r.h / 2, dx = x - cx, dy = y - cy;
    const t = Math.min(dx ? r.w / 2 / Math.abs(dx) : Infinity, dy ? r.h / 2 / Math.abs(dy) : Infinity);
    return Number.isFinite(t) ? [cx + dx * t, cy + dy * t] : [cx, cy];
  }

  // ---------------------------------------------------------------------------------------------------------
  // Drawing
  // ---------------------------------------------------------------------------------------------------------

  const SVG = "http://www.w3.org/2000/svg";

  function draw() {
    scene = compose();
    const wires = byId("wires"), cards = byId("cards");
    const margin = 20;
    wires.setAttribute("width", scene.width + 2 * margin);
    wires.setAttribute("height", scene.height + 2 * margin);
    wires.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ' +
      'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>';
    const group = document.createElementNS(SVG, "g");
    group.setAttribute("transform", `translate(${margin},${margin})`);
    wires.appendChild(group);
    cards.style.transform = `translate(${margin}px,${margin}px)`;
    cards.innerHTML = "";
    for (const frame of scene.frames) {
      const r = document.createElementNS(SVG, "rect");
      for (const [k, v] of Object.entries({ x: frame.r.x, y: frame.r.y, width: frame.r.w, height: frame.r.h, rx: 8 })) {
        r.setAttribute(k, v);
      }
      r.setAttribute("class", frame.outline ? "frame outline" : "frame");
      group.appendChild(r);
      const label = element("div", `frame-label${frame.outline ? " outline" : ""}`, math[data.boxes[frame.box].label]);
      place(label, frame.label[0], frame.label[1]);
      label.dataset.box = frame.box;
      label.title = "shut this box";
      cards.appendChild(label);
      scene.frameOf.set(frame.box, label);
    }
    for (const wire of scene.wires) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", "M" + wire.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join("L"));
      path.setAttribute("class", wire.dashed ? "wire hidden-end" : "wire");
      path.setAttribute("marker-end", "url(#arrow)");
      path.dataset.edges = wire.edges.join(" ");
      wire.path = path;
      group.appendChild(path);
      for (const e of wire.edges) {
        if (!scene.wiresOf.has(e)) scene.wiresOf.set(e, []);
        scene.wiresOf.get(e).push(wire);
      }
    }
    for (const label of scene.labels) {
      const div = element("div", "edge-label", math[data.edges[label.edge].f]);
      place(div, ...label.at);
      cards.appendChild(div);
    }
    for (const card of scene.cards) {
      const div = card.kind === "node" ? nodeCard(card.thing) : boxCard(card.box);
      Object.assign(div.style, { left: `${card.r.x}px`, top: `${card.r.y}px`, width: `${card.r.w}px`,
                                 height: `${card.r.h}px` });
      cards.appendChild(div);
      if (card.kind === "node") {
        const n = card.thing[0];
        if (!scene.nodeCards.has(n)) scene.nodeCards.set(n, []);
        scene.nodeCards.get(n).push(div);
      } else {
        scene.boxCards.set(card.box, div);
      }
    }
    paint();
  }

  function element(tag, className, html) {
    const e = document.createElement(tag);
    e.className = className;
    if (html !== undefined) e.innerHTML = html;
    return e;
  }

  function place(e, x, y) { e.style.left = `${x}px`; e.style.top = `${y}px`; }

  function nodeCard(thing) {
    const [n, role, symbol, note] = thing;
    const node = data.nodes[n];
    const div = element("div", `node ${role}`);
    div.dataset.node = n;
    div.dataset.name = node.name;
    div.title = nodeName(n);
    let html = `<div class="head" style="background:${kindColour[node.kind] || "#fff"}"><span class="sym">` +
      `${math[symbol]}</span><span class="op">${escapeHtml(node.op)}</span><span class="shape">${shapeText(node.shape)}</span></div>`;
    if (note !== null) html += `<div class="note">${math[note]}</div>`;
    html += lines(node.value).map((l) => `<div class="line value">  ${escapeHtml(l)}</div>`).join("");
    html += lines(node.grad).map((l, k) => `<div class="line grad hidden">${k ? "  " : "∇ "}${escapeHtml(l)}</div>`).join("");
    div.innerHTML = html;
    return div;
  }

  function boxCard(b) {
    const box = data.boxes[b];
    const div = element("div", `box-card${box.outline ? " outline" : ""}`);
    div.dataset.box = b;
    div.title = "open this box";
    div.innerHTML = `<div class="head"><span>${math[box.label]}</span></div>` +
      box.outputs.map((o) => `<div class="row"><span>‖∇${math[data.nodes[o].sym]}‖</span><span class="norm" data-node="${o}">` +
      "</span></div>").join("") + '<div class="progress"></div>';
    return div;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The state at a position: which tensors are computed, which gradients complete, what is arriving
  // ---------------------------------------------------------------------------------------------------------

  const computed = (n) => forwardIndex[n] < position;
  const complete = (n) => backwardIndex[n] >= 0 && forwardSteps + backwardIndex[n] < position;
  const arrived = (e) => complete(data.edges[e].c); // a reader passes its operands their share on its own turn
  const currentStep = () => (position > 0 ? timeline[position - 1] : [null, null]);

  function paint() {
    const [phase, current] = currentStep();
    for (const [n, divs] of scene.nodeCards) {
      const node = data.nodes[n];
      const done = complete(n);
      const pending = !done && phase === "backward" && node.arrive.some(arrived);
      for (const div of divs) {
        div.classList.toggle("waiting", !computed(n));
        div.classList.toggle("current", n === current);
        div.classList.toggle("backward", phase === "backward");
        div.classList.toggle("pending", pending);
        div.classList.toggle("marked", node.mark && done);
        div.classList.toggle("selected", n === selected);
        for (const g of div.querySelectorAll(".grad")) {
          g.classList.toggle("hidden", !done);
          g.style.background = done ? node.colour || "" : "";
        }
      }
    }
    for (const [b, div] of scene.boxCards) {
      const box = data.boxes[b];
      div.classList.toggle("holds-current", members[b].has(current));
      div.classList.toggle("backward", phase === "backward");
      div.classList.toggle("holds-mark", box.members.some((n) => data.nodes[n].mark && complete(n)));
      for (const span of div.querySelectorAll(".norm")) {
        const n = Number(span.dataset.node);
        const done = complete(n);
        span.textContent = done ? fmt(norm(data.nodes[n].grad)) : "·";
        span.style.background = done ? data.nodes[n].colour || "" : "";
      }
      const needing = box.members.filter((n) => backwardIndex[n] >= 0);
      div.querySelector(".progress").textContent = phase === "backward" || position > forwardSteps
        ? `${needing.filter(complete).length} of ${needing.length} gradients complete`
        : `${box.members.filter(computed).length} of ${box.members.length} computed`;
    }
    for (const wire of scene.wires) {
      wire.path.classList.remove("lit", "feeding");
      wire.path.setAttribute("marker-end", "url(#arrow)");
      wire.path.removeAttribute("marker-start");
    }
    for (const old of document.querySelectorAll(".callout")) old.remove();
    if (current !== null) {
      const node = data.nodes[current];
      if (phase === "forward") {
        data.edges.forEach((edge, e) => { if (edge.c === current) light(e, "feeding"); });
      } else {
        node.arrive.forEach((e, k) => { light(e, "lit"); if (k < 8) callout(e); });
      }
    }
    status();
    ledger();
    byId("scrub").value = position;
    byId("play").textContent = playing ? "pause" : "play";
  }

  function norm(enc) {
    const d = values(enc);
    return d ? Math.sqrt(d.reduce((s, x) => s + x * x, 0)) : toNumber(enc.n);
  }

  function light(e, cls) { // a lit edge of the backward pass points the way its gradient goes
    for (const wire of scene.wiresOf.get(e) || []) {
      wire.path.classList.add(cls);
      if (cls === "lit") { wire.path.setAttribute("marker-start", "url(#arrow)"); wire.path.removeAttribute("marker-end"); }
    }
  }

  function callout(e) {
    const wire = (scene.wiresOf.get(e) || [])[0];
    if (!wire) return;
    const at = wire.points[Math.floor(wire.points.length / 2)];
    const edge = data.edges[e];
    const div = element("div", "callout", `${math[edge.f]}<br>u <span class="nums">${escapeHtml(short(data.nodes[edge.c].grad))}` +
      `</span> → <span class="nums">${escapeHtml(short(edge.g))}</span>`);
    place(div, ...at);
    byId("cards").appendChild(div);
  }

  function status() {
    const [phase, current] = currentStep();
    let html;
    if (position === 0) {
      html = "Nothing computed yet: press → (or space to play) to run the forward pass, one tensor at a time.";
    } else if (phase === "forward") {
      const node = data.nodes[current];
      html = `<span class="phase">forward ${forwardIndex[current] + 1} of ${forwardSteps}</span>` +
        (node.expr !== null ? math[node.expr] : `${math[node.sym]} is given`) + ` <span class="hint">${escapeHtml(nodeName(current))}</span>`;
      if (position === forwardSteps) html += " — the forward pass is done; → starts the backward pass.";
    } else {
      const node = data.nodes[current];
      html = `<span class="phase backward">backward ${backwardIndex[current] + 1} of ${backwardSteps}</span>` +
        `the gradient of ${math[node.sym]} is complete` +
        (node.arrive.length ? ` (${node.arrive.length} contribution${node.arrive.length > 1 ? "s" : ""} added)` : " (the seed)") +
        ` <span class="hint">${escapeHtml(nodeName(current))}</span>`;
      if (current === data.marks.first) html += ` <span class="wrong">← the first place the hand gradient departs from the engine's</span>`;
      if (position === TOTAL) html += " — the backward pass is done: every gradient is complete.";
    }
    byId("status").innerHTML = html;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The ledger: one tensor's value, gradient, the contributions that make it, and its check
  // ---------------------------------------------------------------------------------------------------------

  const pre = (enc) => `<pre>${escapeHtml(lines(enc, true).join("\n"))}</pre>`;

  function ledger() {
    const n = selected ?? currentStep()[1] ?? data.backward[0];
    const node = data.nodes[n];
    const parts = [`<h2>${math[node.sym]}</h2><div class="full">${escapeHtml(nodeName(n))} · ${escapeHtml(node.op || "leaf")} · shape ` +
      `${shapeText(node.shape)} · ${node.dtype}</div>`];
    if (node.expr !== null) parts.push(`<div>${math[node.expr]}</div>`);
    parts.push(`<h3>value <button class="goto" data-pos="${forwardIndex[n] + 1}">forward step ${forwardIndex[n] + 1}</button></h3>` +
      pre(node.value));
    if (backwardIndex[n] < 0) {
      parts.push('<h3>gradient</h3><p class="hint">None: nothing here requires a gradient, so the reverse pass passes ' +
        "it by, as the engine does.</p>");
    } else {
      const at = forwardSteps + backwardIndex[n] + 1;
      parts.push(`<h3>gradient ∇ <button class="goto" data-pos="${at}">backward step ${backwardIndex[n] + 1}</button></h3>` +
        pre(node.grad) + (complete(n) ? "" : `<p class="hint">Complete at backward step ${backwardIndex[n] + 1}; ` +
        `${node.arrive.filter(arrived).length} of ${node.arrive.length} contributions have arrived so far.</p>`));
      parts.push(contributions(n));
    }
    if (node.check) parts.push(check(node.check));
    if (node.mark) parts.push(`<p class="fail">${data.marks.note || "marked"}</p>`);
    const div = byId("ledger");
    div.innerHTML = parts.join("");
    div.dataset.node = n;
  }

  function contributions(n) {
    const node = data.nodes[n];
    const [, current] = currentStep();
    const out = [`<h3>contributions, in the order the reverse pass delivered them</h3>`];
    let total = new Array(size(node.shape)).fill(0);
    const add = (enc) => { const d = values(enc); if (d) total = total.map((x, k) => x + d[k]); };
    for (const e of node.arrive) {
      const edge = data.edges[e];
      const child = data.nodes[edge.c];
      out.push(`<div class="contribution${arrived(e) ? " arrived" : ""}${edge.c === current ? " now" : ""}" data-edge="${e}">` +
        `from ${math[child.sym]} <span class="full">${escapeHtml(nodeName(edge.c))}, ${escapeHtml(child.op)}</span>` +
        `<div>${math[edge.f]}</div>u = ∇${math[child.sym]}${pre(child.grad)}its share, ${escapeHtml(child.op)}'s vjp of u` +
        `<span class="share">${pre(edge.g)}</span></div>`);
      add(edge.g);
    }
    if (node.outside) {
      out.push(`<div class="contribution arrived">${node.outside.why === "seed"
        ? "the seed: the reverse pass starts here" : "already in .grad before this pass (backward ran more than once)"}` +
        `<span class="share">${pre(node.outside.g)}</span></div>`);
      add(node.outside.g);
    }
    const engine = values(node.grad);
    if (engine && node.grad.d) {
      const worst = engine.reduce((m, x, k) => Math.max(m, Math.abs(x - total[k])), 0);
      const sum = { s: node.shape, d: total };
      out.push(`<div class="sum">Σ of the above<span class="total">${pre(sum)}</span>the engine's ∇ ${pre(node.grad)}` +
        `max |Σ − ∇| = <span class="difference">${fmt(worst, 3)}</span></div>`);
    }
    return out.join("");
  }

  function check(c) {
    const verdict = (passed) => `<span class="${passed ? "pass" : "fail"}">${passed ? "pass" : "FAIL"}</span>`;
    const rows = c.measures.map(([label, value]) => `<tr><td>${math[label]}</td><td>${escapeHtml(value)}</td></tr>`).join("");
    const audits = c.audits.map(([label, passed, detail]) =>
      `<tr><td>${math[label]}</td><td>${verdict(passed)}</td><td>${math[detail]}</td></tr>`).join("");
    return `<h3 class="check">check: ${math[c.witness]} ${verdict(c.passed)}</h3>` +
      (c.gradient ? `${math[c.witness]}:${pre(c.gradient)}` : "") + `<table>${rows}</table>` +
      (c.source !== null ? `<p class="hint">${math[c.source]}</p>` : "") +
      (audits ? `<h3>the local partials into it, audited</h3><table>${audits}</table>` : "");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Moving: steps, play, keys, jumps; boxes; zoom and pan
  // ---------------------------------------------------------------------------------------------------------

  let playing = false, last = 0, owed = 0;

  function go(p, follow = true) {
    position = Math.max(0, Math.min(TOTAL, p));
    if (position === TOTAL) playing = false;
    paint();
    if (follow) reveal(currentStep()[1]);
  }

  function tick(now) {
    if (!playing) return;
    owed += ((now - last) / 1000) * Number(byId("speed").value);
    last = now;
    if (owed >= 1) {
      const steps = Math.floor(owed);
      owed -= steps;
      go(position + steps);
    }
    if (playing) requestAnimationFrame(tick);
  }

  function play(on = !playing) {
    playing = on && position < TOTAL;
    if (playing) { last = performance.now(); owed = 1; requestAnimationFrame(tick); }
    paint();
  }

  function toggle(b) {
    const anchor = scene.boxCards.get(b) || scene.frameOf.get(b);
    const before = anchor ? anchor.getBoundingClientRect() : null;
    if (shut.has(b)) shut.delete(b); else shut.add(b);
    draw();
    const after = scene.boxCards.get(b) || scene.frameOf.get(b);
    if (before && after) { // keep the box where it was on the screen
      const now = after.getBoundingClientRect();
      view.x += before.left - now.left;
      view.y += before.top - now.top;
      transform();
    }
  }

  function open(n) { // open every box around the tensor's first place, so it is in sight
    for (const unit of data.units) {
      unit.things.forEach((thing) => {
        if (thing[1] !== "card" && thing[0] === n) {
          for (let b = thing[4]; b !== null; b = data.boxes[b].parent) shut.delete(b);
          if (unit.box !== null) shut.delete(unit.box);
        }
      });
    }
    draw();
  }

  // Pan so that the tensor (or the shut box that holds it) is in sight; `close`: centre it, big enough to read.
  function reveal(n, close = false) {
    if (n === null) return;
    if (close && view.scale < 0.8) {
      const v = byId("viewport").getBoundingClientRect();
      const scale = 0.9;
      view.x = v.width / 2 - ((v.width / 2 - view.x) * scale) / view.scale;
      view.y = v.height / 2 - ((v.height / 2 - view.y) * scale) / view.scale;
      view.scale = scale;
      transform();
    }
    let target = (scene.nodeCards.get(n) || [])[0];
    if (!target) {
      for (const [b, div] of scene.boxCards) if (members[b].has(n)) { target = div; break; }
    }
    if (!target) return;
    const r = target.getBoundingClientRect(), v = byId("viewport").getBoundingClientRect();
    if (!close && r.left >= v.left && r.right <= v.right && r.top >= v.top && r.bottom <= v.bottom) return;
    view.x += v.left + v.width / 2 - (r.left + r.width / 2);
    view.y += v.top + v.height / 2 - (r.top + r.height / 2);
    transform();
  }

  function transform() {
    byId("stage").style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  }

  function fit() {
    const v = byId("viewport").getBoundingClientRect();
    const w = scene.width + 40, h = scene.height + 40;
    view.scale = Math.max(0.05, Math.min(1, v.width / w, v.height / h));
    view.x = (v.width - w * view.scale) / 2;
    view.y = Math.max(0, (v.height - h * view.scale) / 2);
    transform();
  }

  function jump(text) {
    const wanted = text.trim();
    const n = data.nodes.findIndex((node, k) => nodeName(k) === wanted);
    if (n < 0) return false;
    selected = n;
    open(n);
    go(backwardIndex[n] >= 0 ? forwardSteps + backwardIndex[n] + 1 : forwardIndex[n] + 1, false);
    reveal(n, true);
    return true;
  }

  function setup() {
    byId("title").innerHTML = data.title;
    byId("scrub").max = TOTAL;
    byId("names").innerHTML = data.nodes.map((_, n) => `<option value="${escapeHtml(nodeName(n))}">`).join("");
    if (data.hint) byId("jump").placeholder = `name, e.g. ${data.hint}`;
    byId("legend").innerHTML = data.kinds.map(([, colour, label]) => `<span><span class="swatch" style="background:${colour}">` +
      `&nbsp;</span>${label}</span>`).join("") + '<span>‖∇‖: ' + data.scale.map(([bound, colour], k) =>
      `<span class="swatch" style="background:${colour}">${bound ? "≥ " + bound : "&lt; " + data.scale[k - 1][0]}</span>`).join("") +
      `<span class="swatch" style="background:${data.not_finite[0]}">${escapeHtml(data.not_finite[1])}</span></span>` +
      "<span>red border: gradient arriving; dashed: an edge into a shut box</span>" +
      (data.marks.first !== null ? `<span><span class="swatch marked">&nbsp;</span>${data.marks.note}</span>` : "");
    const speed = () => { byId("speed-text").textContent = `${byId("speed").value} / s`; };
    speed();
    byId("speed").addEventListener("input", speed);
    byId("start").addEventListener("click", () => go(0));
    byId("prev").addEventListener("click", () => go(position - 1));
    byId("next").addEventListener("click", () => go(position + 1));
    byId("end").addEventListener("click", () => go(TOTAL));
    byId("play").addEventListener("click", () => play());
    byId("fit").addEventListener("click", fit);
    byId("scrub").addEventListener("input", () => go(Number(byId("scrub").value), false));
    byId("jump").addEventListener("change", () => { if (jump(byId("jump").value)) byId("jump").blur(); });
    if (data.marks.first !== null) {
      byId("first-wrong").hidden = false;
      byId("first-wrong").addEventListener("click", () => jump(nodeName(data.marks.first)));
    }
    document.addEventListener("keydown", (event) => {
      if (event.target instanceof HTMLInputElement && event.target.type !== "range") return;
      const keys = { ArrowRight: () => go(position + 1), ArrowLeft: () => go(position - 1), " ": () => play(),
                     Home: () => go(0), End: () => go(TOTAL), f: fit };
      if (keys[event.key] && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        keys[event.key]();
      }
    });
    byId("cards").addEventListener("click", (event) => {
      const box = event.target.closest("[data-box]");
      if (box) { toggle(Number(box.dataset.box)); return; }
      const node = event.target.closest(".node");
      if (node) { selected = Number(node.dataset.node); paint(); }
    });
    byId("ledger").addEventListener("click", (event) => {
      const button = event.target.closest("button.goto");
      if (button) go(Number(button.dataset.pos));
    });
    const viewport = byId("viewport");
    viewport.addEventListener("wheel", (event) => {
      event.preventDefault();
      const v = viewport.getBoundingClientRect();
      const factor = Math.exp(-event.deltaY * 0.0015);
      const scale = Math.max(0.05, Math.min(4, view.scale * factor));
      const mx = event.clientX - v.left, my = event.clientY - v.top;
      view.x = mx - ((mx - view.x) * scale) / view.scale;
      view.y = my - ((my - view.y) * scale) / view.scale;
      view.scale = scale;
      transform();
    }, { passive: false });
    let drag = null;
    viewport.addEventListener("pointerdown", (event) => {
      if (event.target.closest(".node, .box-card, .frame-label")) return;
      drag = { x: event.clientX - view.x, y: event.clientY - view.y, moved: false };
      viewport.classList.add("panning");
      viewport.setPointerCapture(event.pointerId);
    });
    viewport.addEventListener("pointermove", (event) => {
      if (!drag) return;
      view.x = event.clientX - drag.x;
      view.y = event.clientY - drag.y;
      drag.moved = true;
      transform();
    });
    viewport.addEventListener("pointerup", () => {
      if (drag && !drag.moved && selected !== null) { selected = null; paint(); } // a click on the background
      drag = null;
      viewport.classList.remove("panning");
    });
    draw();
    fit();
    // A graph too big to read whole opens at reading size on the current tensor; `fit` (f) shows all of it
    if (view.scale < 0.6) reveal(currentStep()[1] ?? data.nodes.length - 1, true);
    window.explorer.drawn = performance.now(); // since navigation began: how long the page took to appear
  }

  // What tests and curious users can drive from the console.
  window.explorer = {
    total: TOTAL, forwardSteps, backwardSteps,
    get position() { return position; },
    go: (p) => go(p), next: () => go(position + 1), previous: () => go(position - 1), play, jump,
    toggle: (b) => toggle(b), shut: () => [...shut], fit,
    zoom(scale, name) { // centre the named tensor (or the whole graph) at this scale
      const v = byId("viewport").getBoundingClientRect();
      const n = name === undefined ? null : data.nodes.findIndex((_, k) => nodeName(k) === name);
      const target = n === null ? null : (scene.nodeCards.get(n) || [])[0];
      const [cx, cy] = target ? [target.offsetLeft + target.offsetWidth / 2 + 20, target.offsetTop + target.offsetHeight / 2 + 20]
        : [scene.width / 2 + 20, scene.height / 2 + 20];
      view.scale = scale;
      view.x = v.width / 2 - cx * scale;
      view.y = v.height / 2 - cy * scale;
      transform();
    },
    state() {
      const [phase, n] = currentStep();
      return { position, phase, node: n, name: n === null ? null : nodeName(n) };
    },
  };
  setup();
})();
