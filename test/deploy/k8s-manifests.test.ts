/**
 * deploy/k8s/ rendered offline (the subset of kustomize it uses; compared with
 * `kubectl kustomize` where kubectl is installed), every object checked
 * against the Kubernetes schemas with unknown fields reported, and the
 * objects checked against each other: the Service finds the coordinator, the
 * workers dial the Service, the worker count and the token are each set once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { EXIT_CODES, EXIT_MAY_RETRY } from '../../src/shared/errors.js';
import { ALL_ADDRESSES } from '../../src/transports/ws/bind.js';
import { tempDir } from '../helpers.js';
import { validateObject } from './k8s-validate.js';
import { containers, kustomizeBuild, podSpecs, type Obj } from './kustomize-subset.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const K8S = join(REPO, 'deploy/k8s');

let dir = '';
let objs: Obj[] = [];

before(async () => {
  dir = await tempDir('trainer-k8s-');
  // token.env is each user's own and not in git: write one, as the instructions say.
  await cp(K8S, join(dir, 'k8s'), { recursive: true });
  await writeFile(join(dir, 'k8s/token.env'), 'TRAINER_TOKEN=0123456789abcdef0123456789abcdef0123456789abcdef\n');
  objs = await kustomizeBuild(join(dir, 'k8s'));
});

const nameOf = (o: Obj) => String((o.metadata as Obj).name);
function get(kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && nameOf(x) === name);
  assert.ok(o, `no ${kind} ${name} in the rendered kustomization`);
  return o;
}
function container(o: Obj, name: string): Obj {
  const c = containers(o).find((x) => x.name === name);
  assert.ok(c, `${nameOf(o)} has no container ${name}`);
  return c;
}
const envOf = (c: Obj, name: string) => ((c.env as Obj[]) ?? []).find((e) => e.name === name);

test('the kustomization renders the Secret, settings, volume, coordinator Job and Service, workers Job, and the coordinator\'s NetworkPolicy', () => {
  assert.deepEqual(objs.map((o) => `${String(o.kind)}/${nameOf(o)}`).sort(), [
    'ConfigMap/trainer-settings',
    'Job/trainer-coordinator',
    'Job/trainer-workers',
    'NetworkPolicy/trainer-coordinator',
    'PersistentVolumeClaim/trainer-state',
    'Secret/trainer-token',
    'Service/trainer-coordinator',
  ]);
});

test('kubectl kustomize renders the same objects as the test does', (t) => {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip('kubectl is not installed: the offline rendering alone is checked');
  const r = spawnSync('kubectl', ['kustomize', join(dir, 'k8s')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const theirs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
  const key = (o: Obj) => `${String(o.kind)}/${nameOf(o)}`;
  const sort = (xs: Obj[]) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
  assert.deepEqual(sort(theirs), sort(objs));
});

test('every rendered object, and the state-reader pod, fits the Kubernetes schema with no unknown field', async () => {
  const reader = parse(await readFile(join(K8S, 'tools/state-reader.yaml'), 'utf8')) as Obj;
  for (const o of [...objs, reader]) {
    assert.deepEqual(await validateObject(o), [], `${String(o.kind)} ${nameOf(o)}`);
  }
  // The reader mounts the claim the kustomization creates.
  const claim = ((podSpecs(reader)[0]?.volumes as Obj[])[0]?.persistentVolumeClaim as Obj).claimName;
  get('PersistentVolumeClaim', String(claim));
});

test('the Service selects the coordinator pod and exposes the port it listens and answers /healthz on', () => {
  const svc = get('Service', 'trainer-coordinator');
  const job = get('Job', 'trainer-coordinator');
  const podLabels = ((job.spec as Obj).template as Obj).metadata as Obj;
  const selector = (svc.spec as Obj).selector as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) assert.equal((podLabels.labels as Record<string, string>)[k], v, `selector ${k}`);
  const workerPod = ((get('Job', 'trainer-workers').spec as Obj).template as Obj).metadata as Obj;
  assert.ok(Object.entries(selector).some(([k, v]) => (workerPod.labels as Record<string, string>)[k] !== v), 'the selector does not also match workers');

  const [port] = (svc.spec as Obj).ports as Obj[];
  const c = container(job, 'coordinator');
  const cport = ((c.ports as Obj[]) ?? []).find((p) => p.name === port?.targetPort);
  assert.ok(cport, `the coordinator has a port named ${String(port?.targetPort)}`);
  assert.equal(cport.containerPort, port?.port);
  const script = String((c.args as string[])[0]);
  // Every address of both families: on an IPv6 cluster the pod's and the Service's addresses are IPv6 (0.0.0.0 is IPv4 only).
  assert.match(script, new RegExp(`--host ${ALL_ADDRESSES} --port ${String(cport.containerPort)} `));
  const probe = (c.readinessProbe as Obj).httpGet as Obj;
  assert.deepEqual([probe.path, probe.port], ['/healthz', port?.targetPort]);
});

const podLabels = (o: Obj) => ((o.kind === 'Pod' ? o.metadata : ((o.spec as Obj).template as Obj).metadata) as Obj).labels as Record<string, string>;

/** Whether a label selector selects a pod with these labels (matchLabels only: the manifests use no expressions). */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  assert.deepEqual(Object.keys(selector), ['matchLabels'], 'a selector of matchLabels only');
  const match = selector.matchLabels as Record<string, string>;
  assert.ok(Object.keys(match).length > 0, 'an empty selector selects every pod');
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

test("a NetworkPolicy lets the worker pods alone reach the coordinator's port, by the labels the pods have and the port the container listens on", async () => {
  const policy = get('NetworkPolicy', 'trainer-coordinator');
  const spec = policy.spec as Obj;
  const coordinator = get('Job', 'trainer-coordinator');
  const workers = get('Job', 'trainer-workers');
  const reader = parse(await readFile(join(K8S, 'tools/state-reader.yaml'), 'utf8')) as Obj;
  // It isolates the coordinator's pod, and only that one: the workers dial out and take no connection.
  assert.equal(selects(spec.podSelector as Obj, podLabels(coordinator)), true, 'it selects the coordinator pod');
  assert.equal(selects(spec.podSelector as Obj, podLabels(workers)), false, 'it leaves the workers alone');
  assert.deepEqual(spec.policyTypes, ['Ingress']);
  // One rule: from pods of this namespace with the workers' labels (no namespaceSelector: another
  // namespace's pods with those labels stay out; no ipBlock), to one TCP port.
  const rules = spec.ingress as Obj[];
  assert.equal(rules.length, 1, JSON.stringify(rules));
  const [rule] = rules as [Obj];
  const peers = rule.from as Obj[];
  assert.equal(peers.length, 1, JSON.stringify(peers));
  assert.deepEqual(Object.keys(peers[0] as Obj), ['podSelector']);
  const from = (peers[0] as Obj).podSelector as Obj;
  assert.equal(selects(from, podLabels(workers)), true, 'it admits the worker pods');
  assert.equal(selects(from, podLabels(coordinator)), false);
  assert.equal(selects(from, podLabels(reader)), false, 'it does not admit the state reader');
  // The port is where connections arrive at the pod: the container's (the Service's targetPort), not the Service's.
  const ports = rule.ports as Obj[];
  assert.equal(ports.length, 1, JSON.stringify(ports));
  const [port] = ports as [Obj];
  assert.equal(port.protocol, 'TCP');
  const cport = ((container(coordinator, 'coordinator').ports as Obj[]) ?? []).find((p) => (typeof port.port === 'string' ? p.name : p.containerPort) === port.port);
  assert.ok(cport, `the coordinator container has a port ${String(port.port)}`);
  const svcPort = ((get('Service', 'trainer-coordinator').spec as Obj).ports as Obj[])[0] as Obj;
  assert.ok(svcPort.targetPort === cport.name || svcPort.targetPort === cport.containerPort, 'the Service sends connections to that port');
  // The workers' port is the readiness probe's and the dashboard's too: the probe comes from the node, which a NetworkPolicy never blocks.
  assert.equal(((container(coordinator, 'coordinator').readinessProbe as Obj).httpGet as Obj).port, cport.name);
});

test('workers dial the Service by name and port, one GPU and --gpu 0 each, as an Indexed Job', () => {
  const svc = get('Service', 'trainer-coordinator');
  const workers = get('Job', 'trainer-workers');
  const spec = workers.spec as Obj;
  assert.equal(spec.completionMode, 'Indexed');
  const c = container(workers, 'worker');
  const args = c.args as string[];
  assert.equal(args[0], 'worker');
  const [port] = (svc.spec as Obj).ports as Obj[];
  assert.equal(args[args.indexOf('--connect') + 1], `${nameOf(svc)}:${String(port?.port)}`);
  assert.equal(args[args.indexOf('--gpu') + 1], '0');
  assert.ok(Number(args[args.indexOf('--retry-for-ms') + 1]) >= 60_000, 'workers wait for a coordinator that starts after them');
  assert.equal(((c.resources as Obj).limits as Obj)['nvidia.com/gpu'], 1);
});

test('the worker count is set once: parallelism, completions and --min-workers follow it', async () => {
  const settings = get('ConfigMap', 'trainer-settings');
  const n = Number((settings.data as Obj).workers);
  assert.ok(Number.isInteger(n) && n > 0);
  const spec = get('Job', 'trainer-workers').spec as Obj;
  assert.equal(spec.parallelism, n);
  assert.equal(spec.completions, n);
  const c = container(get('Job', 'trainer-coordinator'), 'coordinator');
  assert.deepEqual((envOf(c, 'TRAINER_WORKERS')?.valueFrom as Obj).configMapKeyRef, { name: 'trainer-settings', key: 'workers' });
  assert.match(String((c.args as string[])[0]), /--min-workers "\$TRAINER_WORKERS"/);
  // Changing it in kustomization.yaml changes all three.
  const k = join(dir, 'k8s/kustomization.yaml');
  const original = await readFile(k, 'utf8');
  await writeFile(k, original.replace('- workers=3', '- workers=5'));
  try {
    const again = await kustomizeBuild(join(dir, 'k8s'));
    const w = again.find((o) => nameOf(o) === 'trainer-workers' && o.kind === 'Job')?.spec as Obj;
    assert.deepEqual([w.parallelism, w.completions], [5, 5]);
  } finally {
    await writeFile(k, original);
  }
});

test('every Secret, ConfigMap and volume claim a pod refers to exists, with the key it names', () => {
  const pods = objs.filter((o) => podSpecs(o).length > 0);
  assert.equal(pods.length, 2);
  for (const o of pods) {
    for (const c of containers(o)) {
      for (const e of (c.env as Obj[]) ?? []) {
        const from = e.valueFrom as Obj | undefined;
        for (const [ref, kind] of [['secretKeyRef', 'Secret'], ['configMapKeyRef', 'ConfigMap']] as const) {
          const r = from?.[ref] as Obj | undefined;
          if (!r) continue;
          const target = get(kind, String(r.name));
          assert.ok(String(r.key) in (target.data as Obj), `${kind} ${String(r.name)} has key ${String(r.key)}`);
        }
      }
      assert.ok(envOf(c, 'TRAINER_TOKEN'), `${nameOf(o)}/${String(c.name)} gets the token`);
      assert.ok(!JSON.stringify(c.args ?? []).includes('0123456789abcdef'), 'the token is not in argv');
    }
    for (const v of (podSpecs(o)[0]?.volumes as Obj[]) ?? []) {
      const claim = v.persistentVolumeClaim as Obj | undefined;
      if (claim) get('PersistentVolumeClaim', String(claim.claimName));
    }
  }
  const token = (get('Secret', 'trainer-token').data as Obj).TRAINER_TOKEN;
  assert.equal(Buffer.from(String(token), 'base64').toString(), '0123456789abcdef0123456789abcdef0123456789abcdef');
});

test('both pods run the image named once in kustomization.yaml', async () => {
  const k = parse(await readFile(join(K8S, 'kustomization.yaml'), 'utf8')) as { images: { newName: string; newTag: string }[] };
  const [img] = k.images;
  const images = objs.flatMap(containers).map((c) => c.image);
  assert.deepEqual(images, [`${img?.newName}:${img?.newTag}`, `${img?.newName}:${img?.newTag}`]);
});

test('the coordinator pod trains the run on the volume with --auto-resume: a rescheduled pod resumes it', async () => {
  const c = container(get('Job', 'trainer-coordinator'), 'coordinator');
  assert.deepEqual(c.command, ['sh', '-c']);
  const script = String((c.args as string[])[0]);
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'trainer'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
  const settings = get('ConfigMap', 'trainer-settings').data as Record<string, string>;
  const state = join(dir, 'state');
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    TRAINER_STATE: state,
    TRAINER_WORKERS: settings.workers,
    TRAINER_CONFIG: settings.config,
    TRAINER_RUN: settings.run,
    TRAINER_ARGS: settings.args,
  };
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  // (What --auto-resume does is test/cli/auto-resume.integration.test.ts.)
  assert.equal(
    r.stdout.trim(),
    `coordinator --config configs/cifar3.yaml --host all --port 9000 --min-workers 3 --run.dir ${state}/runs --run.name cifar3 --data.path ${state}/data --auto-resume --data.download true`,
  );
  // The config the pod names is in the image (the Dockerfile copies configs/).
  await readFile(join(REPO, settings.config ?? ''));
});

test('kustomization.yaml and the README ask for the same Kubernetes, one where every Job field used is on by default (kustomization.yaml said 1.26, the README 1.31)', async () => {
  const header = /Needs Kubernetes >= 1\.(\d+)/.exec(await readFile(join(K8S, 'kustomization.yaml'), 'utf8'));
  const readme = /Kubernetes 1\.(\d+) or later/.exec(await readFile(join(REPO, 'README.md'), 'utf8'));
  assert.ok(header && readme, 'both state a minimum version');
  assert.equal(header[1], readme[1]);
  // podFailurePolicy is on by default from 1.26, a Job's successPolicy from 1.31 (off, the workers' Job failed after a finished run).
  const jobs = objs.filter((o) => o.kind === 'Job').map((o) => o.spec as Obj);
  const needs = Math.max(...jobs.map((j) => (j.successPolicy ? 31 : j.podFailurePolicy ? 26 : 0)));
  assert.ok(Number(header[1]) >= needs, `1.${header[1]} < 1.${needs}`);
});

test('token.env stays out of git', async () => {
  assert.match(await readFile(join(K8S, '.gitignore'), 'utf8'), /^token\.env$/m);
  const tracked = spawnSync('git', ['ls-files', 'deploy/k8s'], { cwd: REPO, encoding: 'utf8' });
  if (tracked.status === 0) assert.doesNotMatch(tracked.stdout, /token\.env/);
});

test('every pod meets the Pod Security "restricted" profile: non-root, no privilege escalation, no capability, the runtime\'s seccomp profile', async () => {
  const reader = parse(await readFile(join(K8S, 'tools/state-reader.yaml'), 'utf8')) as Obj;
  for (const o of [...objs.filter((x) => x.kind === 'Job'), reader]) {
    const spec = o.kind === 'Pod' ? (o.spec as Obj) : (((o.spec as Obj).template as Obj).spec as Obj);
    const pod = spec.securityContext as Obj;
    assert.equal(pod.runAsNonRoot, true, nameOf(o));
    assert.deepEqual(pod.seccompProfile, { type: 'RuntimeDefault' }, nameOf(o));
    for (const c of spec.containers as Obj[]) {
      assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, `${nameOf(o)}/${String(c.name)}`);
    }
  }
});

test('the workers Job completes with the run (the first worker to exit 0), and only failures of its own count against backoffLimit', () => {
  const spec = get('Job', 'trainer-workers').spec as Obj;
  // Every index had to exit 0: a pod started after the coordinator ended failed until backoffLimit, and the Job ended Failed.
  assert.deepEqual(spec.successPolicy, { rules: [{ succeededCount: 1 }] });
  const pod = (spec.template as Obj).spec as Obj;
  assert.equal(pod.restartPolicy, 'Never', 'podFailurePolicy needs it');
  const rules = (spec.podFailurePolicy as Obj).rules as Obj[];
  // Evictions, preemptions and drains are not the worker's failure (with OnFailure they used backoffLimit up).
  assert.ok(rules.some((r) => r.action === 'Ignore' && JSON.stringify(r.onPodConditions) === JSON.stringify([{ type: 'DisruptionTarget', status: 'True' }])), JSON.stringify(rules));
  // Exit 2 (src/shared/errors.ts): another try fails the same way.
  assert.ok(rules.some((r) => r.action === 'FailJob' && JSON.stringify(r.onExitCodes) === JSON.stringify({ containerName: 'worker', operator: 'In', values: [2] })), JSON.stringify(rules));
  assert.ok(containers(get('Job', 'trainer-workers')).some((c) => c.name === 'worker'));
});

test("both Jobs fail at once on exactly the exit statuses of errors that another try meets again, and restart on the others (E_CHECKPOINT exited 1, as a bug does: a damaged checkpoint was read again until backoffLimit)", () => {
  const noRetry = [...new Set(Object.values(EXIT_CODES).filter((s) => s !== EXIT_MAY_RETRY))].sort();
  assert.ok(EXIT_CODES.E_CHECKPOINT !== EXIT_MAY_RETRY && EXIT_CODES.E_INTERNAL === EXIT_MAY_RETRY);
  for (const [job, name] of [['trainer-coordinator', 'coordinator'], ['trainer-workers', 'worker']] as const) {
    const rules = ((get('Job', job).spec as Obj).podFailurePolicy as Obj).rules as Obj[];
    const failing = rules.filter((r) => r.action === 'FailJob').map((r) => r.onExitCodes as Obj);
    assert.deepEqual(failing, [{ containerName: name, operator: 'In', values: noRetry }], job);
  }
});

test('no pod mounts a service-account token: none calls the Kubernetes API', () => {
  for (const o of objs.filter((x) => x.kind === 'Job')) {
    assert.equal((((o.spec as Obj).template as Obj).spec as Obj).automountServiceAccountToken, false, nameOf(o));
  }
});

test("the coordinator's extra flags (args=) are split on spaces but never expanded as file names", async () => {
  const script = String((container(get('Job', 'trainer-coordinator'), 'coordinator').args as string[])[0]);
  const bin = join(dir, 'bin-glob');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'trainer'), '#!/bin/sh\nfor a in "$@"; do echo "<$a>"; done\n', { mode: 0o755 });
  // A folder where `*` and `[ab]*` would match files.
  const cwd = join(dir, 'glob-cwd');
  await mkdir(cwd, { recursive: true });
  await writeFile(join(cwd, 'a-file'), '');
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, TRAINER_STATE: '/state', TRAINER_WORKERS: '3', TRAINER_CONFIG: 'c.yaml', TRAINER_RUN: 'r', TRAINER_ARGS: '--x * --y [ab]*' };
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env, cwd });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<--x>\n<\*>\n<--y>\n<\[ab\]\*>\n$/);
});
