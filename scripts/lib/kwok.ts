// SIMULATED: a node for the Apps' pods, for make scale (bench/scale.ts) only. 1,000 real builds
// (about 20 s and 800 MiB each) and 2,000 pods cannot run on this machine, so KWOK
// (kubernetes-sigs/kwok, built by scripts/tools.sh) plays their kubelet: it registers a Node and
// moves the pods the scheduler binds to it through their phases, as its own stages say (fast:
// Ready at once; a Job's pod Succeeded after `jobPodMs`; deleted when asked). Everything else is
// the real platform: the scheduler, the Job, Deployment and ReplicaSet controllers, kube-proxy,
// Crossplane and the function on the real node, which the platform taints so that only its own
// pods run there (`keepForPlatform`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { ensureTool, toolPath, type ControlPlane } from './controlplane.js';
import { must } from './install.js';
import { waitUntil } from './crossplane.js';

type Obj = Record<string, any>;

/**
 * What keeps the real node for the platform, as kubeadm marks a control-plane node: a label the
 * platform's pods select, and a taint that keeps every other pod away (a toleration alone would
 * let the platform's pods land on the simulated node too).
 */
export const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';
export const PLATFORM_PLACEMENT = {
  nodeSelector: { [CONTROL_PLANE_ROLE]: '' },
  tolerations: [{ key: CONTROL_PLANE_ROLE, operator: 'Exists', effect: 'NoSchedule' }],
};

/** Labels and taints the real node so that only the platform's pods (PLATFORM_PLACEMENT) run there from now on. */
export function keepForPlatform(cp: ControlPlane, node: string): void {
  must(cp.kubectl('label', 'node', node, `${CONTROL_PLANE_ROLE}=`));
  must(cp.kubectl('taint', 'node', node, `${CONTROL_PLANE_ROLE}=:NoSchedule`));
}

export interface SimulatedNodeOptions {
  say?: (msg: string) => void;
  /** How long a Job's pod runs before it succeeds (a build). */
  jobPodMs: number;
}

export interface SimulatedNode {
  name: string;
  logs(): string;
  stop(): Promise<void>;
}

/** KWOK's stages from its module (tools.sh copies them), with a Job's pod held `jobPodMs` before it completes. */
export function kwokStages(stagesDir: string, opts: { jobPodMs: number }): string {
  const stages = readdirSync(stagesDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => parseYaml(readFileSync(join(stagesDir, f), 'utf8')) as Obj);
  const complete = stages.find((s) => s.metadata?.name === 'pod-complete');
  if (!complete) throw new Error(`no pod-complete stage in ${stagesDir}`);
  complete.spec.delay = { durationMilliseconds: opts.jobPodMs };
  return stages.map((d) => stringify(d)).join('---\n');
}

export async function startSimulatedNode(cp: ControlPlane, opts: SimulatedNodeOptions): Promise<SimulatedNode> {
  const say = opts.say ?? (() => {});
  const bin = ensureTool('kwok');
  const dir = join(cp.dir, 'kwok');
  mkdirSync(dir, { recursive: true });
  const name = 'apps-simulated';
  const config = join(dir, 'kwok.yaml');
  writeFileSync(config, kwokStages(toolPath('kwok-stages'), { jobPodMs: opts.jobPodMs }));
  let logs = '';
  const child: ChildProcess = spawn(bin, [`--config=${config}`, `--kubeconfig=${cp.kubeconfig}`, '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    // The pods' addresses are fake: nothing answers there. A Lease renewed as a kubelet's is (else
    // the node lifecycle controller marks the node NotReady and evicts its pods).
    '--cidr=10.255.0.1/16', '--node-ip=10.255.255.254', '--node-lease-duration-seconds=40'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (logs = (logs + d).slice(-200_000)));
  child.stderr!.on('data', (d) => (logs = (logs + d).slice(-200_000)));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  };
  try {
    must(cp.apply([{
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' } },
    }]));
    await waitUntil(`the simulated node ${name} Ready`, () => {
      const node = JSON.parse(cp.kubectl('get', 'node', name, '-o', 'json').stdout || '{}');
      return (node.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    }, 60_000, () => logs.slice(-3000));
  } catch (err) {
    await stop();
    throw err;
  }
  say(`SIMULATED: node ${name} (KWOK): the Apps' pods run there, a Job's pod succeeds after ${opts.jobPodMs} ms`);
  return { name, logs: () => logs, stop };
}
