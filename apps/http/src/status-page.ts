// The status page served at `/`: one self-contained HTML document (no external scripts, styles or
// fonts, so it works offline and inside a network namespace). It polls /api/status every second
// and draws, for the connection a user clicks, a throughput and cwnd chart and a sequence diagram
// of its first segments, both as SVG. The script avoids template literals so that it can live in
// this TypeScript string.

const STYLE = `
:root { --ink: #1d2430; --muted: #6b7585; --line: #e3e7ee; --bg: #f4f6f9; --card: #fff;
  --in: #2563eb; --out: #ea7a12; --cwnd: #16a34a; --syn: #16a34a; --fin: #7c3aed; --rst: #dc2626;
  --data: #2563eb; --ack: #8a94a6; --sel: #fff7e0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #18202c; color: #e9eef6; padding: 14px 28px; display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap; }
header h1 { margin: 0; font-size: 20px; font-weight: 650; letter-spacing: .2px; }
header .sub { color: #9fb0c8; }
header .pill { margin-left: auto; background: #263246; border-radius: 999px; padding: 3px 12px; font-size: 13px; color: #cfe0f7; }
.live { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #22c55e; margin-right: 6px; box-shadow: 0 0 0 3px rgba(34,197,94,.25); }
.live.stale { background: #ef4444; box-shadow: 0 0 0 3px rgba(239,68,68,.25); }
main { padding: 20px 28px 40px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px; max-width: 1500px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; box-shadow: 0 1px 2px rgba(16,24,40,.04); min-width: 0; }
.card h2 { margin: 0 0 10px; font-size: 15px; font-weight: 650; display: flex; align-items: baseline; gap: 10px; }
.card h2 small { font-weight: 400; color: var(--muted); font-size: 12.5px; }
.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; }
td.num, th.num { text-align: right; }
#connections tbody tr { cursor: pointer; }
#connections tbody tr:hover { background: #f7f9fc; }
#connections tbody tr.selected { background: var(--sel); }
#connections tbody tr.gone td { color: #9aa3b2; }
.state { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 12px; font-weight: 600; background: #e8eefb; color: #1e40af; }
.state.ESTABLISHED { background: #dcfce7; color: #166534; }
.state.CLOSED { background: #eef0f3; color: #6b7280; }
.state.TIME-WAIT, .state.FIN-WAIT-1, .state.FIN-WAIT-2, .state.CLOSE-WAIT, .state.LAST-ACK, .state.CLOSING { background: #f3e8ff; color: #6b21a8; }
.notes { margin: 6px 0 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; font-variant-numeric: tabular-nums; }
.kv span:nth-child(odd) { color: var(--muted); }
.empty { color: var(--muted); padding: 18px 0; text-align: center; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg text.halo { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
#chart svg { max-width: 1100px; display: block; }
#diagram svg { max-width: 1100px; display: block; }
svg .axis text { fill: var(--muted); font-size: 11px; }
svg .grid line { stroke: var(--line); }
.legend { display: flex; gap: 16px; font-size: 12.5px; color: var(--muted); margin: 2px 0 6px; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 5px; border-radius: 2px; }
footer { padding: 0 28px 24px; color: var(--muted); font-size: 12.5px; }
a { color: #2563eb; }
code { background: #eef2f7; padding: 1px 5px; border-radius: 4px; }
`;

const SCRIPT = `
"use strict";
var params = new URLSearchParams(location.search);
var selected = params.get("conn");
var lastStatus = null;
var SVGNS = "http://www.w3.org/2000/svg";

function h(tag, attrs, children) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) {
    if (k === "class") e.className = attrs[k]; else if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
  }
  (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return e;
}
function s(tag, attrs, text) {
  var e = document.createElementNS(SVGNS, tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function bytes(n) {
  if (n === null || n === undefined) return "–";
  var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
}
function ms(n) { return n === null || n === undefined || n === 0 ? "–" : (n < 10 ? n.toFixed(2) : n.toFixed(1)) + " ms"; }
function dur(msv) {
  var sec = Math.floor(msv / 1000);
  if (sec < 60) return sec + " s";
  var m = Math.floor(sec / 60);
  return m < 60 ? m + " min " + (sec % 60) + " s" : Math.floor(m / 60) + " h " + (m % 60) + " min";
}
function num(n) { return n === null || n === undefined ? "∞" : n.toLocaleString("en-US"); }

function renderHeader(st) {
  document.getElementById("pill").textContent =
    st.driver + " driver · " + st.address + " · up " + dur(st.uptimeMs);
}

function renderInterfaces(st) {
  var box = document.getElementById("interfaces");
  box.replaceChildren();
  st.interfaces.forEach(function (i) {
    var c = i.counters;
    var t = h("table", {}, [
      h("thead", {}, [h("tr", {}, ["Name", "Medium", "Address", "MTU", "Frames in", "Frames out", "Bytes in", "Bytes out"].map(function (x, k) {
        return h("th", { class: k >= 3 ? "num" : "", text: x });
      }))]),
      h("tbody", {}, [h("tr", {}, [
        h("td", { text: i.name }), h("td", { text: i.medium }), h("td", { text: i.address }),
        h("td", { class: "num", text: String(i.mtu) }), h("td", { class: "num", text: num(c.framesIn) }),
        h("td", { class: "num", text: num(c.framesOut) }), h("td", { class: "num", text: bytes(c.bytesIn) }),
        h("td", { class: "num", text: bytes(c.bytesOut) })
      ])])
    ]);
    box.appendChild(t);
    var notes = i.notes.slice();
    if (i.stack && i.stack.neighbors) i.stack.neighbors.forEach(function (n) { notes.push("ARP: " + n.address + " is at " + n.mac + " (" + n.state + ")"); });
    if (i.stack && i.stack.mac) notes.push("our MAC " + i.stack.mac);
    box.appendChild(h("ul", { class: "notes" }, notes.map(function (n) { return h("li", { text: n }); })));
  });
}

function renderCounters(st) {
  var box = document.getElementById("counters");
  box.replaceChildren();
  var rows = [
    ["Connections listed", String(st.connections.filter(function (c) { return !c.gone; }).length)],
    ["HTTP requests", num(st.http.requests)],
    ["Served by /bytes", bytes(st.http.bytesServed)],
    ["Received by /sink", bytes(st.http.bytesSunk)],
    ["TCP segments in", num(st.counters.tcpSegmentsIn)],
    ["Malformed segments", num(st.counters.tcpMalformed)],
    ["Segments to closed ports", num(st.counters.tcpNoListener)],
    ["Resets sent", num(st.counters.tcpResetsSent)]
  ];
  var kv = h("div", { class: "kv" });
  rows.forEach(function (r) { kv.appendChild(h("span", { text: r[0] })); kv.appendChild(h("span", { text: r[1] })); });
  box.appendChild(kv);
}

var COLUMNS = [
  ["Local", function (c) { return c.localAddress + ":" + c.localPort; }],
  ["Remote", function (c) { return c.remoteAddress + ":" + c.remotePort; }],
  ["Host peer", function (c) { return c.via || "–"; }],
  ["State", null],
  ["sRTT", function (c) { return ms(c.srtt); }, true],
  ["RTO", function (c) { return ms(c.rto); }, true],
  ["cwnd", function (c) { return bytes(c.cwnd); }, true],
  ["ssthresh", function (c) { return c.ssthresh === null ? "∞" : bytes(c.ssthresh); }, true],
  ["In flight", function (c) { return bytes(c.inFlight); }, true],
  ["Received", function (c) { return bytes(c.bytesIn); }, true],
  ["Sent", function (c) { return bytes(c.bytesOut); }, true],
  ["Retrans.", function (c) { return num(c.retransmits); }, true]
];

function renderConnections(st) {
  var body = document.querySelector("#connections tbody");
  body.replaceChildren();
  document.getElementById("conn-count").textContent = st.connections.length + " listed · click one to chart it";
  if (st.connections.length === 0) {
    body.appendChild(h("tr", {}, [h("td", { colspan: String(COLUMNS.length), class: "empty", text: "No connections yet." })]));
    return;
  }
  st.connections.forEach(function (c) {
    var tr = h("tr", { "data-id": c.id, class: (c.id === selected ? "selected " : "") + (c.gone ? "gone" : "") });
    COLUMNS.forEach(function (col) {
      if (col[1] === null) tr.appendChild(h("td", {}, [h("span", { class: "state " + c.state, text: c.state })]));
      else tr.appendChild(h("td", { class: col[2] ? "num" : "", text: col[1](c) }));
    });
    tr.addEventListener("click", function () { select(c.id); });
    body.appendChild(tr);
  });
}

function select(id) {
  selected = id;
  var url = new URL(location.href);
  url.searchParams.set("conn", id);
  history.replaceState(null, "", url);
  document.querySelectorAll("#connections tbody tr").forEach(function (tr) {
    tr.classList.toggle("selected", tr.getAttribute("data-id") === id);
  });
  refreshConnection();
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var steps = [1, 2, 2.5, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}

function renderChart(rep) {
  var box = document.getElementById("chart");
  box.replaceChildren();
  var sm = rep.samples;
  if (sm.length < 2) { box.appendChild(h("div", { class: "empty", text: "Collecting samples…" })); return; }
  var W = 980, H = 280, L = 58, R = 66, T = 14, B = 34;
  var t0 = sm[0].t;
  var pts = [];
  for (var i = 1; i < sm.length; i++) {
    var dt = (sm[i].t - sm[i - 1].t) / 1000;
    if (dt <= 0) continue;
    pts.push({
      x: (sm[i].t - t0) / 1000,
      rin: Math.max(0, sm[i].bytesIn - sm[i - 1].bytesIn) * 8 / dt / 1e6,
      rout: Math.max(0, sm[i].bytesAcked - sm[i - 1].bytesAcked) * 8 / dt / 1e6,
      cwnd: sm[i].cwnd / 1024
    });
  }
  var xMax = Math.max(1, (sm[sm.length - 1].t - t0) / 1000);
  var rMax = niceMax(Math.max.apply(null, pts.map(function (p) { return Math.max(p.rin, p.rout); })));
  var cMax = niceMax(Math.max.apply(null, pts.map(function (p) { return p.cwnd; })));
  var X = function (x) { return L + (x / xMax) * (W - L - R); };
  var Yr = function (v) { return T + (1 - v / rMax) * (H - T - B); };
  var Yc = function (v) { return T + (1 - v / cMax) * (H - T - B); };
  var svg = s("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": "throughput and congestion window" });
  var grid = s("g", { class: "grid" }), axis = s("g", { class: "axis" });
  for (var k = 0; k <= 4; k++) {
    var y = T + k * (H - T - B) / 4;
    grid.appendChild(s("line", { x1: L, x2: W - R, y1: y, y2: y }));
    axis.appendChild(s("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, (rMax * (1 - k / 4)).toPrecision(3).replace(/\\.?0+$/, "")));
    axis.appendChild(s("text", { x: W - R + 6, y: y + 4 }, (cMax * (1 - k / 4)).toPrecision(3).replace(/\\.?0+$/, "")));
  }
  for (var j = 0; j <= 5; j++) {
    var xv = xMax * j / 5;
    axis.appendChild(s("text", { x: X(xv), y: H - B + 16, "text-anchor": "middle" }, xv.toFixed(xMax < 5 ? 1 : 0) + " s"));
  }
  axis.appendChild(s("text", { x: 12, y: T + (H - T - B) / 2, transform: "rotate(-90 12 " + (T + (H - T - B) / 2) + ")", "text-anchor": "middle" }, "Mbit/s"));
  axis.appendChild(s("text", { x: W - 10, y: T + (H - T - B) / 2, transform: "rotate(90 " + (W - 10) + " " + (T + (H - T - B) / 2) + ")", "text-anchor": "middle" }, "cwnd (KiB)"));
  svg.appendChild(grid);
  svg.appendChild(axis);
  svg.appendChild(s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#c5ccd8" }));
  function line(key, Y, color, dash, cls) {
    var d = pts.map(function (p) { return X(p.x).toFixed(1) + "," + Y(p[key]).toFixed(1); }).join(" ");
    var attrs = { points: d, fill: "none", stroke: color, "stroke-width": "2", "stroke-linejoin": "round", class: cls };
    if (dash) attrs["stroke-dasharray"] = "6 4";
    svg.appendChild(s("polyline", attrs));
  }
  line("cwnd", Yc, "var(--cwnd)", true, "series-cwnd");
  line("rin", Yr, "var(--in)", false, "series-in");
  line("rout", Yr, "var(--out)", false, "series-out");
  box.appendChild(svg);
}

function kind(seg) {
  if (seg.flags.indexOf("RST") >= 0) return "rst";
  if (seg.flags.indexOf("SYN") >= 0) return "syn";
  if (seg.flags.indexOf("FIN") >= 0) return "fin";
  if (seg.len > 0) return "data";
  return "ack";
}

function renderDiagram(rep) {
  var box = document.getElementById("diagram");
  box.replaceChildren();
  var tr = rep.trace;
  if (!tr) { box.appendChild(h("div", { class: "empty", text: "No segments recorded for this connection." })); return; }
  var rows = tr.head.slice();
  if (tr.skipped > 0 || tr.tail.length > 0) rows.push({ gap: tr.skipped });
  rows = rows.concat(tr.tail);
  var W = 980, top = 78, rowH = 40, lx = 200, rx = 860, mid = (lx + rx) / 2;
  var H = top + rows.length * rowH + 10;
  var row = rep.row;
  var svg = s("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": "sequence diagram", class: "diagram" });
  var defs = s("defs");
  ["syn", "fin", "rst", "data", "ack"].forEach(function (k) {
    var m = s("marker", { id: "arrow-" + k, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    m.appendChild(s("path", { d: "M0,0 L10,5 L0,10 z", fill: "var(--" + k + ")" }));
    defs.appendChild(m);
  });
  svg.appendChild(defs);
  var parts = tr.id.split("-");
  [[lx, "peer", parts[1], row && row.via ? "host " + row.via : ""], [rx, "userstack", parts[0], "this stack"]].forEach(function (e) {
    svg.appendChild(s("rect", { x: e[0] - 110, y: 4, width: 220, height: 56, rx: 8, fill: "#18202c" }));
    svg.appendChild(s("text", { x: e[0], y: 22, "text-anchor": "middle", style: "fill:#e9eef6;font-weight:650" }, e[1]));
    svg.appendChild(s("text", { x: e[0], y: 38, "text-anchor": "middle", style: "fill:#cfe0f7;font-size:12px" }, e[2]));
    svg.appendChild(s("text", { x: e[0], y: 53, "text-anchor": "middle", style: "fill:#9fb0c8;font-size:11px" }, e[3]));
    svg.appendChild(s("line", { x1: e[0], x2: e[0], y1: 60, y2: H - 4, stroke: "#c5ccd8", "stroke-width": "2" }));
  });
  rows.forEach(function (seg, i) {
    var y = top + i * rowH;
    if (seg.gap !== undefined) {
      svg.appendChild(s("text", { x: mid, y: y + 24, "text-anchor": "middle", class: "halo", style: "fill:var(--muted)" },
        seg.gap > 0 ? "⋯  " + seg.gap.toLocaleString("en-US") + " more segments  ⋯" : "⋯"));
      return;
    }
    var k = kind(seg);
    var fromX = seg.dir === "in" ? lx : rx, toX = seg.dir === "in" ? rx : lx;
    svg.appendChild(s("line", { x1: fromX, y1: y + 16, x2: toX, y2: y + 32, stroke: "var(--" + k + ")", "stroke-width": k === "ack" ? "1.5" : "2.2", "marker-end": "url(#arrow-" + k + ")", "stroke-dasharray": seg.retransmission ? "6 4" : "none", class: "seg seg-" + k }));
    var detail = "seq " + seg.seq + (seg.len > 0 ? ":" + (seg.seq + seg.len) : "") + (seg.flags.indexOf("ACK") >= 0 ? "   ack " + seg.ack : "") + "   win " + seg.window + (seg.len > 0 ? "   len " + seg.len : "") + (seg.options ? "   [" + seg.options + "]" : "");
    var text = s("text", { x: mid, y: y + 12, "text-anchor": "middle", class: "halo" });
    text.appendChild(s("tspan", { class: "seg-label", style: "fill:var(--" + k + ");font-weight:700" }, seg.flags.join(" ") + (seg.retransmission ? " (again)" : "")));
    text.appendChild(s("tspan", { dx: "10", style: "fill:#4b5565;font-size:11.5px" }, detail));
    svg.appendChild(text);
    svg.appendChild(s("text", { x: 6, y: y + 28, style: "fill:var(--muted);font-size:11px" }, "+" + seg.t.toFixed(seg.t < 10 ? 2 : 1) + " ms"));
  });
  box.appendChild(svg);
  if (!tr.fromSyn) box.appendChild(h("div", { class: "notes", text: "Recording started mid-connection: sequence numbers are absolute." }));
}

function renderConnection(rep) {
  var title = rep.id + (rep.row && rep.row.via ? " · host " + rep.row.via : "");
  document.getElementById("chart-title").textContent = title;
  document.getElementById("diagram-title").textContent = title;
  renderChart(rep);
  renderDiagram(rep);
}

function refreshConnection() {
  if (!selected) return Promise.resolve();
  return fetch("/api/connection?id=" + encodeURIComponent(selected), { cache: "no-store" }).then(function (r) {
    if (!r.ok) {
      document.getElementById("chart").replaceChildren(h("div", { class: "empty", text: "That connection is gone." }));
      return;
    }
    return r.json().then(renderConnection);
  });
}

function refresh() {
  return fetch("/api/status", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (st) {
    lastStatus = st;
    document.getElementById("live").classList.remove("stale");
    renderHeader(st);
    renderInterfaces(st);
    renderCounters(st);
    renderConnections(st);
    return refreshConnection();
  }).catch(function () {
    document.getElementById("live").classList.add("stale");
  }).then(function () {
    document.body.setAttribute("data-refreshed", String(Date.now()));
  });
}

refresh();
setInterval(refresh, 1000);
`;

/** The status page's HTML. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>userstack · status</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%2322c55e'/%3E%3C/svg%3E">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1><span id="live" class="live"></span>userstack</h1>
  <span class="sub">an HTTP server on a TCP/IP stack written in TypeScript, running in user space</span>
  <span class="pill" id="pill">connecting…</span>
</header>
<main>
  <section class="card"><h2>Interfaces</h2><div id="interfaces"></div></section>
  <section class="card"><h2>Stack</h2><div id="counters"></div></section>
  <section class="card wide"><h2>Connections <small id="conn-count"></small></h2>
    <table id="connections"><thead><tr>
      <th>Local</th><th>Remote</th><th>Host peer</th><th>State</th><th class="num">sRTT</th><th class="num">RTO</th>
      <th class="num">cwnd</th><th class="num">ssthresh</th><th class="num">In flight</th><th class="num">Received</th>
      <th class="num">Sent</th><th class="num">Retrans.</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section class="card wide"><h2>Throughput and congestion window <small id="chart-title">pick a connection above</small></h2>
    <div class="legend"><span><i style="background:var(--in)"></i>received (Mbit/s)</span><span><i style="background:var(--out)"></i>sent and acknowledged (Mbit/s)</span><span><i style="background:var(--cwnd)"></i>cwnd (KiB, dashed)</span></div>
    <div id="chart"><div class="empty">Click a connection to chart it.</div></div>
  </section>
  <section class="card wide"><h2>First segments <small id="diagram-title"></small></h2>
    <div class="legend"><span><i style="background:var(--syn)"></i>SYN</span><span><i style="background:var(--data)"></i>data</span><span><i style="background:var(--ack)"></i>ACK</span><span><i style="background:var(--fin)"></i>FIN</span><span><i style="background:var(--rst)"></i>RST</span></div>
    <div id="diagram"><div class="empty">Click a connection to see its handshake.</div></div>
  </section>
</main>
<footer>Try <a href="/bytes/10000000">/bytes/10000000</a> (10 MB of a known pattern), <code>curl --data-binary @file http://…/sink</code> (SHA-256 of an upload), or <a href="/api/status">/api/status</a> (this page's data).</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
