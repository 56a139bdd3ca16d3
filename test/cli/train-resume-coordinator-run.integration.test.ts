import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('trainer train --resume goes on with a run trained by trainer coordinator, in this process and to the same hash; a new run of a ws config is refused before anything starts', async () => {
  const dir = await tempDir();
  const over = (name: string) => ({ run: { name }, cluster: { transport: 'ws' } });
  // As `trainer coordinator` leaves it: cluster.transport ws in the checkpoint's config.
  const straight = await runTraining({ config: smallConfig(dir, over('straight')), resume: false, createPool: createInProcessPool, log: quietLog });
  const cut = await trainStoppedAt(smallConfig(dir, over('coord')), 3);
  assert.equal(cut.outcome, 'stopped');

  // It loaded the data, then failed: E_CONFIG "workers connect to `trainer coordinator`".
  const resumed = trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'coord', '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /note: \S+coord was trained by `trainer coordinator` \(cluster\.transport ws\): it goes on in this process/);
  assert.match(resumed.stdout, new RegExp(`weights sha256 ${straight.weightsSha256}`));

  const file = join(dir, 'ws.yaml');
  await writeFile(file, `run: {name: fresh, dir: ${JSON.stringify(join(dir, 'runs'))}}\ndata: {source: synthetic, path: ${JSON.stringify(join(dir, 'data'))}}\ncluster: {transport: ws}\n`);
  const fresh = trainer(['train', '-c', file]);
  assert.equal(fresh.code, 2);
  assert.equal(fresh.stderr, 'error E_CONFIG: cluster.transport ws: workers connect to `trainer coordinator --config FILE`, not to `trainer train`; give --threads N or --procs N to train here\n');
  await assert.rejects(access(join(dir, 'runs', 'fresh')));
});

test('trainer train --resume of a coordinator run with cluster.verify says verification is off in this process, and the run it leaves resumes again (it checked nothing and said nothing, and its checkpoint, cluster.verify with cluster.transport local, was refused)', async () => {
  const dir = await tempDir();
  const cut = await trainStoppedAt(smallConfig(dir, { run: { name: 'verified' }, cluster: { transport: 'ws', workers: 2, verify: 1 } }), 3);
  assert.equal(cut.outcome, 'stopped');
  const at = ['--run.dir', join(dir, 'runs'), '--run.name', 'verified', '--resume'];

  const resumed = trainer(['train', ...at]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(
    resumed.stderr,
    /it goes on in this process \(.*\); cluster\.verify 1 is off here, as nothing untrusted computes \(`trainer coordinator --resume --cluster\.verify 1 --min-workers 2` checks workers again\)\n/,
  );

  const again = trainer(['train', ...at, '--train.epochs', '3']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Epoch 3,/);
});

test('trainer train --resume --threads N of a coordinator run with cluster.verify goes on on those threads with it off, said once, to the same hash (it was E_CONFIG "nothing untrusted to check", though the plain resume\'s note names --threads N)', async () => {
  const dir = await tempDir();
  const over = (name: string) => ({ run: { name }, cluster: { transport: 'ws', workers: 2, verify: 1 } });
  const straight = await runTraining({ config: smallConfig(dir, over('straight')), resume: false, createPool: createInProcessPool, log: quietLog });
  assert.equal((await trainStoppedAt(smallConfig(dir, over('verified')), 3)).outcome, 'stopped');
  const at = ['--run.dir', join(dir, 'runs'), '--run.name', 'verified', '--resume'];

  const resumed = trainer(['train', ...at, '--threads', '2']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(
    resumed.stderr.match(/^note: .*$/gm)?.join('\n'),
    "note: cluster.verify 1 is off on this process's threads, as nothing untrusted computes (`trainer coordinator --resume --cluster.verify 1 --min-workers 2` checks workers again)",
  );
  assert.match(resumed.stdout, new RegExp(`weights sha256 ${straight.weightsSha256}`));
  // Given as a flag, it is the user's: refused as before.
  assert.match(trainer(['train', ...at, '--threads', '2', '--cluster.verify', '1']).stderr, /^error E_CONFIG: cluster\.verify 1 checks WebSocket workers by recomputing their results, and cluster\.transport threads/);
});
