// The inline CSS and JS of the HTML report: one self-contained file, no network, no external fonts.

/** The report's stylesheet. */
export const REPORT_CSS = `
:root { --bg:#f6f8fa; --card:#fff; --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --hit:#2da44e; --hit-bg:#dafbe1;
  --miss:#cf222e; --miss-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5; --info:#0969da; --info-bg:#ddf4ff;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1320px; margin:0 auto; padding:24px; }
h1 { font-size:22px; margin:0; } h2 { font-size:17px; margin:28px 0 10px; }
code, pre { font-family:var(--mono); font-size:12.5px; }
a { color:var(--info); text-decoration:none; } a:hover { text-decoration:underline; }
.muted { color:var(--muted); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:12px; }
.pill { border-radius:999px; padding:2px 10px; font-weight:600; font-size:12px; }
.pill.succeeded { background:var(--hit-bg); color:#116329; } .pill.failed, .pill.cancelled { background:var(--miss-bg); color:var(--miss); }
.meta { margin:6px 0 0; color:var(--muted); display:flex; flex-wrap:wrap; gap:4px 18px; }
.meta code { color:var(--fg); }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; margin-top:18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:22px; font-weight:600; margin-top:2px; } .card .sub { color:var(--muted); font-size:12px; }
.card.hit .value { color:var(--hit); } .card.miss .value { color:var(--miss); }
.ratio { height:6px; border-radius:3px; background:var(--miss-bg); margin-top:8px; overflow:hidden; }
.ratio span { display:block; height:100%; background:var(--hit); }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
.timeline { position:relative; margin-top:4px; }
.axis { position:relative; height:20px; border-bottom:1px solid var(--line); margin-bottom:6px; }
.tick { position:absolute; top:0; font-size:11px; color:var(--muted); transform:translateX(-50%); }
.tick::after { content:""; position:absolute; left:50%; top:16px; height:5px; border-left:1px solid var(--line); }
.lanes { position:relative; }
.lane { position:relative; height:30px; border-bottom:1px dashed #eaeef2; }
.bar { position:absolute; top:4px; height:22px; min-width:4px; border-radius:4px; cursor:pointer; overflow:hidden; white-space:nowrap;
  font:11px/22px var(--mono); padding:0 6px; color:#fff; box-shadow:inset 0 0 0 1px rgba(0,0,0,.08); }
.bar.hit { background:var(--hit); opacity:.75; } .bar.miss { background:var(--miss); }
.bar:hover, .bar.selected { outline:2px solid var(--fg); outline-offset:1px; opacity:1; z-index:2; }
.legend { display:flex; gap:16px; font-size:12px; color:var(--muted); margin-top:8px; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.swatch.hit { background:var(--hit); } .swatch.miss { background:var(--miss); }
#tip { position:fixed; z-index:10; max-width:460px; background:#1f2328; color:#f6f8fa; border-radius:6px; padding:10px 12px;
  font-size:12px; pointer-events:none; box-shadow:0 8px 24px rgba(0,0,0,.25); }
#tip code { color:#ffdf5d; } #tip a { color:#79c0ff; } #tip .muted { color:#9198a1; }
#tip .tip-title { font-family:var(--mono); margin-bottom:4px; word-break:break-all; }
.tip-content { display:none; }
table { width:100%; border-collapse:collapse; background:var(--card); }
th, td { text-align:left; vertical-align:top; padding:8px 10px; border-bottom:1px solid var(--line); }
th { font-size:12px; color:var(--muted); font-weight:600; background:var(--bg); position:sticky; top:0; }
td.stage { white-space:nowrap; }
td.num, th.num { text-align:right; white-space:nowrap; }
tr.selected td { background:#fff8c5; } tr:target td { background:#fff8c5; }
.status { font-weight:600; font-size:12px; border-radius:4px; padding:1px 6px; white-space:nowrap; }
.status.hit { color:#116329; background:var(--hit-bg); } .status.miss { color:var(--miss); background:var(--miss-bg); }
.instr { white-space:pre-wrap; word-break:break-word; margin:0; }
.loc { color:var(--muted); font-size:12px; }
.mini { height:4px; border-radius:2px; background:var(--info); margin-top:4px; opacity:.6; }
.mini.size { background:#8250df; }
ul.reasons, ul.files { margin:0; padding-left:16px; } ul.files { list-style:none; padding-left:4px; }
.file-state { font-size:10px; text-transform:uppercase; border-radius:3px; padding:0 4px; }
.file-state.changed { background:var(--warn-bg); color:var(--warn); } .file-state.added { background:var(--hit-bg); color:#116329; }
.file-state.removed { background:var(--miss-bg); color:var(--miss); } .file-state.mode { background:var(--warn-bg); color:var(--warn); text-transform:none; }
.diff { margin-top:4px; border:1px solid var(--line); border-radius:4px; overflow:hidden; }
.diff-line { padding:2px 6px; white-space:pre-wrap; word-break:break-all; } .diff-line:first-child { background:#fff5f5; } .diff-line + .diff-line { background:#f0fff4; }
.sign { color:var(--muted); margin-right:6px; font-family:var(--mono); }
del { background:#ffcecb; text-decoration:line-through; } ins { background:#aceebb; text-decoration:none; }
.advice { border-left:4px solid var(--info); margin-bottom:14px; }
.advice.warning { border-left-color:#d4a72c; }
.advice h3 { margin:0 0 6px; font-size:15px; display:flex; gap:10px; align-items:center; }
.saved { font-size:12px; font-weight:600; color:#116329; background:var(--hit-bg); border-radius:999px; padding:1px 8px; }
.snippets { display:grid; grid-template-columns:1fr 1fr; gap:12px; margin-top:10px; }
.snippets .label { font-size:12px; color:var(--muted); margin-bottom:4px; }
pre.snippet { margin:0; padding:10px 12px; background:#0d1117; color:#e6edf3; border-radius:6px; overflow:auto; white-space:pre-wrap; }
.controls { display:flex; gap:14px; align-items:center; margin-bottom:8px; font-size:13px; }
body.only-missed tr.hit-row { display:none; }
.empty { color:var(--muted); font-style:italic; }
`;

/** The report's script: timeline tooltips, click-to-select between bars and rows, the "only missed" filter. */
export const REPORT_JS = `
(function () {
  var tip = document.getElementById('tip');
  function place(e) {
    var x = e.clientX + 14, y = e.clientY + 14, r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = e.clientX - r.width - 14;
    if (y + r.height > window.innerHeight - 8) y = e.clientY - r.height - 14;
    tip.style.left = Math.max(8, x) + 'px'; tip.style.top = Math.max(8, y) + 'px';
  }
  function select(id, scroll) {
    document.querySelectorAll('.selected').forEach(function (el) { el.classList.remove('selected'); });
    document.querySelectorAll('[data-step="' + CSS.escape(id) + '"].bar').forEach(function (el) { el.classList.add('selected'); });
    var row = document.getElementById('step-' + id);
    if (row) { row.classList.add('selected'); if (scroll) row.scrollIntoView({ block: 'center', behavior: 'smooth' }); }
  }
  document.querySelectorAll('.bar').forEach(function (bar) {
    var id = bar.getAttribute('data-step');
    bar.addEventListener('mouseenter', function (e) {
      var src = document.getElementById('tip-' + id);
      if (!src) return;
      tip.innerHTML = src.innerHTML; tip.hidden = false; place(e);
    });
    bar.addEventListener('mousemove', place);
    bar.addEventListener('mouseleave', function () { tip.hidden = true; });
    bar.addEventListener('click', function () { select(id, true); });
  });
  document.querySelectorAll('tr[data-step]').forEach(function (row) {
    row.addEventListener('click', function (e) { if (!e.target.closest('a')) select(row.getAttribute('data-step'), false); });
  });
  document.querySelectorAll('a.step-link').forEach(function (a) {
    a.addEventListener('click', function (e) { e.preventDefault(); select(a.getAttribute('data-step'), true); });
  });
  var only = document.getElementById('only-missed');
  if (only) only.addEventListener('change', function () { document.body.classList.toggle('only-missed', only.checked); });
})();
`;
