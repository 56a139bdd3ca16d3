import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { decodeImage } from '../../src/predict/image.js';
import { tempDir } from '../helpers.js';
import { CLI } from './cli-helpers.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Buffer) => (b.reduce((c, x) => CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), body])));
  return Buffer.concat([head, Buffer.from(type, 'latin1'), body, tail]);
}

/** A complete 8-bit grey PNG, every pixel black: all its rows are there, so only its size can refuse it. */
function blackPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc(height * (width + 1))); // a filter byte (none) a row, then the pixels
  const magic = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([magic, chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

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
