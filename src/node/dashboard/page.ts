import { DASHBOARD_SCRIPT } from "./page-script.js";
import { DASHBOARD_STYLE } from "./page-style.js";

/**
 * The dashboard page: one self-contained HTML document (inline CSS and script,
 * no external assets, nothing to build) that polls `api/summary` relative to
 * itself every second. Elements carry data-* attributes with the raw numbers
 * they show, for tests and scripts.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DatenLord KV cache</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body data-seq="0">
<header>
  <h1>DatenLord KV cache</h1>
  <span class="node" id="node-id"></span>
  <span class="status" id="status" data-state="connecting">connecting…</span>
</header>
<main>
  <section class="cards">
    <div class="card"><h2>Live nodes</h2><div class="big" id="live-count">–</div><ul id="live-nodes"></ul></div>
    <div class="card"><h2>GET hit ratio</h2><div class="big" id="hit-ratio">–</div><div class="sub" id="hit-detail"></div><div class="spark" id="hit-spark"></div></div>
    <div class="card"><h2>Throughput</h2><div class="big" id="throughput">–</div><div class="sub">data ops/s (GET + PUT + DELETE)</div><div class="spark" id="ops-spark"></div></div>
    <div class="card"><h2>Latency</h2><div class="big" id="latency">–</div><div class="sub" id="latency-detail"></div><div class="spark" id="latency-spark"></div></div>
  </section>
  <section class="panel"><h2>Tiers <span class="hint">usage against capacity</span></h2><div id="tiers"></div></section>
  <section class="columns">
    <div class="panel"><h2>Block moves <span class="hint">evictions, spills, promotions</span></h2><div class="chips" id="move-totals"></div>
      <table id="events"><thead><tr><th>when</th><th>reason</th><th>from → to</th><th>block</th><th>size</th></tr></thead><tbody></tbody></table></div>
    <div class="panel"><h2>Requests</h2><table id="requests"><thead><tr><th>op</th><th>result</th><th>count</th></tr></thead><tbody></tbody></table>
      <h2>Errors</h2><table id="errors"><tbody></tbody></table></div>
  </section>
  <footer id="footer">throughput and latency: last 5 minutes, one sample a second</footer>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
