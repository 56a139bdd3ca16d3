/**
 * What can be checked of the Dockerfile without a Docker engine: what it copies
 * exists and is in the build context, the entrypoint it links is in the built
 * tree, the base is a build argument, and the build context leaves out what
 * must not go in.
 */
import assert from 'node:assert/strict';
import { access, constants, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = () => readFile(join(REPO, 'Dockerfile'), 'utf8');
const ignored = async () =>
  (await readFile(join(REPO, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

/** The instructions, continuation lines joined, comments dropped. */
async function instructions(): Promise<string[]> {
  return (await dockerfile())
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('every file the Dockerfile copies from the context exists and is not excluded by .dockerignore', async () => {
  const ignore = await ignored();
  const copies = (await instructions()).filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l));
  assert.ok(copies.length >= 3, 'the Dockerfile copies the sources');
  for (const line of copies) {
    const sources = line.split(/\s+/).slice(1, -1).filter((s) => !s.startsWith('--'));
    for (const s of sources) {
      await access(join(REPO, s));
      assert.ok(!ignore.some((p) => p === s || s.startsWith(`${p}/`)), `${s} is excluded by .dockerignore`);
    }
  }
});

test('the entrypoint is trainer, linked to the built CLI that exists in the built tree', async () => {
  const lines = await instructions();
  assert.ok(lines.includes('ENTRYPOINT ["trainer"]'));
  assert.ok(lines.some((l) => l.startsWith('RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/trainer')));
  assert.ok(lines.includes('COPY --from=build /app /app'));
  const main = join(REPO, 'dist/src/cli/main.js');
  assert.ok(((await stat(main)).mode & 0o111) !== 0, 'main.js is executable');
  await access(main, constants.X_OK);
  assert.match(await readFile(main, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  // package.json's bin agrees, and the build that makes it runs before the dev tools are pruned.
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  assert.equal(pkg.bin.trainer, 'dist/src/cli/main.js');
  assert.match(pkg.scripts.prepare ?? '', /npm run build/);
  const run = lines.find((l) => l.includes('npm ci')) ?? '';
  assert.ok(run.indexOf('npm ci') < run.indexOf('npm prune --omit=dev'), run);
});

test('the base image is a build argument: Debian by default, the CUDA 11.2 + cuDNN 8 runtime documented and pinned by digest', async () => {
  const text = await dockerfile();
  assert.match(text, /^ARG BASE=debian:bookworm-slim$/m);
  assert.match(text, /^FROM \$\{BASE\} AS build$/m);
  assert.match(text, /^FROM \$\{BASE\}$/m);
  assert.match(text, /^ARG NODE_IMAGE=node:20-/m);
  assert.match(text, /--build-arg BASE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/);
  assert.match(text, /digest/);
  assert.match(text, /NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
});

test('the image runs as uid 1000 in /app, which may write where the defaults point (run.dir, data.path) but not to the code (a default run failed with EACCES)', async () => {
  const { DEFAULT_CONFIG } = await import('../../src/shared/config.js');
  const lines = await instructions();
  const final = lines.slice(lines.lastIndexOf('FROM ${BASE}'));
  assert.ok(final.includes('USER 1000'), 'runs as uid 1000');
  assert.equal(final.filter((l) => l.startsWith('WORKDIR ')).pop(), 'WORKDIR /app');
  const run = final.filter((l) => l.startsWith('RUN ')).join(' && ');
  for (const dir of [DEFAULT_CONFIG.run.dir, DEFAULT_CONFIG.data.path]) {
    assert.match(run, new RegExp(`mkdir -p [^&]*/app/${dir}\\b`), `the image makes /app/${dir}`);
    assert.match(run, new RegExp(`chown 1000:1000 [^&]*/app/${dir}\\b`), `/app/${dir} is uid 1000's`);
  }
  // The code stays root's: nothing hands /app itself, or all of it, to the user.
  assert.doesNotMatch(run, /chown\s+(-R|--recursive)/);
  assert.doesNotMatch(run, /chown [^&]*\/app(\s|$)/);
  assert.ok(!final.some((l) => /^COPY\s.*--chown/.test(l)), 'COPY keeps root as the owner');
});

test('.dockerignore keeps node_modules, build output, runs, data, git and the k8s token out of the context', async () => {
  const ignore = await ignored();
  for (const p of ['node_modules', '**/node_modules', 'dist', 'runs', 'data', '.git', 'deploy/k8s/token.env']) {
    assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
  }
});

test("the glibc that the README and Dockerfile say Dawn needs is dawn.node's own (a webgpu upgrade that needs a newer one is noticed)", async (t) => {
  let binary: Buffer;
  try {
    binary = await readFile(join(REPO, 'node_modules/webgpu/dist/linux-x64/dawn.node'));
  } catch {
    return t.skip('the webgpu package (an optional dependency) is not installed here');
  }
  // The versioned symbols it asks of glibc: the newest is the least glibc it loads with.
  const versions = [...binary.toString('latin1').matchAll(/GLIBC_2\.(\d+)\b/g)].map((m) => Number(m[1]));
  const needs = `2.${Math.max(...versions)}`;
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  assert.match(readme, new RegExp(`\\(the \`webgpu\` package's \`dawn\\.node\`\\) needs glibc ${needs.replace('.', '\\.')} or later`));
  assert.match(await dockerfile(), new RegExp(`Dawn\\s*\\n?#?\\s*\\(dawn\\.node\\) needs glibc ${needs.replace('.', '\\.')} or later`));
});
