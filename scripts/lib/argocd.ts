// Real Argo CD on the local control plane, run the way its manifests run it in a cluster, minus
// the kubelet: redis, argocd-repo-server, argocd-application-controller and
// argocd-applicationset-controller as local processes on 127.0.0.1 (one multi-call binary, built
// from source by scripts/tools.sh argocd; ARGOCD_BINARY_NAME picks the component).
//
// Out of cluster, `ARGOCD_FAKE_IN_CLUSTER=true` with KUBECONFIG makes the in-cluster destination
// (https://kubernetes.default.svc) mean this control plane. A base install's CRDs, argocd-*
// ConfigMaps and Secret are applied from Argo CD's own manifests. What argocd-server would make on
// its first start is made here: the `default` AppProject, and argocd-secret's server.secretkey
// (the applicationset controller refuses to start without it). argocd-server itself (the UI and
// API) is not started: everything is read from the Application objects, Argo CD's own record.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureTool, toolPath, type ControlPlane } from './controlplane.js';
import { waitUntil } from './crossplane.js';
import { getObject, installCrds, must } from './install.js';
import { freePort } from './net.js';
import { memoryOf } from './proc.js';

type Obj = Record<string, any>;

export const ARGOCD_NAMESPACE = 'argocd';

export interface ArgoCD {
  version: string;
  logs(): string;
  application(name: string): Obj | undefined;
  applications(): Obj[];
  /** Resident memory of each Argo CD process (redis included), in bytes. */
  rss(): Record<string, number>;
  stop(): Promise<void>;
}

export interface ArgoCDOptions {
  say?: (msg: string) => void;
}

/** Resident memory of a child in bytes; 0 once it has exited. */
function rssOf(pid: number | undefined): number {
  try {
    return pid ? memoryOf(pid).rss : 0;
  } catch {
    return 0;
  }
}

export async function startArgoCD(cp: ControlPlane, opts: ArgoCDOptions = {}): Promise<ArgoCD> {
  const say = opts.say ?? (() => {});
  const bin = ensureTool('argocd');
  const share = toolPath('argocd-share');
  const dir = join(cp.dir, 'argocd');
  mkdirSync(join(dir, 'home'), { recursive: true });

  // A base install: CRDs, the namespace, the argocd-* ConfigMaps and Secret, the default project.
  installCrds(cp, readdirSync(join(share, 'crds')).filter((f) => f.endsWith('-crd.yaml')).sort()
    .map((f) => parseYaml(readFileSync(join(share, 'crds', f), 'utf8'))));
  must(cp.kubectl('create', 'namespace', ARGOCD_NAMESPACE));
  const config = readdirSync(join(share, 'config')).filter((f) => f.startsWith('argocd-') && f.endsWith('.yaml')).sort()
    .map((f) => parseYaml(readFileSync(join(share, 'config', f), 'utf8')) as Obj)
    .map((o): Obj => ({ ...o, metadata: { ...o.metadata, namespace: ARGOCD_NAMESPACE } }))
    // The key argocd-server generates on its first start; the applicationset controller needs it.
    .map((o) => (o.kind === 'Secret' ? { ...o, stringData: { 'server.secretkey': randomBytes(32).toString('base64url') } } : o));
  must(cp.apply([...config, {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
    spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
  }]));

  const [redisPort, repoPort, repoMetrics, ctrlMetrics, setMetrics, setProbe, setWebhook] =
    await Promise.all(Array.from({ length: 7 }, () => freePort()));
  let logs = '';
  const children = new Map<string, ChildProcess>();
  const env = {
    ...process.env, KUBECONFIG: cp.kubeconfig, ARGOCD_FAKE_IN_CLUSTER: 'true', ARGOCD_GPG_ENABLED: 'false',
    HOME: join(dir, 'home'), PATH: `${join(share, 'bin')}:${process.env.PATH}`,
  };
  const run = (name: string, file: string, args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(file, args, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      logs += d.toString().split('\n').filter(Boolean).map((l) => `[${name}] ${l}\n`).join('');
      if (logs.length > 4 << 20) logs = logs.slice(-(2 << 20));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    children.set(name, child);
    return child;
  };
  const component = (name: string, args: string[]) => run(name, bin, args, { ARGOCD_BINARY_NAME: name });

  run('redis', '/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning']);
  const redis = `127.0.0.1:${redisPort}`;
  const repoServer = `127.0.0.1:${repoPort}`;
  component('argocd-repo-server', ['--address', '127.0.0.1', '--port', String(repoPort), '--metrics-address', '127.0.0.1', '--metrics-port', String(repoMetrics),
    '--redis', redis, '--disable-tls', '--client-ca-path=', '--loglevel', 'warn']);
  component('argocd-application-controller', ['--kubeconfig', cp.kubeconfig, '--namespace', ARGOCD_NAMESPACE, '--repo-server', repoServer, '--repo-server-plaintext',
    '--redis', redis, '--metrics-port', String(ctrlMetrics), '--loglevel', 'warn',
    // Each resource's health in the Application's status, as Argo CD 2.x kept it by default: the
    // tests read Argo CD's own verdicts (its Lua engine running dist/argocd's checks) from there.
    '--persist-resource-health']);
  component('argocd-applicationset-controller', ['--kubeconfig', cp.kubeconfig, '--namespace', ARGOCD_NAMESPACE, '--argocd-repo-server', repoServer, '--repo-server-plaintext',
    '--metrics-addr', `127.0.0.1:${setMetrics}`, '--probe-addr', `127.0.0.1:${setProbe}`, '--webhook-addr', `127.0.0.1:${setWebhook}`, '--loglevel', 'warn']);
  const stop = async () => {
    for (const c of [...children.values()].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  };
  const exited = () => [...children.entries()].filter(([, c]) => c.exitCode !== null).map(([n, c]) => `${n} exited with ${c.exitCode}`);
  try {
    const probes: Record<string, string> = {
      'argocd-repo-server': `http://127.0.0.1:${repoMetrics}/metrics`,
      'argocd-application-controller': `http://127.0.0.1:${ctrlMetrics}/metrics`,
      'argocd-applicationset-controller': `http://127.0.0.1:${setMetrics}/metrics`,
    };
    let down: string[] = [];
    await waitUntil('Argo CD to start', async () => {
      if (exited().length) throw new Error(`Argo CD did not start: ${exited().join(', ')}\n${logs.slice(-3000)}`);
      down = [];
      for (const [name, url] of Object.entries(probes)) if (!(await fetch(url).catch(() => undefined))?.ok) down.push(`${name} (${url})`);
      return down.length === 0;
    }, 60_000, () => `not answering: ${down.join(', ')}\n${logs.slice(-3000)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const version = readFileSync(join(share, 'VERSION'), 'utf8').trim();
  say(`Argo CD ${version} started out of cluster: redis, repo-server, application-controller, applicationset-controller`);
  return {
    version,
    logs: () => logs,
    application: (name) => getObject(cp, 'applications.argoproj.io', name, ARGOCD_NAMESPACE),
    applications: () => getObject(cp, 'applications.argoproj.io', undefined, ARGOCD_NAMESPACE)?.items ?? [],
    rss: () => Object.fromEntries([...children.entries()].map(([n, c]) => [n, rssOf(c.pid)])),
    stop,
  };
}
