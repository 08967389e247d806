/**
 * The dashboard's browser script (inlined into the page): polls `api/summary`
 * every second and redraws. Plain ES2017 without modules or libraries; it must
 * contain no backtick and no dollar-brace, since it is embedded in a template literal.
 */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var REFRESH_MS = 1000;
  var SVG = "http://www.w3.org/2000/svg";
  var seq = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    (children || []).forEach(function (c) { node.append(c instanceof Node ? c : document.createTextNode(String(c))); });
    return node;
  }
  function fill(parent, children) { parent.replaceChildren.apply(parent, children); }

  function fmtBytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
  }
  function fmtPct(r) { return r === null || r === undefined ? "–" : (r * 100).toFixed(1) + "%"; }
  function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
  function fmtMs(ms) { return ms === null || ms === undefined ? "–" : ms < 1 ? ms.toFixed(3) + " ms" : ms < 10 ? ms.toFixed(2) + " ms" : ms.toFixed(1) + " ms"; }
  function fmtAgo(t, now) {
    var s = Math.max(0, Math.round((now - t) / 1000));
    return s < 60 ? s + " s ago" : Math.floor(s / 60) + " min ago";
  }

  // A line over the samples; null values leave gaps. Scaled to fixedMax, else to the largest value (labelled top-left).
  function sparkline(values, label, fixedMax) {
    var w = 240, h = 48, pad = 2, n = values.length;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    var max = fixedMax || values.reduce(function (m, v) { return v !== null && v > m ? v : m; }, 0);
    if (n < 2 || max <= 0) return svg;
    var segments = [[]];
    values.forEach(function (v, i) {
      if (v === null) { if (segments[segments.length - 1].length > 0) segments.push([]); return; }
      var x = (i / (n - 1)) * w, y = h - pad - (v / max) * (h - 2 * pad - 10);
      segments[segments.length - 1].push(x.toFixed(1) + "," + y.toFixed(1));
    });
    segments.forEach(function (points) {
      if (points.length === 0) return;
      var line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", points.length === 1 ? points[0] + " " + points[0] : points.join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", "#4cc2ff");
      line.setAttribute("stroke-width", "1.5");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(line);
    });
    var text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "2"); text.setAttribute("y", "9"); text.setAttribute("class", "axis");
    text.textContent = (fixedMax ? "" : "max ") + label(max);
    svg.append(text);
    return svg;
  }

  function renderNodes(s) {
    $("live-count").textContent = String(s.liveNodes.length);
    fill($("live-nodes"), s.liveNodes.map(function (n) {
      var name = n.dashboardUrl ? el("a", { href: n.dashboardUrl }, [n.nodeId]) : el("span", {}, [n.nodeId]);
      var parts = [name, " " + n.address];
      if (n.self) parts.push(el("span", { class: "self" }, ["this node"]));
      return el("li", { "data-node-id": n.nodeId }, parts);
    }));
  }

  function renderHits(s) {
    var box = $("hit-ratio");
    box.textContent = fmtPct(s.gets.hitRatio);
    box.dataset.hits = String(s.gets.hits);
    box.dataset.misses = String(s.gets.misses);
    box.dataset.ratio = s.gets.hitRatio === null ? "" : String(s.gets.hitRatio);
    $("hit-detail").textContent = fmtInt(s.gets.hits) + " hits / " + fmtInt(s.gets.misses) + " misses" + (s.gets.errors ? " / " + fmtInt(s.gets.errors) + " errors" : "");
    fill($("hit-spark"), [sparkline(s.series.map(function (p) { return p.hitRatio; }), fmtPct, 1)]);
  }

  function renderRates(s) {
    var last = s.series.length ? s.series[s.series.length - 1] : null;
    $("throughput").textContent = last ? last.opsPerSec.toFixed(last.opsPerSec < 10 ? 1 : 0) + " /s" : "–";
    fill($("ops-spark"), [sparkline(s.series.map(function (p) { return p.opsPerSec; }), function (v) { return v.toFixed(0) + "/s"; })]);
    $("latency").textContent = last ? fmtMs(last.meanMs) : "–";
    $("latency-detail").textContent = "mean; p99 ≤ " + (last ? fmtMs(last.p99Ms) : "–");
    fill($("latency-spark"), [sparkline(s.series.map(function (p) { return p.meanMs; }), fmtMs)]);
  }

  function renderTiers(s) {
    fill($("tiers"), s.tiers.map(function (t) {
      var cap = t.capacityBytes, ratio = cap ? Math.min(1, t.bytes / cap) : null;
      var bar = el("div", { class: "fill" + (ratio === null ? " none" : ratio > 0.9 ? " high" : "") });
      if (ratio !== null) bar.style.width = (ratio * 100).toFixed(1) + "%";
      var usage = fmtBytes(t.bytes) + (cap ? " / " + fmtBytes(cap) + " (" + fmtPct(ratio) + ")" : " (no capacity limit)");
      var nums = el("div", { class: "nums" }, [el("b", {}, [usage]), el("br"), fmtInt(t.items) + " blocks · " + fmtInt(t.hits) + " hits · " + fmtInt(t.misses) + " misses"]);
      return el("div", { class: "tier", "data-tier": t.tier, "data-bytes": t.bytes, "data-items": t.items, "data-capacity": cap === null ? "" : cap },
        [el("div", { class: "name" }, [t.tier]), el("div", { class: "bar" }, [bar]), nums]);
    }));
  }

  function renderMoves(s) {
    var reasons = Object.keys(s.moves).sort();
    fill($("move-totals"), reasons.length ? reasons.map(function (r) {
      return el("span", { class: "chip reason-" + r, "data-reason": r }, [r + " " + fmtInt(s.moves[r])]);
    }) : [el("span", { class: "empty" }, ["no block has moved yet"])]);
    fill($("events").tBodies[0], s.events.slice(0, 15).map(function (e) {
      return el("tr", {}, [el("td", {}, [fmtAgo(e.t, s.time)]), el("td", { class: "reason-" + e.reason }, [e.reason]),
        el("td", {}, [e.from + " → " + e.to]), el("td", { class: "mono" }, [e.blockId.slice(0, 12)]),
        el("td", { class: "num" }, [e.bytes === null ? "–" : fmtBytes(e.bytes)])]);
    }));
  }

  function renderTables(s) {
    var rows = [];
    Object.keys(s.requests).sort().forEach(function (op) {
      Object.keys(s.requests[op]).sort().forEach(function (r) {
        rows.push(el("tr", {}, [el("td", {}, [op]), el("td", {}, [r]), el("td", { class: "num" }, [fmtInt(s.requests[op][r])])]));
      });
    });
    fill($("requests").tBodies[0], rows);
    var errors = [el("tr", {}, [el("td", {}, ["checksum failures"]), el("td", { class: "num", id: "checksum-failures" }, [fmtInt(s.checksumFailures)])])];
    Object.keys(s.backendErrors).sort().forEach(function (b) {
      errors.push(el("tr", {}, [el("td", {}, [b + " errors"]), el("td", { class: "num" }, [fmtInt(s.backendErrors[b])])]));
    });
    fill($("errors").tBodies[0], errors);
  }

  function render(s) {
    $("node-id").textContent = s.node.nodeId + " · " + s.node.address;
    document.title = "DatenLord · " + s.node.nodeId;
    renderNodes(s); renderHits(s); renderRates(s); renderTiers(s); renderMoves(s); renderTables(s);
    setStatus("ok", "live · updated " + new Date(s.time).toLocaleTimeString());
    seq += 1;
    document.body.dataset.seq = String(seq);
  }

  function setStatus(state, text) {
    var st = $("status");
    st.dataset.state = state;
    st.textContent = text;
  }

  function tick() {
    fetch("api/summary", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch(function (err) { setStatus("error", "disconnected: " + err.message); })
      .then(function () { setTimeout(tick, REFRESH_MS); });
  }
  tick();
})();
`;
