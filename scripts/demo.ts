// make demo: the main job, end to end, on this machine, with Crossplane core doing the reconciling.
//
// Builds (or reuses) the pinned etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet,
// kube-scheduler, kube-proxy, CoreDNS, helm, Crossplane core and CLI, Kaniko and the images;
// starts the control plane and a real node (scripts/lib/node.ts: Debian's containerd, the
// registry, the package index, cluster DNS and Services); installs Crossplane with helm from its
// chart; publishes aerogrid's Function (its image embedded) and Configuration packages to the
// registry and installs them through Crossplane's package manager, whose Deployment runtime runs
// the function as Pods with the TLS Secrets Crossplane made; applies the example Tenant, then
// pushes the example App as a developer: Kaniko builds it, its pods run, and the demo ends with
// what the App answers over HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { createServer } from 'node:net';
import type { RunningConsole } from '../src/console/server.js';
import { answer, answerWhen, readyPods } from './lib/answer.js';
import { startConsolePlatform } from './lib/console.js';
import { toolPath } from './lib/controlplane.js';
import { must } from './lib/install.js';
import { ROOT, freePort } from './lib/net.js';
import { ensureTools, waitForPhase, type Platform } from './lib/platform.js';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (msg: string) => console.log(`[${elapsed().padStart(6)}] ${msg}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

let platform: Platform | undefined;
let web: RunningConsole | undefined;
/** Set by make up: where the kubeconfigs and the example folder go, and the control plane stays up. */
const upDir = process.env.AEROGRID_UP_DIR;

async function main(): Promise<void> {
  say('building or reusing the pinned etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet, kube-scheduler, kube-proxy, CoreDNS, helm, Crossplane core and CLI, Kaniko and the images (scripts/tools.sh control-plane)');
  ensureTools();
  const toolsDone = Date.now();

  say('starting the local identity provider (oidc-provider, standing in for Auth0), etcd, kube-apiserver (RBAC, Pod Security, trusting the provider\'s ID tokens), kube-controller-manager, a real node (kubelet, kube-scheduler, kube-proxy, containerd, CoreDNS), then Crossplane with helm, and the web console as a Deployment (dist/console/)');
  const started_ = await startConsolePlatform({ say, address: `127.0.0.1:${await consolePort()}` });
  platform = started_.platform;
  web = started_.console;
  const { cp, xp } = platform;
  const upDone = Date.now();

  const tenant = parse(readFileSync(join(ROOT, 'examples/tenant.yaml'), 'utf8'));
  const app = parse(readFileSync(join(ROOT, 'examples/app.yaml'), 'utf8'));
  say('kubectl apply -f examples/tenant.yaml');
  const tenantAt = Date.now();
  must(cp.apply([tenant]));
  await follow(platform, 'Tenant', 'acme', undefined);
  const tenantReady = Date.now();

  // The developer's story, with the CLI, as a developer of the tenant: a real client
  // certificate from the API server's CA (user dana, group acme-developers), no admin rights.
  const developer = cp.kubeconfigFor('dana', ['acme-developers'], 'acme-dev');
  const work = upDir ?? mkdtempSync(join(tmpdir(), 'aerogrid-demo-'));
  mkdirSync(work, { recursive: true });
  const kubeconfig = upDir ? join(upDir, 'developer.kubeconfig') : developer;
  if (upDir) {
    copyFileSync(developer, kubeconfig);
    copyFileSync(cp.kubeconfig, join(upDir, 'admin.kubeconfig'));
  }
  say(`a developer's kubeconfig: ${kubeconfig} (user dana in group acme-developers of tenant acme; a client certificate, no admin rights)`);
  const folder = join(work, 'hello');
  mkdirSync(folder, { recursive: true });
  for (const f of app.spec.files as { path: string; content: string }[]) writeFileSync(join(folder, f.path), f.content);
  say(`the example App's files (examples/app.yaml) as a developer's folder: ${folder}`);
  const cli = (...args: string[]) => aerogrid(kubeconfig, args);

  const appAt = Date.now();
  await cli('push', folder, '--wait');
  const appReady = Date.now();
  await showAnswer(platform);
  const answeredAt = Date.now();
  await cli('status', 'hello');
  const appPy = readFileSync(join(folder, 'app.py'), 'utf8');
  writeFileSync(join(folder, 'app.py'), appPy.replace('return {"message": os.environ.get("GREETING", "hello")}', 'return {"message": os.environ.get("GREETING", "hello"), "release": 2}'));
  say(`edited ${join(folder, 'app.py')}: the App now says which release it is`);
  const editAt = Date.now();
  await cli('push', folder, '--wait');
  await answerWhen(platform, 'acme-dev', 'hello', (b) => b.includes('"release"'));
  const editAnswered = Date.now();
  await showAnswer(platform);
  await cli('logs', 'hello', '--build');
  const builds = platform.buildsOf('acme-dev', 'hello');
  if (builds.length !== 2) throw new Error(`expected exactly one build per distinct source (2), saw ${builds.length}: ${builds.join(', ')}`);
  await cli('releases', 'hello');
  await cli('rollback', 'hello', '--wait');
  await cli('releases', 'hello');
  await cli('list', '-A');
  const ready = platform.get('App', 'hello', 'acme-dev')!;

  console.log(`\n$ crossplane version (core)\n${xp.version}`);
  console.log('\n$ kubectl get pkg');
  console.log(cp.kubectl('get', 'pkg').stdout);
  console.log('$ kubectl get pods -n crossplane-system    # core and the RBAC manager from the chart; the function, made by Crossplane');
  console.log(cp.kubectl('get', 'pods', '-n', 'crossplane-system').stdout);
  console.log('$ kubectl get tenants');
  console.log(cp.kubectl('get', 'tenants').stdout);
  console.log('$ kubectl get apps -n acme-dev -o wide');
  console.log(cp.kubectl('get', 'apps', '-n', 'acme-dev', '-o', 'wide').stdout);
  console.log(`App URL: ${ready.status.url}  (access: ${ready.status.access}; a valid Auth0 JWT from an allowed group is required)`);
  console.log(`Image:   ${ready.status.image} (revision ${ready.status.revision}, rolled back)\n`);
  for (const [kind, name, ns] of [['tenant', 'acme'], ['app', 'hello', 'acme-dev']] as const) {
    console.log(`$ crossplane resource trace ${kind} ${name}${ns ? ` -n ${ns}` : ''}`);
    console.log(trace(platform, kind, name, ns));
  }
  console.log(`builds run: ${platform.buildsOf('acme-dev', 'hello').length} (${platform.buildsOf('acme-dev', 'hello').join(', ')}), by Kaniko on node ${platform.node!.name}`);
  console.log('\n$ kubectl get pods -n acme-dev -o wide');
  console.log(cp.kubectl('get', 'pods', '-n', 'acme-dev', '-o', 'wide').stdout);
  console.log('After the rollback, the first release answers again:');
  await answerWhen(platform, 'acme-dev', 'hello', (b) => !b.includes('"release"'));
  await showAnswer(platform);
  console.log(`timings: tools ${seconds(toolsDone - started)}, control plane, node and Crossplane up with aerogrid installed ${seconds(upDone - toolsDone)}, `
    + `Tenant applied → Ready ${seconds(tenantReady - tenantAt)}, App pushed → Ready ${seconds(appReady - appAt)} (built by Kaniko, two pods rolled out) → answered ${seconds(answeredAt - appAt)}, `
    + `edit → new answer ${seconds(editAnswered - editAt)}, total ${elapsed()}`);
  console.log(`
The web console: ${web!.url}/?ns=acme-dev
  Sign in as dana, password dana-pass (a developer of acme; also ava/ava-pass, an admin of acme, and gil/gil-pass of globex).
  The identity provider's page (${platform.idp!.issuer}) has a certificate from this run's own CA: your browser asks
  you to accept it once (or trust ${join(cp.dir, 'ca.crt')}). Open hello, edit app.py, Save, and watch it build and go Ready.
  (The CLI pushed hello's files above, so the first Save asks before the console takes them over.)
  It runs in the cluster (dist/console/, its pod on the node) and an HTTP proxy on 127.0.0.1 leads to its Service;
  its log: kubectl --kubeconfig ${cp.kubeconfig} logs -n aerogrid-system deployment/aerogrid-console`);
  if (upDir) {
    console.log(`
The control plane stays up (make down stops it). As the developer, try the CLI:

  export KUBECONFIG=${kubeconfig}
  alias aerogrid="node ${join(ROOT, 'bin/aerogrid.js')}"
  aerogrid list -A
  aerogrid init shop && aerogrid push shop --wait
  aerogrid status shop

The README's CLI section goes on from there. As the platform admin: kubectl --kubeconfig ${join(upDir, 'admin.kubeconfig')} get apps -A`);
  }
}

/** What the example App's pods answer, fetched from the host by their IPs on the node's bridge, as curl would. */
async function showAnswer(p: Platform): Promise<void> {
  const body = await answer(p, 'acme-dev', 'hello');
  const [pod] = readyPods(p, 'acme-dev', 'hello');
  console.log(`\n$ curl http://${pod.status.podIP}:8080/    # a pod of the App, on the node's bridge (the Istio gateway and its JWT check do not run here)\n${body.trimEnd()}`);
}

/** Runs the aerogrid CLI as a developer would, printing the command and what it prints. */
function aerogrid(kubeconfig: string, args: string[]): Promise<void> {
  const shown = (a: string) => (a.startsWith('/') && !relative(process.cwd(), a).startsWith('..') ? relative(process.cwd(), a) || '.' : a);
  console.log(`\n$ aerogrid ${args.map(shown).join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/aerogrid.js'), ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig, NODE_OPTIONS: '' }, stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`aerogrid ${args.join(' ')} exited ${code}`))));
  });
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
  // A person at a terminal gets the console to try; a script or CI gets the demo's exit.
  if ((process.env.KEEP || upDir || (process.stdin.isTTY && !process.env.CI)) && platform && !process.exitCode) {
    say(`KEEP: the control plane and the console stay up; KUBECONFIG=${platform.cp.kubeconfig}; ${upDir ? 'make down' : 'Ctrl-C'} stops them`);
    await new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    });
  }
  await web?.stop();
  await platform?.stop();
}

/** 8090 when it is free (the README's address), else any. */
async function consolePort(): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false)).listen(8090, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  return free ? 8090 : freePort();
}
