// The real node's figures (issue 29), on a fresh platform per run, so that every first push meets
// a node that has never pulled the base:
//   - push → first HTTP answer: the example App (Flask from the package index, two replicas)
//     applied, Kaniko's first build of it, the rollout, and the first answer from a pod;
//   - edit → new answer: an edit of app.py, the build (requirements.txt unchanged: pip's layer
//     comes from Kaniko's cache), the rollout, and the first answer of the new version; and the
//     rollout's end (every pod answers the new version);
//   - the same source again → builds: the same files applied again, and the builds that follow;
//   - Kaniko's peak memory (its container's cgroup, page cache included, cgroup v1), and the bytes
//     a build of an edit uploads to the registry;
//   - the node's idle CPU: kubelet, containerd, its shims and the App's pods, over a minute with
//     nothing changing.
// Targets on this machine: an edit answers anew within 15 s (median), a first push within 30 s.
// Usage: tsx bench/node.ts [runs] [edits]   (make bench runs it; writes bench/RESULTS.md)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { answer } from '../scripts/lib/answer.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { ROOT } from '../scripts/lib/net.js';
import { ensureTools, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { cpuSecondsOf } from '../scripts/lib/proc.js';
import { exampleTenant } from '../test/helpers/fixtures.js';
import { writeSection } from './section.js';

type Obj = Record<string, any>;
const RUNS = Number(process.argv[2] ?? 3);
const EDITS = Number(process.argv[3] ?? 3);
const IDLE_S = 60;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const say = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

const example = parseYaml(readFileSync(join(ROOT, 'examples/app.yaml'), 'utf8')) as Obj;
/** The example App, its index route answering which version it is. */
const version = (v: number): Obj => {
  const app = structuredClone(example);
  const py = app.spec.files.find((f: Obj) => f.path === 'app.py');
  py.content = py.content.replace('return {"message": os.environ.get("GREETING", "hello")}', `return {"message": os.environ.get("GREETING", "hello"), "version": ${v}}`);
  return app;
};
/** Clients in this process: the bench's own polling must not take CPU from the builds it times (no kubectl processes). */
const clientsOf = (p: Platform) => {
  const kc = new KubeConfig();
  kc.loadFromFile(p.cp.kubeconfig);
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(CustomObjectsApi) };
};
const answersVersion = async (p: Platform, core: CoreV1Api, v: number, all: boolean): Promise<boolean> => {
  const pods = (await core.listNamespacedPod({ namespace: 'acme-dev', labelSelector: 'platform.aerogrid.io/app=hello' })).items
    .filter((pod) => !pod.metadata!.labels?.['batch.kubernetes.io/job-name'] && !pod.metadata!.deletionTimestamp
      && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
  const bodies = await Promise.all(pods.map((pod) => p.node!.httpGet(pod.status!.podIP!, 8080, '/', 2_000).then((r) => r.body, () => '')));
  const mine = bodies.filter((b) => b.includes(`"version":${v}`) || b.includes(`"version": ${v}`));
  return all ? mine.length === bodies.length && mine.length > 0 : mine.length > 0;
};

/**
 * The highest memory use of any build pod's containers so far (cgroup v1 max_usage_in_bytes).
 * Cheap, so that measuring does not slow the build it measures: the build pods are listed in
 * process every second (an earlier version ran kubectl four times a second, beside the builds it
 * measured), and their cgroups are read every 250 ms.
 */
function kanikoPeak(p: Platform, core: CoreV1Api, into: { peak: number }): () => void {
  const root = join('/sys/fs/cgroup/memory', `aerogrid-${p.node!.network.index}`, 'kubepods');
  let uids: string[] = [];
  const list = setInterval(() => {
    core.listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/component=build' })
      .then((pods) => { uids = pods.items.map((x) => x.metadata!.uid!); }, () => {});
  }, 1000);
  const read = setInterval(() => {
    for (const qos of ['', 'burstable', 'besteffort']) {
      for (const uid of uids) {
        const pod = join(root, qos, `pod${uid}`);
        if (!existsSync(pod)) continue;
        for (const c of readdirSync(pod, { withFileTypes: true }).filter((d) => d.isDirectory())) {
          try {
            into.peak = Math.max(into.peak, Number(readFileSync(join(pod, c.name, 'memory.max_usage_in_bytes'), 'utf8')));
          } catch {
            // The container ended between the listing and the read.
          }
        }
      }
    }
  }, 250);
  return () => { clearInterval(list); clearInterval(read); };
}

/** CPU seconds of the node so far: kubelet, containerd and its shims, kube-scheduler, and every pod (its cgroups). */
function nodeCpuSeconds(p: Platform): number {
  const dir = join(p.cp.dir, 'node');
  let total = 0;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(dir) || cmd.includes('kube-scheduler')) total += cpuSecondsOf(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const pods = join('/sys/fs/cgroup/cpuacct', `aerogrid-${p.node!.network.index}`, 'cpuacct.usage');
  return total + (existsSync(pods) ? Number(readFileSync(pods, 'utf8')) / 1e9 : 0);
}

ensureTools();
const rows = { firstAnswer: [] as number[], firstReady: [] as number[], editFirst: [] as number[], editAll: [] as number[], again: [] as number[], uploaded: [] as number[], kaniko: [] as number[], idle: [] as number[] };
for (let run = 1; run <= RUNS; run++) {
  const p = await startPlatform();
  try {
    must(p.cp.apply([exampleTenant()]));
    await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready');
    const memory = { peak: 0 };
    const { core, apps } = clientsOf(p);
    const stopPolling = kanikoPeak(p, core, memory);
    let t = Date.now();
    must(p.cp.apply([version(1)]));
    await waitUntil('the first answer', () => answersVersion(p, core, 1, false), 300_000);
    rows.firstAnswer.push(Date.now() - t);
    await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 300_000);
    rows.firstReady.push(Date.now() - t);
    say(`run ${run}: push → first answer ${s(rows.firstAnswer.at(-1)!)}, Ready ${s(rows.firstReady.at(-1)!)}`);
    for (let v = 2; v <= EDITS + 1; v++) {
      const uploaded = await p.node!.registry.uploadedBytes();
      t = Date.now();
      must(p.cp.apply([version(v)]));
      await waitUntil(`version ${v} to answer`, () => answersVersion(p, core, v, false), 300_000);
      rows.editFirst.push(Date.now() - t);
      await waitUntil(`every pod to answer version ${v}`, async () => (await answersVersion(p, core, v, true)) && (await apps.getNamespacedCustomObject({ group: 'platform.aerogrid.io', version: 'v1alpha1', namespace: 'acme-dev', plural: 'apps', name: 'hello' }) as Obj).status?.phase === 'Ready', 300_000);
      rows.editAll.push(Date.now() - t);
      rows.uploaded.push(await p.node!.registry.uploadedBytes() - uploaded);
      say(`run ${run}: edit ${v - 1} → first new answer ${s(rows.editFirst.at(-1)!)}, every pod ${s(rows.editAll.at(-1)!)}, ${(rows.uploaded.at(-1)! / 1024).toFixed(0)} KiB uploaded`);
    }
    stopPolling();
    rows.kaniko.push(memory.peak);
    // The same source again: applied as a developer's unchanged push would, and no build follows.
    const builds = p.buildsOf('acme-dev', 'hello').length;
    must(p.cp.apply([version(EDITS + 1)]));
    await new Promise((r) => setTimeout(r, 20_000));
    rows.again.push(p.buildsOf('acme-dev', 'hello').length - builds);
    JSON.parse(await answer(p, 'acme-dev', 'hello'));
    // Idle: nothing changes for a minute.
    const cpu0 = nodeCpuSeconds(p);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    rows.idle.push((nodeCpuSeconds(p) - cpu0) / ((Date.now() - t0) / 1000));
    say(`run ${run}: same source again → ${rows.again.at(-1)} build(s); Kaniko peak ${mib(memory.peak)}; node idle ${(rows.idle.at(-1)! * 100).toFixed(1)}% of a core`);
  } finally {
    await p.stop();
  }
}

const line = (what: string, xs: number[], show: (x: number) => string, target = '') => `| ${what} | ${xs.length} | ${show(median(xs))} | ${show(Math.max(...xs))} | ${target} |`;
const table = [
  '## The real node: builds and rollouts',
  '',
  `Generated by \`tsx bench/node.ts ${RUNS} ${EDITS}\` (part of \`make bench\`), ${new Date().toISOString().slice(0, 10)}: ${RUNS} fresh platforms (each node`,
  'has never pulled the base), the example App (Flask and gunicorn from the package index, two replicas) pushed, then',
  `edited ${EDITS} times (app.py only: pip's layer comes from Kaniko's cache). Kaniko v1.25.5 (Chainguard's fork) builds on the`,
  'real node (kubelet v1.32.2, containerd 1.6.20), pushes to the local registry, and the node pulls from it. An answer is',
  "a GET of the App's index route from a Ready pod, by its IP; \"first\" is the first pod that answers the new version,",
  '"every pod" the end of the rollout (maxSurge 1, maxUnavailable 0: the old pods serve until then).',
  '',
  '| what | samples | median | max | target |',
  '|---|---|---|---|---|',
  line('push → first HTTP answer (first build, cold base on the node)', rows.firstAnswer, s, '≤ 30 s'),
  line('push → App Ready (both pods)', rows.firstReady, s),
  line('edit → first answer of the new version', rows.editFirst, s, '≤ 15 s'),
  line('edit → every pod answers the new version', rows.editAll, s),
  line('the same source again → builds', rows.again, (x) => String(x), '0'),
  line("an edit's build: bytes uploaded to the registry", rows.uploaded, (b) => `${(b / 1024).toFixed(0)} KiB`),
  line("Kaniko's peak memory (cgroup v1, page cache included)", rows.kaniko, mib),
  line('the node idle (kubelet, containerd, shims, the pods), % of a core', rows.idle, (x) => `${(x * 100).toFixed(1)}%`),
  '',
].join('\n');
console.log(table);
writeSection('node', table);
