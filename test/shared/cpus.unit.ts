import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { cgroupCpuLimit, usableCpus } from '../../src/shared/cpus.js';
import { tempDir } from '../helpers.js';

/** A fake cgroup tree under `root` (files relative to it) and a /proc/self/cgroup naming the process's groups. */
async function tree(files: Record<string, string>, procCgroup: string): Promise<{ cgroupRoot: string; procCgroup: string }> {
  const root = await tempDir('trainer-cgroup-');
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(root, 'fs', file, '..'), { recursive: true });
    await writeFile(join(root, 'fs', file), text);
  }
  await writeFile(join(root, 'cgroup'), procCgroup);
  return { cgroupRoot: join(root, 'fs'), procCgroup: join(root, 'cgroup') };
}

test('cgroup v2: cpu.max caps --threads auto, rounded up; a parent\'s tighter quota wins; "max" is no limit', async () => {
  const pod = await tree({ 'kubepods/pod1/cpu.max': '150000 100000\n', 'kubepods/cpu.max': 'max 100000\n', 'cpu.max': 'max 100000\n' }, '0::/kubepods/pod1\n');
  assert.equal(cgroupCpuLimit(pod.cgroupRoot, pod.procCgroup), 1.5);
  assert.equal(usableCpus({ ...pod, cores: 64 }), 2);
  assert.equal(usableCpus({ ...pod, cores: 1 }), 1, 'never more than the cores it may run on');
  const nested = await tree({ 'a/b/cpu.max': '800000 100000', 'a/cpu.max': '300000 100000' }, '0::/a/b\n');
  assert.equal(cgroupCpuLimit(nested.cgroupRoot, nested.procCgroup), 3);
  const none = await tree({ 'cpu.max': 'max 100000' }, '0::/\n');
  assert.equal(cgroupCpuLimit(none.cgroupRoot, none.procCgroup), null);
  assert.equal(usableCpus({ ...none, cores: 16 }), 16);
});

test('cgroup v1: cfs_quota_us over cfs_period_us under cpu,cpuacct; -1 is no limit; a host path missing from a container\'s mount reads its root', async () => {
  const v1 = await tree({ 'cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '200000', 'cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000' }, '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n');
  assert.equal(cgroupCpuLimit(v1.cgroupRoot, v1.procCgroup), 2);
  const unlimited = await tree({ 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }, '1:cpu:/\n');
  assert.equal(cgroupCpuLimit(unlimited.cgroupRoot, unlimited.procCgroup), null);
  // Without a cgroup namespace: the host's path, but the container sees its own group as the mount's root.
  const container = await tree({ 'cpu/cpu.cfs_quota_us': '50000', 'cpu/cpu.cfs_period_us': '100000' }, '1:cpu:/docker/0123\n');
  assert.equal(cgroupCpuLimit(container.cgroupRoot, container.procCgroup), 0.5);
  assert.equal(usableCpus({ ...container, cores: 8 }), 1);
});

test('no cgroup information (another OS, no /proc): the cores it may run on', () => {
  assert.equal(cgroupCpuLimit('/nonexistent', '/nonexistent/cgroup'), null);
  assert.equal(usableCpus({ cgroupRoot: '/nonexistent', procCgroup: '/nonexistent/cgroup', cores: 6 }), 6);
});
