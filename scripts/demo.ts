// make demo: the main job, end to end, on this machine, with Crossplane core doing the reconciling.
//
// Builds (or reuses) the pinned etcd, kube-apiserver, kube-controller-manager, kubectl and
// Crossplane core and CLI; starts them on 127.0.0.1; publishes aerogrid's Function and
// Configuration packages to a local registry and installs them through Crossplane's package
// manager; applies the example Tenant and App, and follows them to Ready.
//
// One thing cannot run here and is played by this script, which says SIMULATED when it does:
// the kubelet (no container runtime: the build Job is marked running then succeeded, and the
// Deployment available). The function runs as a local process over mTLS with a certificate from
// Crossplane's CA (scripts/lib/runtime.ts), where a cluster would run it as a Deployment.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { must } from './lib/install.js';
import { ROOT } from './lib/net.js';
import { ensureTools, startPlatform, waitForPhase, type Platform } from './lib/platform.js';
import { toolPath } from './lib/controlplane.js';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (msg: string) => console.log(`[${elapsed().padStart(6)}] ${msg}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

let platform: Platform | undefined;

async function main(): Promise<void> {
  say('building or reusing the pinned etcd, kube-apiserver, kube-controller-manager, kubectl, Crossplane core and CLI (scripts/tools.sh control-plane)');
  ensureTools();
  const toolsDone = Date.now();

  say('starting etcd, kube-apiserver (RBAC, Pod Security) and kube-controller-manager on 127.0.0.1, then Crossplane core');
  platform = await startPlatform({ say });
  const { cp, xp, kubelet } = platform;
  const upDone = Date.now();

  const tenant = parse(readFileSync(join(ROOT, 'examples/tenant.yaml'), 'utf8'));
  const app = parse(readFileSync(join(ROOT, 'examples/app.yaml'), 'utf8'));
  say('kubectl apply -f examples/tenant.yaml');
  const tenantAt = Date.now();
  must(cp.apply([tenant]));
  await follow(platform, 'Tenant', 'acme', undefined);
  const tenantReady = Date.now();

  say('kubectl apply -f examples/app.yaml (as the tenant admin would)');
  const appAt = Date.now();
  must(cp.apply([app]));
  const ready = await follow(platform, 'App', 'hello', 'acme-dev');
  const appReady = Date.now();

  console.log(`\n$ crossplane version (core)\n${xp.version}`);
  console.log('\n$ kubectl get functions,configurations');
  console.log(cp.kubectl('get', 'functions,configurations').stdout);
  console.log('$ kubectl get tenants');
  console.log(cp.kubectl('get', 'tenants').stdout);
  console.log('$ kubectl get apps -n acme-dev -o wide');
  console.log(cp.kubectl('get', 'apps', '-n', 'acme-dev', '-o', 'wide').stdout);
  console.log(`App URL: ${ready.status.url}  (access: ${ready.status.access}; a valid Auth0 JWT from an allowed group is required)`);
  console.log(`Image:   ${ready.status.image}\n`);
  for (const [kind, name, ns] of [['tenant', 'acme'], ['app', 'hello', 'acme-dev']] as const) {
    console.log(`$ crossplane resource trace ${kind} ${name}${ns ? ` -n ${ns}` : ''}`);
    console.log(trace(platform, kind, name, ns));
  }
  console.log(`builds run: ${kubelet.buildsOf('acme-dev', 'hello').length} (${kubelet.buildsOf('acme-dev', 'hello').join(', ')})`);
  console.log(`timings: tools ${seconds(toolsDone - started)}, control plane and Crossplane up with aerogrid installed ${seconds(upDone - toolsDone)}, `
    + `Tenant applied → Ready ${seconds(tenantReady - tenantAt)}, App applied → Ready ${seconds(appReady - appAt)} (the build and rollout simulated), total ${elapsed()}`);
}

/** Follows an XR to Ready, printing each change of phase as Crossplane and the function report it. */
async function follow(p: Platform, kind: string, name: string, namespace: string | undefined) {
  let last = '';
  const timer = setInterval(() => {
    const o = p.get(kind, name, namespace);
    const line = `${o?.status?.phase ?? '(no status yet)'}: ${o?.status?.message ?? ''}`;
    if (line !== last) say(`  ${kind} ${name} → ${line}`);
    last = line;
  }, 100);
  try {
    const o = await waitForPhase(p, kind, name, namespace, 'Ready', 120_000);
    const line = `${o.status.phase}: ${o.status.message ?? ''}`;
    if (line !== last) say(`  ${kind} ${name} → ${line}`);
    return o;
  } finally {
    clearInterval(timer);
  }
}

function trace(p: Platform, kind: string, name: string, namespace?: string): string {
  const r = spawnSync(toolPath('crossplane-cli'), ['resource', 'trace', kind, name, ...(namespace ? ['-n', namespace] : [])], {
    env: { ...process.env, KUBECONFIG: p.cp.kubeconfig }, encoding: 'utf8', timeout: 60_000,
  });
  return r.status === 0 ? r.stdout : `(crossplane resource trace failed: ${r.stderr.trim()})\n`;
}

try {
  await main();
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  if (process.env.KEEP && platform && !process.exitCode) {
    say(`KEEP: the control plane stays up; KUBECONFIG=${platform.cp.kubeconfig}; Ctrl-C stops it`);
    await new Promise<void>((r) => process.once('SIGINT', () => r()));
  }
  await platform?.stop();
}
