(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("doctor-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var ROW = 19, AXIS = 20, PAD = 2;
  var tip = document.getElementById("tip");
  var measure = document.createElement("canvas").getContext("2d");
  measure.font = "11px " + getComputedStyle(document.body).fontFamily;
  var colors = data.colors;
  // node fields
  var M = 0, G = 1, S = 2, D = 3, SELF = 4, K = 5, P = 6, F = 7, V = 8, E = 9;

  function fmt(s) {
    if (s === null || s === undefined) return "-";
    if (s >= 1) return s.toFixed(2) + " s";
    if (s >= 0.01) return (s * 1000).toFixed(0) + " ms";
    return (s * 1000).toFixed(1) + " ms";
  }
  function svg(tag, attrs, parent) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function h(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function loc(chart, where) {
    if (!where) return h("span", "loc", "?");
    var text = where.file + ":" + where.line;
    if (!chart.root) { var s = h("span", "loc", text); s.title = "in a temporary copy that is not kept"; return s; }
    var a = h("a", "loc", text);
    a.href = chart.root + where.file.split("/").map(encodeURIComponent).join("/") + "#L" + where.line;
    return a;
  }
  function parseLoc(text) {
    if (!text) return null;
    var i = text.lastIndexOf(":");
    return { file: text.slice(0, i), line: parseInt(text.slice(i + 1), 10) };
  }
  function color(n) { return colors[n[G]] || "#d6d3d1"; }
  function fit(label, width) {
    if (measure.measureText(label).width <= width) return label;
    // keep the end of a dotted name: the part that tells modules apart
    var parts = label.split(".");
    while (parts.length > 1) {
      parts.shift();
      var t = "…" + parts.join(".");
      if (measure.measureText(t).width <= width) return t;
    }
    return null;
  }
  function ticks(x0, x1, width) {
    var span = x1 - x0, target = Math.max(2, Math.floor(width / 90));
    var raw = span / target, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * pow; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var t = Math.ceil(x0 / step) * step; t <= x1 + 1e-12; t += step) out.push(t);
    return out;
  }

  function Chart(c) {
    this.c = c;
    this.el = document.getElementById(c.id);
    this.details = document.getElementById(c.id + "-details");
    this.reset = document.querySelector('button.reset[data-chart="' + c.id + '"]');
    this.x0 = 0; this.x1 = c.domain; this.focus = -1; this.selected = -1;
    var self = this;
    this.reset.addEventListener("click", function () { self.zoom(-1); });
    this.el.addEventListener("mousemove", function (ev) { self.hover(ev); });
    this.el.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    this.el.addEventListener("click", function (ev) {
      var g = ev.target.closest("[data-i]");
      if (g) self.zoom(parseInt(g.getAttribute("data-i"), 10));
    });
  }
  Chart.prototype.zoom = function (i) {
    var n = this.c.nodes;
    if (i < 0) { this.x0 = 0; this.x1 = this.c.domain; this.focus = -1; this.selected = -1; }
    else {
      this.selected = i;
      if (n[i][D] > 0) { this.x0 = n[i][S]; this.x1 = n[i][S] + n[i][D]; this.focus = i; }
    }
    this.reset.disabled = this.focus < 0;
    this.draw();
    this.showDetails(i);
  };
  Chart.prototype.inFocus = function (i) {
    if (this.focus < 0) return true;
    var n = this.c.nodes, f = this.focus;
    // the focused node's subtree, and its ancestors (drawn across the whole width)
    for (var j = i; j >= 0; j = n[j][P]) if (j === f) return true;
    for (var a = f; a >= 0; a = n[a][P]) if (a === i) return true;
    return false;
  };
  Chart.prototype.draw = function () {
    var c = this.c, el = this.el, n = c.nodes;
    var width = el.clientWidth || el.parentNode.clientWidth || 800;
    var scale = (width - 2 * PAD) / (this.x1 - this.x0 || 1e-9);
    var x0 = this.x0, x1 = this.x1, self = this;
    while (el.firstChild) el.removeChild(el.firstChild);
    var visible = [], depth = 0;
    for (var i = 0; i < n.length; i++) {
      var a = Math.max(n[i][S], x0), b = Math.min(n[i][S] + n[i][D], x1);
      // a module too short to see is left out, unless something happens in it
      if (b < a || ((b - a) * scale < 0.75 && !n[i][E].length) || !this.inFocus(i)) continue;
      visible.push([i, a, b]);
      if (n[i][K] > depth) depth = n[i][K];
    }
    var height = AXIS + (depth + 1) * ROW + 6;
    el.setAttribute("height", height);
    el.style.height = height + "px";
    el.setAttribute("viewBox", "0 0 " + width + " " + height);
    var axis = svg("g", { "class": "axis" }, el);
    ticks(x0, x1, width).forEach(function (t) {
      var x = PAD + (t - x0) * scale;
      svg("line", { x1: x, x2: x, y1: AXIS - 4, y2: height, "stroke-width": 1 }, axis);
      var text = fmt(t - (self.focus >= 0 ? x0 : 0));
      if (x + 3 + measure.measureText(text).width > width) return;
      var label = svg("text", { x: x + 3, y: AXIS - 7 }, axis);
      label.textContent = text;
    });
    var nodes = svg("g", { "class": "nodes" }, el);
    var marks = svg("g", { "class": "marks" }, el);
    visible.forEach(function (v) {
      var i = v[0], node = n[i];
      var x = PAD + (v[1] - x0) * scale, w = Math.max(node[E].length ? 3 : 0.75, (v[2] - v[1]) * scale), y = AXIS + node[K] * ROW;
      var effects = node[E].map(function (k) { return c.effects[k]; });
      var own = effects.filter(function (e) { return e.origin === "project" && e.kind !== "env"; });
      var env = effects.filter(function (e) { return e.origin === "project" && e.kind === "env"; });
      var pkg = effects.filter(function (e) { return e.origin === "package"; });
      var cls = "node" + (node[G] === "(project)" ? " project" : "") + (own.length ? " has-effect" : "") +
        (i === self.selected ? " selected" : "");
      var g = svg("g", { "class": cls, "data-i": i }, nodes);
      svg("rect", { x: x, y: y, width: w, height: ROW - 1, rx: 2, fill: color(node) }, g);
      if (w > 24) {
        var label = fit(node[M], w - 8);
        if (label) { var t = svg("text", { x: x + 4, y: y + ROW - 6 }, g); t.textContent = label; }
      }
      var mx = x + w - 8;
      [[own, "effect", "!", "#dc2626"], [env, "env", "$", "#0891b2"], [pkg, "package", "•", "#d97706"]].forEach(function (m) {
        if (!m[0].length) return;
        var mg = svg("g", { "class": "marker " + m[1], "data-i": i }, marks);
        var cx = Math.max(x + 7, mx);
        svg("circle", { cx: cx, cy: y + 1, r: 7, fill: m[3], stroke: "#fff", "stroke-width": 1.5 }, mg);
        var tt = svg("text", { x: cx, y: y + 4.5, "text-anchor": "middle" }, mg);
        tt.textContent = m[0].length > 1 ? String(m[0].length) : m[2];
        mx = cx - 15;
      });
    });
    if (c.budget && c.budget > x0 && c.budget < x1) {
      var bx = PAD + (c.budget - x0) * scale, bg = svg("g", { "class": "budget" }, el);
      svg("line", { x1: bx, x2: bx, y1: AXIS - 2, y2: height }, bg);
      var bt = svg("text", { x: bx - 4, y: height - 4, "text-anchor": "end" }, bg);
      bt.textContent = "budget " + fmt(c.budget);
    }
    el.setAttribute("data-drawn", String(visible.length));
  };
  Chart.prototype.hover = function (ev) {
    var g = ev.target.closest("[data-i]");
    if (!g) { tip.style.display = "none"; return; }
    var c = this.c, node = c.nodes[parseInt(g.getAttribute("data-i"), 10)];
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(h("div", "m", node[M]));
    var group = node[G] === "(project)" ? "project" + (node[F] ? " · " + node[F] : "") : node[G];
    tip.appendChild(h("div", "d", group));
    var share = c.total ? (100 * node[D] / c.total).toFixed(1) + "% of the import" : "";
    tip.appendChild(h("div", "", fmt(node[D]) + " cumulative (" + share + ") · " + fmt(node[SELF]) + " self"));
    if (node[V]) tip.appendChild(h("div", "d", "imported at " + node[V]));
    node[E].forEach(function (k) {
      var e = c.effects[k];
      var at = e.at ? e.at.file + ":" + e.at.line : "?";
      var who = e.origin === "package" ? e.package + ": " : "";
      tip.appendChild(h("div", e.kind === "env" ? "v" : "e",
        (e.kind === "env" ? "$ " : "⚠ ") + who + e.summary + " at " + at + (e.codemod ? " — fix " + e.fix : "")));
    });
    tip.style.display = "block";
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth - 8) x = ev.clientX - tip.offsetWidth - 14;
    if (y + tip.offsetHeight > window.innerHeight - 8) y = ev.clientY - tip.offsetHeight - 14;
    tip.style.left = x + "px"; tip.style.top = y + "px";
  };
  Chart.prototype.showDetails = function (i) {
    var d = this.details, c = this.c;
    while (d.firstChild) d.removeChild(d.firstChild);
    if (i < 0) return;
    var node = c.nodes[i];
    var head = h("div");
    head.appendChild(h("b", "", node[M]));
    head.appendChild(document.createTextNode("  " + fmt(node[D]) + " cumulative, " + fmt(node[SELF]) + " self"));
    if (node[F] && node[G] === "(project)") {
      head.appendChild(document.createTextNode(" · "));
      head.appendChild(loc(c, { file: node[F], line: 1 }));
    }
    if (node[V]) {
      head.appendChild(document.createTextNode(" · imported at "));
      head.appendChild(loc(c, parseLoc(node[V])));
    }
    d.appendChild(head);
    if (node[E].length) {
      var ul = h("ul");
      node[E].forEach(function (k) {
        var e = c.effects[k], li = h("li");
        li.appendChild(document.createTextNode((e.origin === "package" ? e.package + ": " : "") + e.summary + " at "));
        li.appendChild(loc(c, e.at));
        if (e.inner) { li.appendChild(document.createTextNode(" (in ")); li.appendChild(loc(c, e.inner)); li.appendChild(document.createTextNode(")")); }
        li.appendChild(document.createTextNode(" — " + e.fix));
        ul.appendChild(li);
      });
      d.appendChild(ul);
    }
  };

  var charts = data.charts.map(function (c) { return new Chart(c); });
  function drawAll() { charts.forEach(function (ch) { ch.draw(); }); }
  drawAll();
  var pending = 0;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(drawAll);
  });
  document.body.setAttribute("data-charts", String(charts.length));
})();
