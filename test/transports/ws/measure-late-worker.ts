/**
 * Measures what a straggler costs: the same run over ws with two honest
 * workers, then with one honest worker and one whose every result is MS ms
 * late. Not a test (it only prints):
 *
 *   npm run build && node dist/test/transports/ws/measure-late-worker.js [MS] [ROUNDS]
 */
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, spawnRogue, spawnWorker, trainOverWs, wsConfig, type Spawned } from './helpers.js';

async function timeRun(lateMs: number | null): Promise<{ stepMs: number; steps: number; sha: string | null; expected: string }> {
  const dir = await tempDir();
  const config = wsConfig(dir, 'late', {
    data: { synthetic: { trainSize: 1600, valSize: 100 } },
    train: { epochs: 1, microBatches: 4 },
    eval: { every: 1, batchSize: 50 },
  });
  const expected = await referenceSha(config);
  const workers: Spawned[] = [];
  const stamps: number[] = [];
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (url) => {
        workers.push(spawnWorker(url, dir, 'honest'));
        workers.push(lateMs === null ? spawnWorker(url, dir, 'honest2') : spawnRogue(url, dir, `late:${lateMs}`, 'late'));
      },
      onStep: () => void stamps.push(performance.now()),
    });
    // The first steps warm up (wasm tier-up): time the second half.
    const half = Math.floor(stamps.length / 2);
    const stepMs = ((stamps[stamps.length - 1] as number) - (stamps[half] as number)) / (stamps.length - 1 - half);
    return { stepMs, steps: stamps.length, sha: r.weightsSha256, expected };
  } finally {
    killAll(workers);
  }
}

const lateMs = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 2);
for (let i = 0; i < rounds; i++) {
  const honest = await timeRun(null);
  const late = await timeRun(lateMs);
  console.log(
    `round ${i + 1}: 2 honest workers ${honest.stepMs.toFixed(1)} ms/step; 1 honest + 1 ${lateMs} ms late ${late.stepMs.toFixed(1)} ms/step ` +
      `(${(late.stepMs / honest.stepMs).toFixed(2)}x; ${late.steps} steps; hash ${late.sha === late.expected ? 'matches' : 'DIFFERS'})`,
  );
}
