/**
 * The dashboard page: inline CSS and script, polling /status.json (figures,
 * tables) and /charts (the charts, drawn on the server by the report's chart
 * code) once a second. Worker names come from the workers, so the tables are
 * filled with textContent only; the charts fragment holds no worker text.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trainer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1180px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin: 0 0 0.2em; } h2 { font-size: 1.1em; margin: 1.4em 0 0.4em; border-bottom: 1px solid #ddd; }
#state { color: #666; margin: 0 0 1em; }
h1, h2, p { overflow-wrap: anywhere; } /* a run's name with no hyphen or space ran off a phone's screen */
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.figure { background: #f6f8fa; border-radius: 6px; padding: 8px 12px; }
.figure .label { color: #666; font-size: 0.85em; } .figure b { display: block; font-size: 1.5em; font-weight: 600; }
.bar { background: #dde7f3; height: 6px; margin-top: 4px; } .bar > div { background: #1f77b4; height: 6px; width: 0; }
#charts { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 1em; min-height: 300px; }
#charts svg { background: #fff; border: 1px solid #e4e4e4; max-width: 100%; height: auto; }
#charts svg .title { font-size: 14px; font-weight: 600; } #charts svg text { font-size: 11px; fill: #333; }
#charts .empty { flex: 1 1 480px; color: #888; border: 1px dashed #ddd; padding: 2em; margin: 0; }
.tables { display: flex; flex-wrap: wrap; gap: 2em; } .tables > div { min-width: 0; max-width: 100%; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.92em; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
</style></head><body>
<h1>trainer: <span id="run">…</span></h1>
<p id="state">connecting…</p>
<div class="figures">
<div class="figure"><span class="label">epoch</span><b><span id="epoch">0</span> / <span id="epochs">0</span></b><div class="bar" title="this epoch's steps done"><div id="epoch-bar"></div></div><span class="label" id="epoch-steps"></span></div>
<div class="figure"><span class="label">step</span><b id="step">0</b></div>
<div class="figure"><span class="label">loss (smoothed)</span><b id="loss">–</b></div>
<div class="figure"><span class="label">validation accuracy</span><b id="val-acc">–</b></div>
<div class="figure"><span class="label">images/s</span><b id="speed">0</b></div>
<div class="figure"><span class="label">time left (run)</span><b id="eta">–</b></div>
<div class="figure"><span class="label">workers</span><b id="workers-count"><span id="alive">0</span> of <span id="wanted">0</span></b></div>
</div>
<div id="charts"></div>
<div class="tables">
<div><h2>Workers</h2>
<div class="table-wrap"><table id="workers"><thead><tr><th>worker</th><th>address</th><th>backend</th><th>micro-batches</th><th>images</th><th title="all the worker's compute threads at once">images/s computing</th><th>last result</th><th>last heartbeat</th></tr></thead><tbody></tbody></table></div></div>
<div><h2>Epochs</h2>
<div class="table-wrap"><table id="epochs-table"><thead><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val acc</th><th>val loss</th><th>images/s</th></tr></thead><tbody></tbody></table></div></div>
</div>
<script>
const $ = (id) => document.getElementById(id);
const ago = (ms) => ms === null ? '–' : (ms / 1000).toFixed(1) + ' s ago';
const fixed = (v, d) => v === null || v === undefined ? '–' : v.toFixed(d);
function duration(sec) {
  if (sec === null || !isFinite(sec)) return '–';
  const t = Math.round(sec), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = String(t % 60).padStart(2, '0');
  return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s;
}
// textContent only: worker names come from the workers.
function row(cls, values) {
  const tr = document.createElement('tr');
  tr.className = cls;
  for (const v of values) {
    const td = document.createElement('td');
    td.textContent = String(v);
    tr.appendChild(td);
  }
  return tr;
}
let chartsAt = -1;
let endedAs = null;
const ENDED = {
  finished: 'finished',
  stopped: 'stopped (a checkpoint to resume from)',
  diverged: 'diverged: the loss or the weights were no longer finite (see the trainer log; a resume would diverge again)',
  failed: 'failed (see the trainer log)',
};
async function tick() {
  try {
    const st = await (await fetch('status.json', { cache: 'no-store' })).json();
    endedAs = st.finished ? 'finished' : st.ended;
    document.title = 'trainer: ' + st.run;
    $('run').textContent = st.run;
    $('epoch').textContent = st.epoch;
    $('epochs').textContent = st.epochs;
    $('epoch-bar').style.width = (st.stepsInEpoch > 0 ? 100 * st.stepInEpoch / st.stepsInEpoch : 0) + '%';
    // The bar is the epoch's, not the run's (that is "time left (run)"): said under it.
    $('epoch-steps').textContent = st.stepsInEpoch > 0 ? 'this epoch: step ' + st.stepInEpoch + ' of ' + st.stepsInEpoch : '';
    $('step').textContent = st.step;
    $('loss').textContent = fixed(st.smoothedLoss, 4);
    const lastEval = st.epochsDone.filter((e) => e.valAcc !== null).pop();
    $('val-acc').textContent = lastEval ? lastEval.valAcc.toFixed(3) + ' (epoch ' + lastEval.epoch + ')' : '–';
    // Before the first step's report there is no speed yet: 0 read as a stalled run.
    $('speed').textContent = st.stepsInEpoch > 0 ? Math.round(st.imagesPerSec) : '–';
    $('eta').textContent = st.finished ? 'done' : endedAs ? '–' : st.evaluating ? 'evaluating' + (st.etaSec === null ? '' : ', ~' + duration(st.etaSec)) : duration(st.etaSec);
    $('alive').textContent = st.workersAlive;
    $('wanted').textContent = st.workersWanted;
    $('state').textContent = endedAs ? ENDED[endedAs]
      : (st.step === 0 && st.workersAlive < st.workersWanted ? 'waiting for workers (' + st.workersAlive + ' of ' + st.workersWanted + ')'
        : st.workersAlive === 0 ? 'waiting for workers' : st.evaluating ? 'final evaluation' : 'training') + ', up ' + Math.round(st.uptimeSec) + ' s' +
      (st.backends.length > 1 ? ' · parity: mixed backends (' + st.backends.join(', ') + '): the weights hash will not match a run on one backend' : '');
    $('workers').tBodies[0].replaceChildren(...st.workers.map((w) => row('worker', [w.worker, w.address ?? '–', w.backend ?? '–',
      w.microBatches, w.examples, Math.round(w.imagesPerSec), ago(w.lastWorkMsAgo), ago(w.lastHeartbeatMsAgo)])));
    $('epochs-table').tBodies[0].replaceChildren(...st.epochsDone.map((e) => row('epoch', [e.epoch, e.trainLoss.toFixed(4),
      fixed(e.trainAcc, 3), fixed(e.valAcc, 3), fixed(e.valLoss, 4), Math.round(e.imagesPerSec)])));
    if (st.step !== chartsAt || endedAs) {
      chartsAt = st.step;
      // Drawn by this server from numbers and fixed labels only (see dashboard/charts.ts).
      $('charts').innerHTML = await (await fetch('charts', { cache: 'no-store' })).text();
    }
  } catch (e) {
    // Once the run has ended, its trainer exits: that is no fault.
    $('state').textContent = endedAs ? ENDED[endedAs] + '; the trainer has exited' : 'trainer unreachable (' + e.message + ')';
  }
}
tick();
setInterval(tick, 1000);
</script></body></html>
`;
