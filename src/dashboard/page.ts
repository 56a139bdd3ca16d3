/** The dashboard page: inline CSS and script, polling /status.json once a second. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trainer coordinator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; padding: 0 1em; color: #222; }
.figures span { display: inline-block; margin-right: 2em; } .figures b { font-size: 1.4em; }
table { border-collapse: collapse; margin-top: 1em; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; } svg { border: 1px solid #e4e4e4; margin-top: 1em; }
#state { color: #666; }
</style></head><body>
<h1>trainer: <span id="run">…</span></h1>
<p id="state">connecting…</p>
<div class="figures">
<span>epoch <b id="epoch">0</b> / <span id="epochs">0</span></span>
<span>step <b id="step">0</b></span>
<span>loss <b id="loss">–</b></span>
<span><b id="speed">0</b> images/s</span>
<span><b id="alive">0</b> workers</span>
</div>
<svg id="loss-curve" width="640" height="220" viewBox="0 0 640 220"><polyline id="loss-line" fill="none" stroke="#1f77b4" stroke-width="2" points=""/></svg>
<table id="workers"><thead><tr><th>worker</th><th>address</th><th>backend</th><th>micro-batches</th><th>images</th><th>images/s computing</th><th>last result</th><th>last heartbeat</th></tr></thead><tbody></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
function draw(curve) {
  if (curve.length === 0) return;
  const xs = curve.map((p) => p[0]), ys = curve.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => 10 + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * 620;
  const sy = (y) => 210 - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * 200;
  $('loss-line').setAttribute('points', curve.map((p) => sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join(' '));
}
const ago = (ms) => ms === null ? '–' : (ms / 1000).toFixed(1) + ' s ago';
function row(w) {
  const tr = document.createElement('tr');
  tr.className = 'worker';
  // textContent only: worker names come from the workers.
  for (const v of [w.worker, w.address ?? '–', w.backend ?? '–', w.microBatches, w.examples, Math.round(w.imagesPerSec),
    ago(w.lastWorkMsAgo), ago(w.lastHeartbeatMsAgo)]) {
    const td = document.createElement('td');
    td.textContent = String(v);
    tr.appendChild(td);
  }
  return tr;
}
async function tick() {
  try {
    const st = await (await fetch('status.json', { cache: 'no-store' })).json();
    $('run').textContent = st.run;
    $('epoch').textContent = st.epoch;
    $('epochs').textContent = st.epochs;
    $('step').textContent = st.step;
    $('loss').textContent = st.loss === null ? '–' : st.loss.toFixed(4);
    $('speed').textContent = Math.round(st.imagesPerSec);
    $('alive').textContent = st.workersAlive;
    $('state').textContent = st.finished ? 'finished'
      : (st.workersAlive === 0 ? 'waiting for workers' : 'training') + ', up ' + Math.round(st.uptimeSec) + ' s';
    $('workers').tBodies[0].replaceChildren(...st.workers.map(row));
    draw(st.lossCurve);
  } catch (e) {
    $('state').textContent = 'coordinator unreachable (' + e.message + ')';
  }
}
tick();
setInterval(tick, 1000);
</script></body></html>
`;
