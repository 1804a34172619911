// make demo: the main job, end to end, on this machine.
//
// Builds (or reuses) the pinned control plane, starts etcd, kube-apiserver and
// kube-controller-manager on 127.0.0.1, installs aerogrid from dist/, starts the function
// over mTLS, applies the example Tenant and App, and reconciles them until the App is Ready.
// Two things cannot run here and are played by this script, which says so when it does:
// Crossplane core (its modules are refused by the Go module proxy; scripts/lib/composer.ts
// stands in for its composite reconciler) and the kubelet (no container runtime: the build
// Job is marked succeeded and the Deployment available).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Composer, type Outcome, type XrRef } from './lib/composer.js';
import { startControlPlane, type ControlPlane } from './lib/controlplane.js';
import { FunctionRunnerServiceClient, mtlsCredentials, startFunction, type FunctionProcess } from './lib/function.js';
import { compositionInput, installAerogrid, must } from './lib/install.js';
import { playKubelet } from './lib/kubelet.js';
import { ROOT } from './lib/net.js';
import { makePki } from './lib/pki.js';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (msg: string) => console.log(`[${elapsed().padStart(6)}] ${msg}`);
const simulated = (msg: string) => console.log(`[${elapsed().padStart(6)}] SIMULATED: ${msg}`);

let cp: ControlPlane | undefined;
let fn: FunctionProcess | undefined;

async function main(): Promise<void> {
  say('building or reusing the pinned etcd, kube-apiserver, kube-controller-manager and kubectl (scripts/tools.sh)');
  if (spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'all'], { stdio: 'inherit' }).status !== 0) throw new Error('scripts/tools.sh failed');
  const toolsDone = Date.now();

  say('starting etcd, kube-apiserver (RBAC, default admission plugins) and kube-controller-manager on 127.0.0.1');
  cp = await startControlPlane({ controllers: true });
  const upDone = Date.now();
  say('installing aerogrid from dist/: CRDs of the Tenant and App XRDs, Istio CRDs, the function input CRD, the ClusterRole, the deletion policy');
  installAerogrid(cp);

  say('starting the aerogrid function over mTLS (client certificates required)');
  const pki = makePki();
  fn = await startFunction(['--tls-certs-dir', pki.serverDir]);
  const client = new FunctionRunnerServiceClient(fn.address, mtlsCredentials(pki.ca, pki.client));
  const composer = new Composer(cp, client, compositionInput());
  say('Crossplane core is not available here (github.com/crossplane/* is refused by the Go module proxy); scripts/lib/composer.ts plays its composite reconciler');

  const tenant = parse(readFileSync(join(ROOT, 'examples/tenant.yaml'), 'utf8'));
  const app = parse(readFileSync(join(ROOT, 'examples/app.yaml'), 'utf8'));
  say('kubectl apply examples/tenant.yaml');
  must(cp.apply([tenant]));
  const tenantRef: XrRef = { kind: 'Tenant', name: 'acme' };
  const tenantOutcome = await until('Tenant acme Ready', () => composer.reconcile(tenantRef), (o) => o.status.phase === 'Ready');

  say('kubectl apply examples/app.yaml (as the tenant admin would)');
  const appliedAt = Date.now();
  must(cp.apply([app]));
  const appRef: XrRef = { kind: 'App', name: 'hello', namespace: 'acme-dev' };
  await until('App hello Ready', () => composer.reconcile(appRef), (o) => o.status.phase === 'Ready', (o) => playKubelet(cp!, o, simulated));
  // One more pass, as Crossplane would: status now records the build, so the Job is let go.
  const settled = await composer.reconcile(appRef);
  // And once more for the Tenant, whose status now counts the App.
  await composer.reconcile(tenantRef);
  const readyAt = Date.now();

  console.log('\n$ kubectl get tenants');
  console.log(cp.kubectl('get', 'tenants').stdout);
  console.log('$ kubectl get apps -n acme-dev -o wide');
  console.log(cp.kubectl('get', 'apps', '-n', 'acme-dev', '-o', 'wide').stdout);
  console.log(`App URL: ${settled.status.url}  (access: ${settled.status.access}; a valid Auth0 JWT from an allowed group is required)`);
  console.log(`Image:   ${settled.status.image}\n`);
  printTree('Tenant/acme', tenantOutcome);
  printTree('App/acme-dev/hello', settled);
  console.log(`\nbuild Job and build context after Ready: ${'job' in settled.composed ? 'still desired' : 'released (the same source is never built again)'}`);
  console.log(`timings: tools ${((toolsDone - started) / 1000).toFixed(1)}s, control plane up ${((upDone - toolsDone) / 1000).toFixed(1)}s, App applied → Ready ${((readyAt - appliedAt) / 1000).toFixed(1)}s (the build and rollout simulated), total ${elapsed()}`);
}

/** Reconciles until done(), as Crossplane's requeue would, printing each change of phase. */
async function until(what: string, step: () => Promise<Outcome>, done: (o: Outcome) => boolean, between?: (o: Outcome) => void): Promise<Outcome> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    const o = await step();
    if (o.fatal) throw new Error(`${what}: FATAL: ${o.fatal}`);
    const line = `${o.status.phase}: ${o.status.message ?? ''}`;
    if (line !== last) say(`  ${what.split(' ').slice(0, 2).join(' ')} → ${line}`);
    last = line;
    if (done(o)) return o;
    between?.(o);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not reached after 40 reconciles (last: ${last})`);
}

function printTree(root: string, o: Outcome): void {
  console.log(root);
  const entries = Object.values(o.composed).sort((a, b) => `${a.namespace ?? ''}/${a.kind}/${a.name}`.localeCompare(`${b.namespace ?? ''}/${b.kind}/${b.name}`));
  entries.forEach((r, i) => {
    console.log(`${i === entries.length - 1 ? '└─' : '├─'} ${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.ready ? '' : '  (not ready)'}`);
  });
}

try {
  await main();
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await fn?.stop();
  await cp?.stop();
}
