// The aerogrid CLI end to end, as a tenant developer, on the real control plane: etcd,
// kube-apiserver (RBAC, admission) and kube-controller-manager, with Crossplane core v2.3.4
// reconciling and aerogrid installed through its package manager (scripts/lib/platform.ts), and a
// real node: Kaniko builds every push, the pods run, and after each change the test asks them
// over HTTP what they answer. The developer is a real user of that API server: a client
// certificate (CN dana, O acme-developers) from its CA, with no admin rights.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { startPlatform, type Platform } from '../scripts/lib/platform.js';
import { answer, answerWhen, readyPods } from '../scripts/lib/answer.js';
import { runCli, type Run } from './helpers/cli.js';
import { ROOT, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
let cp: ControlPlane;
let developer: string;
let notInstalled: Run;

/** Runs the CLI as the developer, unless told another kubeconfig (null: none on the command line). */
const aerogrid = (args: string[], kubeconfig: string | null = developer, env: NodeJS.ProcessEnv = {}): Promise<Run> => runCli(args, kubeconfig, env);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const builds = () => p.buildsOf('acme-dev', 'shop');
/** What shop's pods answer: its version, and the GREETING it was given. */
const says = async (ns = 'acme-dev') => JSON.parse(await answer(p, ns, 'shop'));
const saysSoon = async (check: (a: Obj) => boolean, ns = 'acme-dev') => JSON.parse(await answerWhen(p, ns, 'shop', (b) => { try { return check(JSON.parse(b)); } catch { return false; } }, 60_000));

/** shop's app.py: the scaffold's server, saying which version it is and its GREETING. */
const shopApp = (version: number) => `import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = ${version}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": VERSION, "greeting": os.environ.get("GREETING")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
`;
const edit = (version: number) => writeFileSync(join(shop, 'app.py'), shopApp(version));

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
    const server = /server: "([^"]+)"/.exec(readFileSync(p.cp.kubeconfig, 'utf8'))![1];
    expect(notInstalled.stderr.trim()).toMatch(new RegExp(String.raw`^error: the App API \(platform\.aerogrid\.io/v1alpha1\) is not installed on ${server.replaceAll('.', '\\.')}: install aerogrid's Configuration`));
    expect(notInstalled.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('init, then push --wait: a build, a rollout, Ready with the URL, and the pods answer', async () => {
    expect((await aerogrid(['init', shop])).code).toBe(0);
    edit(1);
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '180s']);
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
    expect(await says()).toEqual({ version: 1, greeting: null });
  }, 240_000);

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
    edit(2);
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '180s']);
    console.log(`$ aerogrid push shop --wait   (after an edit)\n${run.stdout}${run.stderr}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^updating App shop/m);
    const after = JSON.parse(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout);
    expect(after.status.sourceDigest).not.toBe(before.status.sourceDigest);
    expect(after.status.image).toBe(`registry.aerogrid.internal:5000/apps/acme/shop:${after.status.sourceDigest.slice('sha256:'.length)}`);
    expect(builds()).toHaveLength(2);
    expect(await says()).toEqual({ version: 2, greeting: null });
  }, 240_000);

  test("into another tenant's namespace: refused, with what to do, and nothing created", async () => {
    const run = await aerogrid(['push', shop, '-n', 'globex-dev', '--wait']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^error: cannot (read|apply) App shop in namespace globex-dev: forbidden: User "dana" cannot \w+ resource "apps" in API group "platform\.aerogrid\.io" in the namespace "globex-dev"\. Use a namespace of your tenant \(-n\), or ask the tenant's admins for access$/);
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
    expect(header.split(/\s{3,}/)).toEqual(['NAME', 'PHASE', 'URL', 'REVISION', 'ACCESS', 'AGE']);
    expect(row.split(/\s{3,}/).slice(0, 5)).toEqual(['shop', 'Ready', 'https://apps.example.com/apps/acme-dev/shop/', '2', 'jwt']);
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
    // The hint carries the flags given, so that it works as it is printed.
    expect(missing.stderr.trim()).toBe(`error: App nope not found in namespace acme-dev; see aerogrid list --kubeconfig ${developer}`);
  });

  test("logs: the app's own lines from each pod, and with --build Kaniko's output of the build that serves", async () => {
    const run = await aerogrid(['logs', 'shop']);
    expect(run.code).toBe(0);
    // Two replicas, each with the requests the tests sent it (http.server logs them to stderr).
    expect(run.stdout.match(/^==> shop-[a-z0-9]+-[a-z0-9]+ <==$/gm)).toHaveLength(2);
    expect(run.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 -/);
    const build = await aerogrid(['logs', 'shop', '--build']);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/Pushing image to registry\.aerogrid\.internal:5000\/apps\/acme\/shop:[0-9a-f]{64}/);
    expect(build.stdout).toContain(`/apps/acme/shop:${get('shop').status.sourceDigest.slice('sha256:'.length)}`);
  });
});

const get = (name: string, ns = 'acme-dev'): Obj => JSON.parse(must(cp.kubectl('get', 'app', name, '-n', ns, '-o', 'json', '--show-managed-fields')).stdout);
const deployment = (name: string, ns = 'acme-dev'): Obj | undefined => {
  const r = cp.kubectl('get', 'deployment', name, '-n', ns, '-o', 'json');
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
};

describe('releases, rollback and rebuild', () => {
  test('releases: the two images that reached Ready, * on the one serving', async () => {
    const run = await aerogrid(['releases', 'shop']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0].split(/\s{3,}/)).toEqual(['REVISION', 'IMAGE', 'SOURCE', 'READY']);
    expect(lines.slice(1).map((l) => l.slice(0, 2))).toEqual([' 1', '*2']);
    const app = get('shop');
    expect(app.status.revision).toBe(2);
    expect(app.status.releases.map((r: Obj) => r.image)).toEqual([...new Set(app.status.releases.map((r: Obj) => r.image))]);
    expect(app.status.releases[1]).toMatchObject({ revision: 2, image: app.status.image, sourceDigest: app.status.sourceDigest, readyAt: expect.stringMatching(/^20\d\d-/) });
    // kubectl's printer columns show it too.
    expect(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev')).stdout).toMatch(/^NAME\s+PHASE\s+URL\s+REVISION\s+IMAGE\s+SYNCED\s+READY/);
  });

  test('rollback: the previous release serves again, with no build', async () => {
    const before = get('shop');
    const run = await aerogrid(['rollback', 'shop', '--wait', '--timeout', '60s']);
    console.log(`$ aerogrid rollback shop --wait\n${run.stdout}${run.stderr}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rolling back App shop to revision 1 \(sha256:[0-9a-f]{12}…\): no build$/m);
    expect(run.stdout.trim().split('\n').pop()).toBe('App shop is Ready: https://apps.example.com/apps/acme-dev/shop/');
    const after = get('shop');
    expect(after.spec.rollback).toEqual({ revision: 1, image: before.status.releases[0].image });
    expect(after.metadata.managedFields.find((m: Obj) => m.manager === 'aerogrid-rollback')?.fieldsV1['f:spec']).toHaveProperty('f:rollback');
    expect(after.status).toMatchObject({ revision: 1, image: before.status.releases[0].image, phase: 'Ready' });
    expect(after.status.message).toMatch(/^rolled back to revision 1: serving/);
    expect(deployment('shop')!.spec.template.spec.containers[0].image).toBe(before.status.releases[0].image);
    expect(builds()).toHaveLength(2);
    expect(await says()).toEqual({ version: 1, greeting: null });
    expect((await aerogrid(['status', 'shop'])).stdout).toMatch(/^Revision:\s+1 of 2 release\(s\) \(rolled back: aerogrid push builds from source again\)$/m);
    expect((await aerogrid(['rollback', 'shop', '7'])).stderr.trim()).toBe(`error: App shop has no release 7 (it has: 1, 2); see aerogrid releases shop --kubeconfig ${developer}`);
  }, 120_000);

  test('rollback --cancel leaves the pin without a push (for an App that Git manages)', async () => {
    expect((await aerogrid(['rollback', 'shop', '1', '--wait', '--timeout', '60s'])).code).toBe(0);
    expect(get('shop').spec.rollback?.revision).toBe(1);
    const run = await aerogrid(['rollback', 'shop', '--cancel', '--wait', '--timeout', '60s']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^leaving the rollback to revision 1: back to the source$/m);
    expect(get('shop').spec.rollback).toBeUndefined();
    expect(get('shop').status.image).toBe(get('shop').status.releases[1].image);
    expect(builds()).toHaveLength(2);
    // And pinned again, for the next test.
    expect((await aerogrid(['rollback', 'shop', '1', '--wait', '--timeout', '60s'])).code).toBe(0);
  }, 120_000);

  test('a push after a rollback goes back to the source; an image that served before needs no new build', async () => {
    const before = get('shop');
    const run = await aerogrid(['push', shop, '--wait', '--timeout', '60s']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^leaving the rollback to revision 1: back to building from source$/m);
    const after = get('shop');
    expect(after.spec.rollback).toBeUndefined();
    expect(after.status.image).toBe(before.status.releases[1].image);
    // A new revision: the image the rollback left is served again (with --cancel above, as the 4th).
    expect(after.status.revision).toBe(Math.max(...before.status.releases.map((r: Obj) => r.revision)) + 1);
    expect(builds()).toHaveLength(2);
    expect(await says()).toEqual({ version: 2, greeting: null });
  }, 120_000);

  test('a failed build (the package index is down): pushing the same source does not retry it; rebuild does, on purpose', async () => {
    // A new requirement, while the platform's package index is down: pip cannot reach it.
    edit(3);
    writeFileSync(join(shop, 'requirements.txt'), 'gunicorn==22.0.0\n');
    await p.node!.pypi.stop();
    let failed: Run;
    try {
      failed = await aerogrid(['push', shop, '--wait', '--timeout', '240s']);
    } finally {
      await p.node!.pypi.start();
    }
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toMatch(/^error: App shop is not Ready: build of sha256:[0-9a-f]{12}… failed: kaniko failed: pip: ERROR: Could not find a version that satisfies the requirement gunicorn==22\.0\.0 .*; still serving/);
    expect(builds()).toHaveLength(3);
    expect(await says()).toEqual({ version: 2, greeting: null });
    const again = await aerogrid(['push', shop, '--wait', '--timeout', '30s']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/nothing changed since the last push .*: no build/);
    expect(again.stdout).toContain(`the last build of this source failed; build it again with: aerogrid rebuild shop --kubeconfig ${developer}`);
    expect(builds()).toHaveLength(3);
    const run = await aerogrid(['rebuild', 'shop', '--wait', '--timeout', '180s']);
    console.log(`$ aerogrid rebuild shop --wait\n${run.stdout}${run.stderr}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rebuilding the same source \(spec\.rebuild 1\): a new build Job and image$/m);
    expect(builds()).toHaveLength(4);
    expect(builds()[3]).toMatch(/^acme-dev\/shop-build-[0-9a-f]{10}-r1$/);
    const app = get('shop');
    expect(app.spec.rebuild).toBe(1);
    expect(app.status.image).toMatch(/:[0-9a-f]{64}-r1$/);
    expect(app.status.revision).toBe(Math.max(...app.status.releases.map((r: Obj) => r.revision)));
    expect(app.status.releases.at(-1).image).toBe(app.status.image);
    // Owned by its own manager: the next push does not take it back (which would build again).
    const push = await aerogrid(['push', shop, '--wait', '--timeout', '30s']);
    expect(push.stdout).toMatch(/nothing changed since the last push/);
    expect(builds()).toHaveLength(4);
    expect(await says()).toEqual({ version: 3, greeting: null });
  }, 600_000);
});

describe('configuration from the CLI: each command owns only its fields', () => {
  test('env set, list and unset: no build, the Deployment gets them, and what others set is left alone', async () => {
    // Another manager (as Argo CD would, from Git) sets a variable of its own.
    must(cp.apply([{ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'shop', namespace: 'acme-dev' }, spec: { env: [{ name: 'FROM_GIT', value: 'g' }] } }], '--field-manager=gitops'));
    const set = await aerogrid(['env', 'set', 'shop', 'GREETING=hello', 'MOTTO=a b=c', '--from-secret', 'shop-db']);
    expect(set.stderr).toBe('');
    expect(set.stdout.trim()).toBe('App shop: set GREETING, set MOTTO, reads Secret shop-db; no build, the pods restart with the new environment');
    const list = await aerogrid(['env', 'list', 'shop']);
    const rows = list.stdout.trim().split('\n').map((l) => l.split(/\s{3,}/));
    expect(rows).toEqual(expect.arrayContaining([['FROM_GIT', 'g', 'gitops'], ['GREETING', 'hello', 'aerogrid-env'], ['MOTTO', 'a b=c', 'aerogrid-env'], ['(Secret shop-db)', 'every key, as a variable', 'aerogrid-env']]));
    await waitUntil('the Deployment to get GREETING', () => (deployment('shop')?.spec.template.spec.containers[0].env ?? []).some((e: Obj) => e.name === 'GREETING'), 30_000);
    expect(deployment('shop')!.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'shop-db' } }]);
    // The Secret must exist for the new pods to start (envFrom): an admin of the tenant makes it.
    must(cp.kubectl('create', 'secret', 'generic', 'shop-db', '-n', 'acme-dev', '--from-literal=DATABASE_URL=postgres://db/shop'));
    expect(await saysSoon((a) => a.greeting === 'hello')).toEqual({ version: 3, greeting: 'hello' });
    const refused = await aerogrid(['env', 'unset', 'shop', 'FROM_GIT']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('error: FROM_GIT is set by gitops, not by aerogrid env; change it where it is managed (for Argo CD: in Git)');
    const unset = await aerogrid(['env', 'unset', 'shop', 'GREETING', '--from-secret', 'shop-db']);
    expect(unset.code).toBe(0);
    const app = get('shop');
    expect(app.spec.env.map((e: Obj) => e.name).sort()).toEqual(['FROM_GIT', 'MOTTO']);
    expect(app.spec.envFromSecrets ?? []).toEqual([]);
    expect(builds()).toHaveLength(4);
    expect(await saysSoon((a) => a.greeting === null)).toEqual({ version: 3, greeting: null });
  }, 180_000);

  test('scale: replicas, then autoscaling, then replicas again; no build', async () => {
    expect((await aerogrid(['scale', 'shop', '--replicas', '3'])).stdout.trim()).toBe('App shop: scaled to 3 replica(s); no build');
    await waitUntil('3 replicas', () => deployment('shop')?.spec.replicas === 3, 30_000);
    await waitUntil('3 Ready pods', () => readyPods(p, 'acme-dev', 'shop').length === 3, 60_000);
    expect(await says()).toEqual({ version: 3, greeting: null });
    const auto = await aerogrid(['scale', 'shop', '--max', '4', '--cpu-percent', '60']);
    expect(auto.stdout.trim()).toBe('App shop: autoscaling between 1 and 4 replicas at 60% CPU; no build');
    await waitUntil('a HorizontalPodAutoscaler', () => cp.kubectl('get', 'hpa', 'shop', '-n', 'acme-dev').status === 0, 30_000);
    expect(JSON.parse(must(cp.kubectl('get', 'hpa', 'shop', '-n', 'acme-dev', '-o', 'json')).stdout).spec).toMatchObject({ minReplicas: 1, maxReplicas: 4 });
    expect((await aerogrid(['scale', 'shop', '--replicas', '2'])).code).toBe(0);
    await waitUntil('the autoscaler gone and 2 replicas', () => cp.kubectl('get', 'hpa', 'shop', '-n', 'acme-dev').status !== 0 && deployment('shop')?.spec.replicas === 2, 30_000);
    await waitUntil('2 Ready pods', () => readyPods(p, 'acme-dev', 'shop').length === 2, 60_000);
    expect(get('shop').spec.autoscaling).toBeUndefined();
    const bad = await aerogrid(['scale', 'shop', '--min', '5', '--max', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: spec.autoscaling: spec.autoscaling.minReplicas must not exceed spec.autoscaling.maxReplicas');
    expect(builds()).toHaveLength(4);
  }, 180_000);

  test('push --port, --health-path and --command are kept by a later plain push; access switches are said loudly and kept', async () => {
    const set = await aerogrid(['push', shop, '--port', '9000', '--health-path', '/healthz', '--command', 'python app.py', '--wait', '--timeout', '180s']);
    expect(set.code).toBe(0);
    await waitUntil('port 9000 and the /healthz probe', () => {
      const c = deployment('shop')?.spec.template.spec.containers[0];
      return c?.ports[0].containerPort === 9000 && c.readinessProbe?.httpGet?.path === '/healthz';
    }, 30_000);
    // The probe at /healthz gated Ready, and the app answers on its new port.
    expect(await says()).toEqual({ version: 3, greeting: null });
    const generation = get('shop').metadata.generation;
    const plain = await aerogrid(['push', shop]);
    expect(plain.stdout).toMatch(/nothing changed since the last push/);
    expect(get('shop').metadata.generation).toBe(generation);
    expect(get('shop').spec).toMatchObject({ port: 9000, healthPath: '/healthz', command: ['python', 'app.py'] });

    const open = await aerogrid(['push', shop, '--public']);
    expect(open.stderr.trim()).toBe('ACCESS: App shop switches from jwt to public: anyone who can reach its URL can call it, with no token');
    const kept = await aerogrid(['push', shop, '--wait', '--timeout', '60s']);
    expect(kept.stderr).toBe('');
    expect(get('shop').status.access).toBe('public');
    const closed = await aerogrid(['push', shop, '--no-public', '--wait', '--timeout', '60s']);
    expect(closed.stderr.trim()).toBe('ACCESS: App shop switches from public to jwt: callers now need a valid Auth0 token from an allowed group');
    expect(get('shop').status.access).toBe('jwt');
    // Port and command are the Deployment's: the same files need no build.
    expect(builds()).toHaveLength(4);
  }, 300_000);

  test('push --image: a prebuilt image (an earlier release of shop), no build, and it answers', async () => {
    const image = get('shop').status.releases[0].image as string;
    const run = await aerogrid(['push', '--name', 'prebuilt', '--image', image, '--wait', '--timeout', '120s']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^creating App prebuilt in namespace acme-dev: image ${image.replace(/[.]/g, '\\.')}$`, 'm'));
    expect(get('prebuilt').status).toMatchObject({ phase: 'Ready', image, revision: 1 });
    expect(p.buildsOf('acme-dev', 'prebuilt')).toEqual([]);
    expect(JSON.parse(await answer(p, 'acme-dev', 'prebuilt'))).toEqual({ version: 1, greeting: null });
    const both = await aerogrid(['push', '--name', 'prebuilt', '--image', image, '--rebuild']);
    expect([both.code, both.stderr.trim()]).toEqual([2, 'error: --rebuild builds the folder again; with --image there is nothing to build']);
    const rebuild = await aerogrid(['rebuild', 'prebuilt']);
    expect(rebuild.stderr.trim()).toBe(`error: App prebuilt runs the image ${image}: there is nothing to build`);
  }, 180_000);

  test('an App that Argo CD tracks is not pushed to, unless --force', async () => {
    must(cp.kubectl('annotate', 'app', 'shop', '-n', 'acme-dev', 'argocd.argoproj.io/tracking-id=acme:platform.aerogrid.io/App:acme-dev/shop'));
    const run = await aerogrid(['push', shop]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('error: App shop is managed by Argo CD Application acme: change it in Git, or push with --force and expect Argo CD to put Git\'s version back');
    must(cp.kubectl('annotate', 'app', 'shop', '-n', 'acme-dev', 'argocd.argoproj.io/tracking-id-'));
  });
});

describe('list -A, and the conventions of a CLI', () => {
  test("list -A as a developer: every namespace of the developer's tenant, and nothing of another tenant", async () => {
    expect((await aerogrid(['push', shop, '-n', 'acme-prod'])).code).toBe(0);
    await waitUntil('shop in acme-prod', () => must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-prod', '-o', 'name', '--ignore-not-found')).stdout.trim() !== '', 30_000);
    const run = await aerogrid(['list', '-A']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("(your tenants' namespaces: acme-dev, acme-prod)\n");
    const rows = run.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s{3,}/).slice(0, 2));
    expect(rows).toEqual([['acme-dev', 'prebuilt'], ['acme-dev', 'shop'], ['acme-prod', 'shop']]);
    // A developer of globex sees none of it, and a direct request is refused by the API server.
    const gil = cp.kubeconfigFor('gil', ['globex-admins'], 'globex-dev');
    const theirs = await aerogrid(['list', '-A'], gil);
    expect([theirs.code, theirs.stdout.trim(), theirs.stderr]).toEqual([0, 'No apps found.', "(your tenants' namespaces: globex-dev)\n"]);
    const direct = await aerogrid(['status', 'shop', '-n', 'acme-dev'], gil);
    expect(direct.stderr.trim()).toMatch(/^error: cannot read App shop in namespace acme-dev: forbidden: User "gil" cannot get resource "apps"/);
    // A cluster-wide reader (the admin) lists everywhere.
    const admin = await aerogrid(['list', '-A'], cp.kubeconfig);
    expect(admin.stderr).toBe('');
    expect(admin.stdout).toMatch(/^default\s+stray\s/m);
  }, 60_000);

  test('--version; bare aerogrid prints its help on stdout and succeeds', async () => {
    const version = await aerogrid(['--version'], null);
    expect([version.code, version.stdout.trim()]).toEqual([0, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version]);
    const bare = await aerogrid([], null);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toMatch(/^Usage: aerogrid \[options\] \[command\]/);
    for (const cmd of ['push', 'rebuild', 'releases', 'rollback', 'env', 'scale', 'open', 'completion']) expect(bare.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  test('completion for bash, zsh and fish, run by those shells', async () => {
    const script = async (shell: string) => {
      const file = join(folder, `completion.${shell}`);
      writeFileSync(file, (await aerogrid(['completion', shell], null)).stdout);
      return file;
    };
    const sh = (shell: string, code: string) => spawnSync(shell, ['-c', code], { encoding: 'utf8' });
    const bash = sh('bash', `source ${await script('bash')}; for w in "pu" "env s" "list -o "; do read -ra COMP_WORDS <<< "aerogrid -n acme-dev $w"; [[ "$w" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _aerogrid; echo "\${COMPREPLY[*]}"; done`);
    expect(bash.stdout.trim().split('\n')).toEqual(['push', 'set', 'json yaml']);
    // zsh runs the bash function through bashcompinit, which leaves the matching to zsh.
    const zsh = sh('zsh', `autoload -U compinit && compinit -u; source ${await script('zsh')}; t() { emulate -L sh; setopt kshglob noshglob braceexpand; COMP_WORDS=(aerogrid env s); COMP_CWORD=2; _aerogrid; echo "\${COMPREPLY[*]}"; }; t`);
    expect(zsh.stderr).toBe('');
    expect(zsh.stdout.trim().split(' ')).toEqual(expect.arrayContaining(['list', 'set', 'unset']));
    const fish = sh('fish', `source ${await script('fish')}; complete -C 'aerogrid reb'; complete -C 'aerogrid env u'; complete -C 'aerogrid scale shop --rep'`);
    expect(fish.stderr).toBe('');
    expect(fish.stdout.split('\n').map((l) => l.split('\t')[0]).filter(Boolean)).toEqual(['rebuild', 'unset', '--replicas']);
  });

  test('open: without a terminal, it prints the URL', async () => {
    const run = await aerogrid(['open', 'shop']);
    expect([run.code, run.stdout]).toEqual([0, 'https://apps.example.com/apps/acme-dev/shop/\n']);
  });

  test('a timed-out --wait hint carries the -n and --context the user gave', async () => {
    const context = must(cp.kubectl('config', 'current-context', '--kubeconfig', developer)).stdout.trim();
    // A build takes longer than 2 s.
    edit(4);
    const run = await aerogrid(['push', shop, '-n', 'acme-prod', '--context', context, '--wait', '--timeout', '2s']);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe(`error: timed out after 2s waiting for App shop to be Ready; it goes on in the cluster: aerogrid status shop -n acme-prod --context ${context} --kubeconfig ${developer}`);
  }, 60_000);

  test('a new source while a build runs replaces that build: its Job and pod go, and the new source is what serves', async () => {
    const jobs = (): string[] => JSON.parse(must(cp.kubectl('get', 'jobs', '-n', 'acme-dev', '-l', 'platform.aerogrid.io/app=shop', '-o', 'json')).stdout).items.map((j: Obj) => j.metadata.name as string);
    const before = builds().length;
    const last = get('shop').status?.sourceDigest;
    edit(5);
    expect((await aerogrid(['push', shop])).code).toBe(0);
    // v5's digest once the status has it: right after the push it still names the last source,
    // whose finished build Job may not be gone yet.
    const v5 = await waitUntil("v5's build Job", () => {
      const digest = get('shop').status?.sourceDigest;
      return digest && digest !== last ? jobs().find((j) => j.includes(digest.slice(7, 17))) : undefined;
    }, 30_000);
    edit(6);
    expect((await aerogrid(['push', shop])).code).toBe(0);
    // Crossplane composes v6's Job under a key of its own and lets v5's go, unfinished (before
    // the fix it applied v6's template onto v5's Job: "field is immutable", the App stayed Unsynced).
    await waitUntil("v5's Job and its pods gone", () => !jobs().includes(v5) && must(cp.kubectl('get', 'pods', '-n', 'acme-dev', '-l', `batch.kubernetes.io/job-name=${v5}`, '-o', 'name')).stdout.trim() === '', 60_000);
    await waitUntil('shop Ready on v6', () => get('shop').status?.phase === 'Ready' && get('shop').status.image?.includes(get('shop').status.sourceDigest.slice('sha256:'.length)), 180_000);
    expect(get('shop').status.conditions.find((c: Obj) => c.type === 'Synced').status).toBe('True');
    expect(await says()).toEqual({ version: 6, greeting: null });
    // v5's build was started, then replaced; v6's is the one that built.
    expect(builds().slice(before)).toEqual([`acme-dev/${v5}`, expect.stringMatching(/^acme-dev\/shop-build-[0-9a-f]{10}-r1$/)]);
    // push --rebuild: the same source again, in the same command.
    const rebuilt = await aerogrid(['push', shop, '--rebuild', '--wait', '--timeout', '180s']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/^rebuilding the same source \(spec\.rebuild 2\): a new build Job and image$/m);
    expect(get('shop').status.image).toMatch(/-r2$/);
    expect(builds().length - before).toBe(3);
  }, 420_000);

  test('on a terminal: colour unless NO_COLOR, and delete asks first', async () => {
    const tty = (args: string, input = '', env: NodeJS.ProcessEnv = {}) => spawnSync('script', ['-qec', `${process.execPath} ${join(ROOT, 'bin/aerogrid.js')} --kubeconfig ${developer} ${args}`, '/dev/null'], {
      input, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', TERM: 'xterm', ...env }, timeout: 60_000,
    });
    expect(tty('status nope').stdout).toContain('\u001b[31merror:\u001b[0m App nope not found');
    expect(tty('status nope', '', { NO_COLOR: '1' }).stdout).not.toContain('\u001b[');
    const no = tty('delete prebuilt', 'n\n');
    expect(no.stdout).toMatch(/Delete App prebuilt in namespace acme-dev, with its Deployment, Service, routes and policies\? \[y\/N\]/);
    expect(no.stdout).toContain('App prebuilt not deleted');
    expect(get('prebuilt').metadata.deletionTimestamp).toBeUndefined();
    const yes = tty('delete prebuilt', 'y\n');
    expect(yes.stdout).toContain('App prebuilt deleted from namespace acme-dev');
  }, 60_000);
});

describe('delete', () => {
  test('delete: the App goes; deleting it again says it is not there', async () => {
    // No terminal: nothing to ask, as with --yes.
    const run = await aerogrid(['delete', 'shop']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('App shop deleted from namespace acme-dev');
    for (let i = 0; i < 50 && must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '--ignore-not-found', '-o', 'name')).stdout.trim(); i++) await sleep(100);
    expect(must(cp.kubectl('get', 'app', 'shop', '-n', 'acme-dev', '--ignore-not-found', '-o', 'name')).stdout.trim()).toBe('');
    const again = await aerogrid(['delete', 'shop']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`error: App shop not found in namespace acme-dev; see aerogrid list --kubeconfig ${developer}`);
  });
});

describe('a cluster that never answers, and a kubeconfig that is not there', () => {
  test('a server that accepts and never answers: each command fails within --request-timeout, exit 3', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const kc = join(folder, 'silent');
    writeFileSync(kc, `apiVersion: v1
kind: Config
clusters: [{ name: silent, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: silent, context: { cluster: silent, user: u, namespace: acme-dev } }]
current-context: silent
`);
    try {
      for (const args of [['list'], ['status', 'shop'], ['push', shop, '--wait'], ['env', 'list', 'shop'], ['list', '-A']]) {
        const started = Date.now();
        const run = await aerogrid([...args, '--request-timeout', '2s'], kc);
        const took = Date.now() - started;
        expect([args.join(' '), run.code]).toEqual([args.join(' '), 3]);
        expect(run.stderr.trim()).toMatch(new RegExp(String.raw`^error: cannot .*: the cluster at https://127\.0\.0\.1:${port} did not answer within 2s \(--request-timeout\)`));
        expect(took).toBeLessThan(15_000);
      }
    } finally {
      silent.close();
    }
  }, 120_000);

  test('KUBECONFIG naming no file gets one clean line', async () => {
    const run = await aerogrid(['list'], null, { KUBECONFIG: '/no/such/kubeconfig' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: KUBECONFIG=/no/such/kubeconfig: no such file; fix KUBECONFIG or pass --kubeconfig FILE\n');
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
