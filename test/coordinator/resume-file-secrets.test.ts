import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { resolveRunConfig } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from './checkpoint-fixtures.js';

const TOKEN = '0123456789abcdef0123456789abcdef0123456789abcdef';

test("--resume --config FILE takes the file's cluster.token and data.url password, which the run does not keep, and its notes show neither (they printed both, and suggested --cluster.token with the secret)", async () => {
  const dir = await tempDir();
  const stored = await sampleCheckpoint(dir, false);
  // Kept as https://***@mirror.example/... (withoutSecrets).
  stored.config = { ...stored.config, data: { ...stored.config.data, url: 'https://alice:TopSecretPw@mirror.example/c.tgz' } };
  await saveCheckpoint(RunFolder.of(stored.config).checkpointFile, stored);
  const where = `run: {dir: ${JSON.stringify(stored.config.run.dir)}, name: ${stored.config.run.name}}\n`;
  const notes: string[] = [];
  const log = (l: string) => notes.push(l);

  // The file the run was started with: its secrets are what the resumed run lacks; nothing to note.
  const same = join(dir, 'same.yaml');
  await writeFile(same, `${where}data: {url: "https://alice:TopSecretPw@mirror.example/c.tgz"}\ncluster: {token: ${TOKEN}}\n`);
  const resumed = await resolveRunConfig({ file: same, overrides: {}, resume: true, log });
  assert.equal(resumed.cluster.token, TOKEN);
  assert.equal(resumed.data.url, 'https://alice:TopSecretPw@mirror.example/c.tgz');
  assert.deepEqual(notes, []);
  // A flag still beats the file.
  const flagged = await resolveRunConfig({ file: same, overrides: { cluster: { token: 'f'.repeat(48) } }, resume: true, log });
  assert.equal(flagged.cluster.token, 'f'.repeat(48));

  // Another mirror: named, not applied, without its password.
  notes.length = 0;
  const other = join(dir, 'other.yaml');
  await writeFile(other, `${where}data: {url: "https://bob:OtherPw@mirror2.example/c.tgz"}\ncluster: {token: ${TOKEN}}\n`);
  const kept = await resolveRunConfig({ file: other, overrides: {}, resume: true, log });
  assert.equal(kept.data.url, 'https://***@mirror.example/c.tgz');
  assert.equal(kept.cluster.token, TOKEN);
  assert.deepEqual(notes, [
    `note: ${other} sets data.url "https://***@mirror2.example/c.tgz"; the resumed run keeps its own "https://***@mirror.example/c.tgz" (--data.url "https://***@mirror2.example/c.tgz" changes it)`,
  ]);
});
