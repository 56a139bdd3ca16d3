/**
 * What `npm run bench:scale` prints: the measured tables (medians over rounds,
 * with the spread of the key figures), the fitted model, and the worker counts
 * at which one coordinator stops scaling, flat and with each design past it.
 */
import type { ModelName } from '../../src/shared/config.js';
import { arrayFrameBytes } from '../../src/transports/ws/protocol.js';
import { getModel } from '../../src/worker/model.js';
import { median } from '../stats.js';
import type { RunResult } from './coordinator.js';
import { blockSumK, linearPart, predictCpuMs, saturationK, type CostModel, type Topology } from './cost-model.js';

const LINKS_GBIT = [1, 10, 25, 100] as const;

export const fmt = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '∞';
/** Significant figures for small and large numbers alike. */
export const sig = (x: number) => (Math.abs(x) >= 100 ? fmt(x) : Math.abs(x) >= 10 ? fmt(x, 1) : Math.abs(x) >= 1 ? fmt(x, 2) : fmt(x, 3));

export interface Row {
  key: string;
  runs: RunResult[];
}

/** Median over rounds of one figure, with its spread when it varied. */
function med(rs: readonly RunResult[], f: (r: RunResult) => number, withSpread = false): string {
  const xs = rs.map(f);
  const m = sig(median(xs));
  if (!withSpread || xs.length < 2) return m;
  return `${m} (${sig(Math.min(...xs))}–${sig(Math.max(...xs))})`;
}

export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}\n`);
  console.log('| K | grads/step (received) | steps/s | efficiency | coord CPU ms/step | of which kernel | CPU ms/step/worker | loop busy | MB out/in per step | step ms | outside compute ms | after last result ms | coord RSS MB (peak) | sim CPU ms/step |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const rs = row.runs;
    const s = (rs[0] as RunResult).spec;
    // Workers: compute threads, one micro-batch each per step (a block stands for `block` of them).
    const k = s.connections * s.threads * (s.block ?? 1);
    console.log(
      `| ${k}${s.block ? ` (${s.connections} block sums of ${s.block})` : s.threads > 1 ? ` (${s.connections} × ${s.threads})` : ''} | ${s.microBatches} (${med(rs, (r) => r.gradientsInPerStep)}) | ${med(rs, (r) => r.stepsPerSec)} | ` +
        `${med(rs, (r) => (100 * s.delayMs * Math.ceil((s.microBatches * (1 + s.verify)) / (s.connections * s.threads))) / r.stepMs.median)} % | ${med(rs, (r) => r.cpuMsPerStep, true)} | ` +
        `${med(rs, (r) => r.sysMsPerStep)} | ${med(rs, (r) => r.cpuMsPerStep / k)} | ${med(rs, (r) => r.eventLoopBusy * 100)} % | ${med(rs, (r) => r.bytesOutPerStep / 1e6)} / ${med(rs, (r) => r.bytesInPerStep / 1e6)} | ` +
        `${med(rs, (r) => r.stepMs.median)} | ${med(rs, (r) => r.outsideComputeMs.median, true)} | ${med(rs, (r) => r.afterLastResultMs)} | ` +
        `${med(rs, (r) => r.rssMB)} (${med(rs, (r) => r.maxRssMB)}) | ${med(rs, (r) => r.simCpuMsPerStep)} |`,
    );
  }
}

export function printModel(m: CostModel, nObs: number, yardstick: number): void {
  console.log(`\nFitted coordinator CPU per step (${nObs} configurations, relative least squares, largest error ${fmt(m.maxRelError * 100)} %):`);
  console.log(
    `  cpu ≈ ${sig(m.a)} ms + C × (${sig(m.c0 * 1000)} µs + ${sig(m.c1)} ms/MB) + G × (${sig(m.g0 * 1000)} µs + ${sig(m.g1)} ms/MB) + ${sig(m.q * 1000)} µs × G²`,
  );
  console.log('  C: connections (a weights frame each per step), G: gradients received per step, MB: the model\'s frame size;');
  console.log('  G²: per-result work that grows with the step\'s results (not the design\'s: the tables say what K would be without it)');
  console.log(`  per MB, in passes of this machine's reduction loop (${sig(yardstick)} CPU ms/MB): a gradient in ${sig(m.g1 / yardstick)}, a weights frame out ${sig(m.c1 / yardstick)}`);
  console.log('  link per step ≈ max(C, G) × MB × 8 / (Gbit/s) ms (full duplex; fan-out and fan-in staggered alike)');
  console.log('  step ≈ t + overhead, t = one micro-batch\'s compute; one coordinator stops scaling where overhead = t (50 % efficiency)');
}

/** A worker count: whole workers, '<1' when not even one fits. */
const count = (k: number) => (k < 1 ? '<1' : k >= 1e5 ? '≥ 100,000' : fmt(Math.floor(k)));

export function printSaturation(m: CostModel, models: readonly ModelName[], threads: number, computeMs: readonly number[]): void {
  const tops: Topology[] = [
    { label: 'flat (1 worker = 1 connection)', connectionsPerWorker: 1, gradientsPerWorker: 1 },
    { label: `machines of ${threads} threads (protocol 3)`, connectionsPerWorker: 1 / threads, gradientsPerWorker: 1 },
    { label: `machines of ${threads}, one block sum each`, connectionsPerWorker: 1 / threads, gradientsPerWorker: 1 / threads },
  ];
  for (const name of models) {
    const mb = arrayFrameBytes(getModel(name).size) / 1e6;
    console.log(`\n${name} (${fmt(mb * 1000, 0)} kB frames): workers (one micro-batch each per step) at which the coordinator stops scaling`);
    console.log(`\n| topology | micro-batch compute | CPU | CPU without the G² term | ${LINKS_GBIT.map((g) => `${g} Gbit/s`).join(' | ')} |`);
    console.log(`| --- | ---: | ---: | ---: | ${LINKS_GBIT.map(() => '---:').join(' | ')} |`);
    for (const t of tops) {
      for (const c of computeMs) {
        const ks = [saturationK(m, t, mb, c, null), saturationK(linearPart(m), t, mb, c, null), ...LINKS_GBIT.map((g) => saturationK(m, t, mb, c, g))];
        console.log(`| ${t.label} | ${c} ms | ${ks.map(count).join(' | ')} |`);
      }
    }
  }
}

/** Past one coordinator, by the fitted model: the workers each topology holds before its overhead reaches the compute time. */
export function printBeyond(m: CostModel, models: readonly ModelName[], threads: number, computeMs: readonly number[]): void {
  for (const name of models) {
    const mb = arrayFrameBytes(getModel(name).size) / 1e6;
    const flat: Topology = { label: '', connectionsPerWorker: 1, gradientsPerWorker: 1 };
    const machines: Topology = { label: '', connectionsPerWorker: 1 / threads, gradientsPerWorker: 1 };
    const both = (t: Topology, c: number, g: number | null) => Math.min(saturationK(m, t, mb, c, null), g === null ? Infinity : saturationK(m, t, mb, c, g));
    console.log(`\n${name}, by the model: workers (threads, one micro-batch each) before the overhead reaches the compute time; CPU, or CPU and link`);
    console.log(`\n| micro-batch compute | resource | flat | machines of ${threads} threads | machines of ${threads}, one block sum each | the same under a tree of aggregators (how many) |`);
    console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
    for (const c of computeMs.filter((c) => c >= 100)) {
      for (const g of [null, 1, 10]) {
        const tree = blockSumK(m, threads, mb, c, g, true);
        console.log(
          `| ${c} ms | ${g === null ? 'CPU' : `CPU, ${g} Gbit/s`} | ${count(both(flat, c, g))} | ${count(both(machines, c, g))} | ` +
            `${count(blockSumK(m, threads, mb, c, g, false).k)} | ${count(tree.k)}${tree.aggregators ? ` (${tree.aggregators})` : ''} |`,
        );
      }
    }
  }
}

/** Each configuration's measured CPU per step beside the model's. */
export function printFit(m: CostModel, rows: readonly Row[]): void {
  console.log('\n| configuration | measured CPU ms/step | fitted | measured outside compute ms (loopback) |\n| --- | ---: | ---: | ---: |');
  for (const row of rows) {
    const r = row.runs[0] as RunResult;
    const mb = arrayFrameBytes(r.modelSize) / 1e6;
    const fitted = predictCpuMs(m, r.spec.connections, r.spec.microBatches, mb);
    console.log(
      `| ${r.spec.model} ${r.spec.connections}${r.spec.threads > 1 ? ` × ${r.spec.threads} threads` : r.spec.block ? ` block sums of ${r.spec.block}` : ''} | ` +
        `${med(row.runs, (x) => x.cpuMsPerStep)} | ${sig(fitted)} | ${med(row.runs, (x) => x.outsideComputeMs.median)} |`,
    );
  }
}
