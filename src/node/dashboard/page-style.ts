/** The dashboard's stylesheet (inlined into the page). */
export const DASHBOARD_STYLE = String.raw`
:root { --bg: #0f1419; --panel: #1a2129; --line: #2b3540; --text: #e6edf3; --dim: #8b98a5; --accent: #4cc2ff; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 8px; font-weight: 600; }
.hint { text-transform: none; letter-spacing: 0; font-weight: 400; }
.node { color: var(--dim); font-family: ui-monospace, monospace; }
.status { margin-left: auto; font-size: 12px; padding: 2px 10px; border-radius: 10px; background: var(--line); }
.status[data-state="ok"] { background: rgba(63,185,80,.18); color: var(--ok); }
.status[data-state="error"] { background: rgba(248,81,73,.18); color: var(--bad); }
main { padding: 16px 24px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 16px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.big { font-size: 30px; font-weight: 600; font-variant-numeric: tabular-nums; }
.sub { color: var(--dim); font-size: 12px; }
.spark svg { display: block; width: 100%; height: 48px; margin-top: 6px; }
.spark .axis { fill: var(--dim); font-size: 9px; }
ul { list-style: none; margin: 6px 0 0; padding: 0; }
li { padding: 2px 0; font-family: ui-monospace, monospace; font-size: 12px; }
li .self { color: var(--accent); margin-left: 6px; font-family: system-ui, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.tier { display: grid; grid-template-columns: 90px 1fr 260px; gap: 12px; align-items: center; padding: 6px 0; }
.tier .name { font-weight: 600; }
.bar { height: 16px; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; overflow: hidden; }
.fill { height: 100%; background: var(--accent); transition: width .4s; }
.fill.high { background: var(--warn); }
.fill.none { background: repeating-linear-gradient(45deg, var(--line), var(--line) 6px, transparent 6px, transparent 12px); width: 100%; }
.tier .nums { font-variant-numeric: tabular-nums; font-size: 12px; color: var(--dim); }
.tier .nums b { color: var(--text); font-weight: 600; }
.columns { display: grid; grid-template-columns: 3fr 2fr; gap: 16px; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } .tier { grid-template-columns: 70px 1fr; } .tier .nums { grid-column: 1 / -1; } }
table { width: 100%; border-collapse: collapse; font-size: 12px; margin-bottom: 12px; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--dim); font-weight: 500; border-bottom: 1px solid var(--line); padding: 4px 6px; }
td { padding: 3px 6px; border-bottom: 1px solid rgba(43,53,64,.5); }
td.mono { font-family: ui-monospace, monospace; }
td.num { text-align: right; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; }
.chip { padding: 2px 10px; border-radius: 10px; background: var(--bg); border: 1px solid var(--line); font-size: 12px; }
.reason-demoted { color: var(--accent); } .reason-spilled { color: var(--warn); } .reason-promoted { color: var(--ok); }
.reason-dropped, .reason-corrupt { color: var(--bad); }
.empty { color: var(--dim); font-style: italic; }
footer { color: var(--dim); font-size: 11px; }
`;
