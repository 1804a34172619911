// The in-cluster install's figures (issue 30), on a fresh platform per run:
//   - empty cluster → example Tenant Ready, in steps: the control plane and the node (with
//     kube-proxy and CoreDNS), `helm install` of Crossplane's chart until its pods are Ready, the
//     packages published and installed (the Function's pods Ready, the XRDs established), and the
//     example Tenant applied until Ready;
//   - the whole platform at rest, pod by pod (kubelet's summary API: each pod's CPU over a
//     minute and its working set, as `kubectl top` would show them) and process by process for
//     what runs on the host (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
//     kubelet, containerd, kube-proxy, the registry, the package index, dnsmasq).
// A wall time on this machine is noisy: each step is also given as a share of the whole run.
// The images (aerogrid's, core's) are built before the first run and not counted: a platform team
// pulls them.
// Usage: tsx bench/install.ts [runs]   (make bench runs it; writes bench/RESULTS.md)
import { readdirSync, readFileSync } from 'node:fs';
import { aerogridImages } from '../scripts/lib/images.js';
import { must } from '../scripts/lib/install.js';
import { ensureTools, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { podStats } from '../scripts/lib/node.js';
import { cpuSecondsOf, memoryOf } from '../scripts/lib/proc.js';
import { exampleTenant } from '../test/helpers/fixtures.js';
import { writeSection } from './section.js';

type Obj = Record<string, any>;
const RUNS = Number(process.argv[2] ?? 3);
const IDLE_S = 60;
const say = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

ensureTools();
await aerogridImages(say);

const HOST = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'containerd', 'kube-proxy', 'docker-registry', 'pypiserver', 'dnsmasq'];
/** The platform's host processes by name, with their pids (this run's only: they name its folder or its network). */
function hostProcesses(p: Platform): Map<string, number[]> {
  const found = new Map<string, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const text = cmd.join(' ');
    if (!text.includes(p.cp.dir) && !text.includes(p.node.network.hostIp)) continue;
    const base = cmd[0].split('/').pop()!;
    const key = cmd.includes('pypiserver') ? 'pypiserver' : HOST.find((h) => h === base);
    if (key) found.set(key, [...(found.get(key) ?? []), Number(entry)]);
  }
  return found;
}
const sum = (pids: number[], f: (pid: number) => number) => pids.reduce((a, pid) => {
  try {
    return a + f(pid);
  } catch {
    return a;
  }
}, 0);

const steps: Record<string, number[]> = { node: [], helm: [], packages: [], tenant: [], total: [] };
let idle: { pods: [string, number, number][]; host: [string, number, number][] } | undefined;

for (let run = 1; run <= RUNS; run++) {
  const t0 = Date.now();
  const marks: Record<string, number> = {};
  const p = await startPlatform({
    say: (m) => {
      if (m.startsWith('node ') && m.includes(' Ready')) marks.node = Date.now();
      if (m.startsWith('Crossplane ') && m.includes('installed with helm')) marks.helm = Date.now();
      if (m.startsWith('installed configuration-aerogrid')) marks.packages = Date.now();
    },
  });
  try {
    must(p.cp.apply([exampleTenant()]));
    await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready', 120_000);
    const end = Date.now();
    steps.node.push(marks.node - t0);
    steps.helm.push(marks.helm - marks.node);
    steps.packages.push(marks.packages - marks.helm);
    steps.tenant.push(end - marks.packages);
    steps.total.push(end - t0);
    say(`run ${run}: empty cluster → Tenant Ready in ${s(end - t0)} (node ${s(marks.node - t0)}, helm ${s(marks.helm - marks.node)}, packages ${s(marks.packages - marks.helm)}, Tenant ${s(end - marks.packages)})`);
    if (run === RUNS) {
      // At rest: a minute after the Tenant is Ready, measured over the next minute.
      await new Promise((r) => setTimeout(r, 60_000));
      const pods0 = await podStats(p.cp, p.node.name);
      const host = hostProcesses(p);
      const cpu0 = new Map([...host].map(([k, pids]) => [k, sum(pids, cpuSecondsOf)]));
      const w0 = Date.now();
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      const wall = (Date.now() - w0) / 1000;
      const pods1 = await podStats(p.cp, p.node.name);
      idle = {
        pods: [...pods1].filter(([k]) => pods0.has(k)).map(([k, v]) => [k.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$/, '-…'), (v.cpu - pods0.get(k)!.cpu) / wall, v.memory]),
        host: [...host].map(([k, pids]) => [k, (sum(pids, cpuSecondsOf) - cpu0.get(k)!) / wall, sum(pids, (pid) => memoryOf(pid).rss)]),
      };
    }
  } finally {
    await p.stop();
  }
}

const row = (label: string, xs: number[]) => `| ${label} | ${s(median(xs))} | ${xs.map(s).join(', ')} | ${((median(xs) / median(steps.total)) * 100).toFixed(0)}% |`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const table = `## The in-cluster install (bench/install.ts)

\`tsx bench/install.ts ${RUNS}\`, ${new Date().toISOString().slice(0, 10)}: ${RUNS} fresh platforms, each from nothing to the
example Tenant Ready. Crossplane v2.3.4 from its Helm chart (core's image from the source archive),
then aerogrid's Configuration and Function through Crossplane's package manager, the function run
by Crossplane's Deployment runtime (two replicas, examples/platform/function-runtime.yaml).
The images are built beforehand (a platform team pulls them).

| step | median | runs | share of the whole |
|---|---|---|---|
${row('control plane and node (kube-proxy, CoreDNS Ready)', steps.node)}
${row('`helm install` of Crossplane until its pods are Ready', steps.helm)}
${row('packages published and installed (function pods Ready, XRDs established)', steps.packages)}
${row('example Tenant applied → Ready', steps.tenant)}
${row('**empty cluster → example Tenant Ready**', steps.total)}

The platform at rest (the last run, a minute after the Tenant was Ready, over ${IDLE_S} s), pod by pod
(kubelet's summary API) and, for what runs on the host, process by process:

| pod | CPU (share of a core) | memory (working set) |
|---|---|---|
${idle!.pods.sort((a, b) => a[0].localeCompare(b[0])).map(([k, cpu, mem]) => `| ${k} | ${pct(cpu)} | ${mib(mem)} |`).join('\n')}
| **all pods** | ${pct(idle!.pods.reduce((a, x) => a + x[1], 0))} | ${mib(idle!.pods.reduce((a, x) => a + x[2], 0))} |

| host process | CPU (share of a core) | memory (RSS) |
|---|---|---|
${idle!.host.sort((a, b) => HOST.indexOf(a[0]) - HOST.indexOf(b[0])).map(([k, cpu, mem]) => `| ${k} | ${pct(cpu)} | ${mib(mem)} |`).join('\n')}
| **all host processes** | ${pct(idle!.host.reduce((a, x) => a + x[1], 0))} | ${mib(idle!.host.reduce((a, x) => a + x[2], 0))} |

`;
writeSection('install', table);
console.log(table);
