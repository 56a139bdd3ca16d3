/** Helpers shared by the data tests: temp folders, small datasets, a local HTTP server. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCHES_DIR, IMAGE_BYTES, TEST_BATCH_FILE, TRAIN_BATCH_FILES, writeCifarBatch } from '../../src/data/cifar-format.js';
import type { Dataset } from '../../src/data/cifar-format.js';
import type { DataOptions } from '../../src/data/dataset.js';
import { makeCifarTarball, writeSyntheticCifar } from '../../src/data/synthetic.js';

/** A fresh folder under the OS temp dir, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-data-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A dataset whose pixels encode `tag` and their record index, with the given labels. */
export function patterned(labels: number[], tag = 0): Dataset {
  const count = labels.length;
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < IMAGE_BYTES; p++) images[i * IMAGE_BYTES + p] = (tag * 100 + i * 11 + p * 7) & 0xff;
  }
  return { images, labels: Uint8Array.from(labels), count };
}

/**
 * Writes `dir/cifar-10-batches-bin/` with five training files and a test file
 * of patterned records (file f tagged f+1, the test file tagged 0).
 */
export async function writeBatches(dir: string, train: number[][], val: number[]): Promise<void> {
  const batches = join(dir, BATCHES_DIR);
  await mkdir(batches, { recursive: true });
  for (let f = 0; f < 5; f++) {
    await writeCifarBatch(join(batches, TRAIN_BATCH_FILES[f] as string), patterned(train[f] ?? [], f + 1));
  }
  await writeCifarBatch(join(batches, TEST_BATCH_FILE), patterned(val, 0));
}

/** The first pixel byte of each record, to tell records apart after selection. */
export function firstBytes(d: Dataset): number[] {
  return Array.from({ length: d.count }, (_, i) => d.images[i * IMAGE_BYTES] ?? -1);
}

/** Options for a small synthetic cifar10 layout in `dir`, overridable. */
export function options(dir: string, over: Partial<DataOptions> = {}): DataOptions {
  return {
    source: 'cifar10',
    path: dir,
    download: false,
    classes: null,
    limitTrain: null,
    limitVal: null,
    synthetic: { trainSize: 50, valSize: 20, seed: 1 },
    ...over,
  };
}

/** A real-layout cifar-10-binary.tar.gz of a tiny synthetic set, with its md5 and bytes. */
export async function smallTarball(workDir: string): Promise<{ file: string; md5: string; bytes: Buffer }> {
  const src = join(workDir, 'src');
  await writeSyntheticCifar(src, { trainSize: 30, valSize: 10, seed: 3 });
  const file = join(workDir, 'served.tar.gz');
  await makeCifarTarball(src, file);
  const bytes = await readFile(file);
  return { file, md5: createHash('md5').update(bytes).digest('hex'), bytes };
}

export interface TestServer {
  url: (path: string) => string;
  requests: string[];
  close: () => Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) that records every request path. */
export async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
