// The aerogrid CLI end to end, as a tenant developer, on the real control plane: etcd,
// kube-apiserver (RBAC, admission) and kube-controller-manager, with Crossplane core v2.3.4
// reconciling and aerogrid installed through its package manager (scripts/lib/platform.ts). The
// developer is a real user of that API server: a client certificate (CN dana, O acme-developers)
// from its CA, with no admin rights.
//
// SIMULATED: the kubelet (no container runtime here): scripts/lib/kubelet.ts marks the build
// Job running then succeeded, and the Deployment available.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { startPlatform, type Platform } from '../scripts/lib/platform.js';
import { ROOT, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
let cp: ControlPlane;
let developer: string;
let notInstalled: Run;

interface Run { code: number | null; stdout: string; stderr: string }

function aerogrid(args: string[], kubeconfig = developer): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/aerogrid.js'), '--kubeconfig', kubeconfig, ...args], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A CLI that does not exit is a failure to report, not a test to hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const builds = () => p.kubelet.buildsOf('acme-dev', 'shop');

beforeAll(async () => {
  p = await startPlatform({
    // Before aerogrid is installed: the CLI must say so.
    beforeInstall: async (bare) => {
      notInstalled = await aerogrid(['list', '-n', 'default'], bare.kubeconfig);
    },
  });
  cp = p.cp;
  const acme = exampleTenant() as Obj;
  must(cp.apply([acme, { ...acme, metadata: { name: 'globex' }, spec: { ...acme.spec, namespaces: ['dev'], groups: { admin: ['globex-admins'] } } }]));
  await waitUntil('Tenants acme and globex Ready', () => {
    const phases = JSON.parse(must(cp.kubectl('get', 'tenants', '-o', 'json')).stdout).items.map((t: Obj) => t.status?.phase);
    return phases.length === 2 && phases.every((ph: string) => ph === 'Ready');
  }, 60_000);
  developer = cp.kubeconfigFor('dana', ['acme-developers'], 'acme-dev');
}, 300_000);

afterAll(async () => {
  await p?.stop();
});

const folder = mkdtempSync(join(tmpdir(), 'aerogrid-cli-'));
const shop = join(folder, 'shop');

describe('aerogrid push, as a tenant developer', () => {
  test('before aerogrid is installed, the CLI says what to install', () => {
    expect(notInstalled.code).toBe(1);
    expect(notInstalled.stderr.trim()).toMatch(/^error: the App API \(platform\.aerogrid\.io\/v1alpha1\) is not installed on https:\/\/127\.0\.0\.1:\d+: install aerogrid's Configuration/);
    expect(notInstalled.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('init, then push --wait: a build, a rollout, Ready with the URL', async () => {
    expect((await aerogrid(['init', shop])).code).toBe(0);
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '90s']);
    console.log(`$ aerogrid push shop --wait\n${run.stdout}${run.stderr}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^creating App shop in namespace acme-dev: 2 file\(s\)/m);
    expect(run.stdout).toMatch(/source sha256:[0-9a-f]{12}…/);
    expect(run.stdout).toMatch(/build (queued|running|succeeded)/);
    expect(run.stdout).toMatch(/ready: https:\/\/apps\.example\.com\/apps\/acme-dev\/shop\//);
    expect(run.stdout.trim().split('\n').pop()).toBe('App shop is Ready: https://apps.example.com/apps/acme-dev/shop/');
    expect(builds()).toHaveLength(1);
    // Server-side apply, field manager aerogrid, owning the files.
    const app = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json', '--show-managed-fields')).stdout);
    const mine = app.metadata.managedFields.find((m: Obj) => m.manager === 'aerogrid');
    expect(mine.operation).toBe('Apply');
    expect(Object.keys(mine.fieldsV1['f:spec'])).toContain('f:files');
    expect(app.spec.files.map((f: Obj) => f.path)).toEqual(['app.py', 'requirements.txt']);
    expect(app.status.access).toBe('jwt');
  }, 120_000);

  test('the same folder again: nothing changes and no build happens', async () => {
    const before = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout);
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '60s']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/nothing changed since the last push \(source sha256:[0-9a-f]{12}…\): no build/);
    expect(run.stdout).not.toMatch(/build (queued|running)/);
    const after = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.status.image).toBe(before.status.image);
    expect(builds()).toHaveLength(1);
  }, 90_000);

  test('after an edit: exactly one new build, and the new image serves', async () => {
    const before = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout);
    appendFileSync(join(shop, 'app.py'), '\n# v2\n');
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '90s']);
    console.log(`$ aerogrid push shop --wait   (after an edit)\n${run.stdout}${run.stderr}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^updating App shop/m);
    const after = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout);
    expect(after.status.sourceDigest).not.toBe(before.status.sourceDigest);
    expect(after.status.image).toBe(`registry.example.com/aerogrid/acme/shop:${after.status.sourceDigest.slice('sha256:'.length)}`);
    expect(builds()).toHaveLength(2);
  }, 120_000);

  test("into another tenant's namespace: refused, with what to do, and nothing created", async () => {
    const run = await aerogrid(['push', shop, '-n', 'globex-dev', '--wait']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^error: cannot (read|apply) App shop: forbidden: User "dana" cannot \w+ resource "apps" in API group "platform\.aerogrid\.io" in the namespace "globex-dev"\. Use a namespace of your tenant \(-n\), or ask the tenant's admins for access$/);
    expect(must(cp.kubectl('get', 'apps', '-n', 'globex-dev', '-o', 'name')).stdout.trim()).toBe('');
  }, 60_000);

  test('a folder the schema refuses never reaches the cluster, and the file is named', async () => {
    const bad = join(folder, 'bad');
    expect((await aerogrid(['init', bad])).code).toBe(0);
    writeFileSync(join(bad, 'Dockerfile'), 'FROM scratch\n');
    const run = await aerogrid(['push', bad, '--wait']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("error: Dockerfile: spec.files[].path must not be Dockerfile or .dockerignore: aerogrid generates them for the runtime");
    expect(must(cp.kubectl('get', 'app', 'bad', '-n', 'acme-dev', '--ignore-not-found', '-o', 'name')).stdout.trim()).toBe('');
  });

  test('an admin pushing into a namespace of no tenant gets the function\'s refusal', async () => {
    const run = await aerogrid(['push', shop, '--name', 'stray', '-n', 'default', '--wait', '--timeout', '60s'], cp.kubeconfig);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/the platform refused App stray: App default\/stray: metadata\.namespace: namespace default belongs to no Tenant/);
    expect(run.stderr.trim()).toMatch(/^error: App stray is not Ready: the platform refused App stray/);
  }, 90_000);
});

describe('list, status, logs and delete', () => {
  test('list: a table by default, JSON and YAML on request', async () => {
    const table = await aerogrid(['list']);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header.split(/\s{3,}/)).toEqual(['NAME', 'PHASE', 'URL', 'ACCESS', 'AGE']);
    expect(row.split(/\s{3,}/).slice(0, 4)).toEqual(['shop', 'Ready', 'https://apps.example.com/apps/acme-dev/shop/', 'jwt']);
    const json = JSON.parse((await aerogrid(['list', '-o', 'json'])).stdout);
    expect(json.items.map((a: Obj) => a.metadata.name)).toEqual(['shop']);
    expect(json.items[0].metadata.managedFields).toBeUndefined();
    expect((await aerogrid(['list', '-o', 'yaml'])).stdout).toMatch(/^kind: List$/m);
  });

  test('status: where the app is and why', async () => {
    const run = await aerogrid(['status', 'shop']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Phase:\s+Ready$/m);
    expect(run.stdout).toMatch(/^URL:\s+https:\/\/apps\.example\.com\/apps\/acme-dev\/shop\/$/m);
    expect(run.stdout).toMatch(/^Access:\s+jwt \(a valid Auth0 token from an allowed group is required\)$/m);
    expect(run.stdout).toMatch(/^Build:\s+Succeeded \(Job shop-build-[0-9a-f]{10}\)$/m);
    expect(JSON.parse((await aerogrid(['status', 'shop', '-o', 'json'])).stdout).status.phase).toBe('Ready');
    const missing = await aerogrid(['status', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: App nope not found in namespace acme-dev; see aerogrid list');
  });

  test('logs: no kubelet runs here, so there are no pods, and the CLI says so', async () => {
    // SIMULATED environment: pods cannot start on this machine (no kubelet, no container runtime).
    const run = await aerogrid(['logs', 'shop']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^error: App shop has no pods yet \(phase Ready: serving sha256:[0-9a-f]+/);
    const build = await aerogrid(['logs', 'shop', '--build']);
    expect(build.code).toBe(1);
    expect(build.stderr.trim()).toMatch(/^error: no pods for build Job shop-build-[0-9a-f]{10} of App shop \(build Succeeded\)/);
  });

  test('delete: the App goes; deleting it again says it is not there', async () => {
    const run = await aerogrid(['delete', 'shop']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('App shop deleted from namespace acme-dev');
    for (let i = 0; i < 50 && must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '--ignore-not-found', '-o', 'name')).stdout.trim(); i++) await sleep(100);
    expect(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '--ignore-not-found', '-o', 'name')).stdout.trim()).toBe('');
    const again = await aerogrid(['delete', 'shop']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('error: App shop not found in namespace acme-dev; see aerogrid list');
  });
});

describe('a cluster the CLI cannot reach', () => {
  test('one line that says what to check, and no stack trace', async () => {
    const kc = join(folder, 'unreachable');
    writeFileSync(kc, `apiVersion: v1
kind: Config
clusters: [{ name: gone, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: gone, context: { cluster: gone, user: u, namespace: acme-dev } }]
current-context: gone
`);
    const run = await aerogrid(['list'], kc);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot reach the cluster at https://127.0.0.1:9 (ECONNREFUSED): is it running? Check ${kc} (context gone), or pick another with --context\n`);
  });
});
