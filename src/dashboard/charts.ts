/**
 * The dashboard's charts, drawn on the server with the report's own chart
 * code (axes, ticks, labels, epoch marks) and fetched by the page as one HTML
 * fragment (`/charts`): loss per step, smoothed across epochs, and accuracy
 * per epoch. Nothing in them comes from a worker (only numbers and fixed
 * labels), and every label passes escapeHtml.
 */
import { epochMarks, lossPerStepChart } from '../report/charts.js';
import { lineChart } from '../report/svg-chart.js';
import type { DashboardStatus } from './state.js';

const WIDTH = 560;
const HEIGHT = 300;

export function dashboardCharts(st: DashboardStatus): string {
  const parts: string[] = [];
  if (st.lossCurve.length === 0) {
    parts.push('<p class="empty" id="no-steps">The loss per step appears here after the first step.</p>');
  } else {
    parts.push(
      lossPerStepChart({
        id: 'chart-loss',
        title: 'Training loss per step (smoothed; faint: each step)',
        runs: [{ key: 'loss', label: 'training loss', color: '#1f77b4', steps: st.lossCurve.map(([step, loss]) => ({ step, loss })) }],
        marks: epochMarks(st.epochsDone),
        width: WIDTH,
        height: HEIGHT,
      }),
    );
  }
  const done = st.epochsDone;
  if (done.length === 0) {
    parts.push('<p class="empty" id="no-epochs">Accuracy per epoch appears here after the first epoch.</p>');
  } else {
    parts.push(
      lineChart({
        id: 'chart-accuracy',
        title: 'Accuracy per epoch',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        xs: done.map((e) => e.epoch),
        yRange: [0, 1],
        yDecimals: 1,
        width: WIDTH,
        height: HEIGHT,
        series: [
          { key: 'runningAcc', label: 'running', color: '#7f7f7f', values: done.map((e) => e.runningAcc), dashed: true },
          { key: 'trainAcc', label: 'train', color: '#1f77b4', values: done.map((e) => e.trainAcc) },
          { key: 'valAcc', label: 'validation', color: '#d62728', values: done.map((e) => e.valAcc) },
        ],
      }),
    );
  }
  return parts.join('\n');
}
