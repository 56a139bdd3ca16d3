import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { decodeImage } from '../../src/predict/image.js';
import { tempDir } from '../helpers.js';
import { png } from '../predict/png-bytes.js';
import { CLI } from './cli-helpers.js';

/** A complete 8-bit grey PNG, every pixel black: all its rows are there, so only its size can refuse it. */
const blackPng = (width: number, height: number) => png(width, height, Buffer.alloc(height * (width + 1)), { colorType: 0 }); // a filter byte (none) a row, then the pixels

test('predict refuses a PNG over 65,535 pixels on a side from its header (1×20,000,000 took 62 s and 15 GB to decode, or V8 died out of memory)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, w, h] of [['tall.png', 1, 20_000_000], ['wide.png', 20_000_000, 1]] as const) {
    await writeFile(join(dir, name), blackPng(w, h));
    // Refused before any model is read; a decode that starts is stopped, so that the old code fails here and does not hog the machine.
    const r = spawnSync(process.execPath, [CLI, 'predict', '--run', 'runs/none', name], { cwd: dir, encoding: 'utf8', timeout: 15_000 });
    assert.deepEqual([r.signal, r.status, r.stdout, r.stderr], [null, 2, '', `error E_DATA: ${name} is ${w}×${h} pixels, more than the limit of 65535 on a side\n`]);
  }
  // At the limit, still an image.
  const png = new PNG({ width: 1, height: 65_535 });
  png.data.fill(255);
  assert.equal(decodeImage(PNG.sync.write(png), 'limit.png').height, 65_535);
});
