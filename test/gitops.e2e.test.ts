// GitOps tier: real Argo CD v3.5.1 (built from source, out of cluster: repo-server,
// application-controller, applicationset-controller, redis) syncs aerogrid from a local Git
// repository onto real Crossplane core. Only argocd-cm's aerogrid entries and dist/argocd/root.yaml
// are applied by hand (scripts/lib/gitops.ts); everything asserted here is read from Argo CD's own
// view, the Application objects: sync status, health, and each resource's health as Argo CD's Lua
// engine computed it with dist/argocd's checks. A real node builds what Git holds with Kaniko and
// runs it: after each commit the test asks the App's pods over HTTP what they answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { waitUntil, isTrue } from '../scripts/lib/crossplane.js';
import { acmeFolder, exampleText, startGitOps, tenantFile, type AppView, type GitOps } from '../scripts/lib/gitops.js';
import { getObject, must } from '../scripts/lib/install.js';
import { ARGOCD_NAMESPACE } from '../scripts/lib/argocd.js';
import { toolPath } from '../scripts/lib/controlplane.js';
import { answer, answerWhen } from '../scripts/lib/answer.js';
import { runCli } from './helpers/cli.js';

type Obj = Record<string, any>;
let g: GitOps;
const figures: Record<string, number> = {};
const globexTenant = tenantFile(exampleText('examples/tenant.yaml').replaceAll('acme', 'globex').replace('namespaces: [dev, prod]', 'namespaces: [dev]'));
const globexApp = stringify({
  ...parseYaml(exampleText('examples/app.yaml')), metadata: { name: 'tools', namespace: 'globex-dev' },
}, { lineWidth: 0 });
const helloText = exampleText('examples/app.yaml');
let rootAppliedAt: number;

const xrds = (): Obj[] => getObject(g.p.cp, 'compositeresourcedefinitions')!.items;
const resource = (v: AppView, kind: string, name: string) => v.resources.find((r) => r.kind === kind && r.name === name);
// Fully qualified: with Argo CD installed, kubectl's `app` is Argo CD's Application (its short name).
/** Argo CD's result for one resource in the sync of `sha`, once it has failed. */
const syncFailure = (application: string, sha: string, kind: string, name: string): Promise<Obj> => waitUntil(`Argo CD to show why ${kind} ${name} failed to sync`, () => {
  const op = g.argo.application(application)?.status?.operationState;
  const r = (op?.syncResult?.resources ?? []).find((x: Obj) => x.kind === kind && x.name === name && x.status === 'SyncFailed');
  return op?.syncResult?.revision === sha && r ? r : undefined;
}, 120_000, () => JSON.stringify(g.argo.application(application)?.status?.operationState));
const app = (name: string, namespace: string) => g.p.get('apps.platform.aerogrid.io', name, namespace);
const deploymentImage = (name: string, namespace: string) => g.p.get('deployment', name, namespace)?.spec.template.spec.containers[0].image as string | undefined;

/** Each Application's name and health at every change, as a watch delivers them. */
const applicationEvents: string[] = [];
let applicationWatch: ChildProcess | undefined;
function watchApplications() {
  applicationWatch = spawn(toolPath('kubectl'), ['--kubeconfig', g.p.cp.kubeconfig, 'get', 'applications.argoproj.io', '-n', ARGOCD_NAMESPACE, '-w',
    '-o', 'jsonpath={.metadata.name} {.status.health.status}{"\\n"}'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let partial = '';
  applicationWatch.stdout!.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    applicationEvents.push(...lines.map((l) => l.trim()).filter(Boolean));
  });
}

beforeAll(async () => {
  g = await startGitOps({
    files: {
      ...acmeFolder(),
      'tenants/globex/tenant.yaml': globexTenant,
      'tenants/globex/apps/tools.yaml': globexApp,
    },
  });
  rootAppliedAt = Date.now();
  watchApplications();
}, 420_000);

afterAll(async () => {
  applicationWatch?.kill();
  if (g) {
    const rss = g.argo.rss();
    console.log(`GitOps figures: ${JSON.stringify(figures)}\nArgo CD RSS (MiB): ${Object.entries(rss).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)}`).join(', ')}`);
    await g.stop();
  }
}, 60_000);

describe('from dist/argocd/root.yaml alone', () => {
  test('the platform Application syncs first (no tenant Application before it is Healthy): Function and Configuration installed and healthy, XRDs established', async () => {
    // Every change to Argo CD's Applications, in the API server's order, from a watch started as
    // root.yaml was applied: the first tenant Application must come after the platform's first
    // Healthy (what the root Application's wave waits on). Looks at the Applications every few
    // hundred milliseconds could miss a platform Healthy for less than that, then Progressing
    // again while its own sync went on, and read the wave as not waiting.
    const first = await waitUntil('Argo CD to report aerogrid-platform Healthy and create a tenant Application', () => {
      const healthy = applicationEvents.findIndex((e) => e === 'aerogrid-platform Healthy');
      const tenant = applicationEvents.findIndex((e) => e.startsWith('tenant-'));
      return healthy >= 0 && tenant >= 0 ? { platformHealthyBeforeTenants: healthy < tenant, events: applicationEvents.slice(0, tenant + 1).join(', ') } : undefined;
    }, 240_000);
    expect(first).toEqual({ platformHealthyBeforeTenants: true, events: expect.stringContaining('aerogrid-platform') });
    const v = await g.waitFor('aerogrid-platform', 'Healthy');
    for (const kind of ['Function', 'Configuration']) {
      expect(resource(v, kind, kind === 'Function' ? 'aerogrid-function-aerogrid' : 'aerogrid')).toMatchObject({ status: 'Synced', health: { status: 'Healthy', message: 'Installed and healthy' } });
    }
    expect(isTrue(g.p.get('configuration', 'aerogrid'), 'Healthy')).toBe(true);
    // The XRDs come from the Configuration; Crossplane establishes them moments after it is Healthy.
    await waitUntil('both XRDs established', () => xrds().length === 2 && xrds().every((x) => isTrue(x, 'Established')), 30_000);
    expect(xrds().map((x) => x.metadata.name).sort()).toEqual(['apps.platform.aerogrid.io', 'tenants.platform.aerogrid.io']);
  }, 240_000);

  test('then the ApplicationSet makes one Application per tenant folder, whose first syncs succeed', async () => {
    const tenants = await waitUntil('the tenant Applications', () => {
      const names = g.argo.applications().map((a) => a.metadata.name).filter((n: string) => n.startsWith('tenant-')).sort();
      return names.length === 2 ? names : undefined;
    }, 120_000);
    expect(tenants).toEqual(['tenant-acme', 'tenant-globex']);
    // Each tenant's first sync succeeds (the Tenant, wave -1, before its Apps). A healthy
    // Configuration means Crossplane has created the XRDs, and the API server serves their CRDs
    // about a second later: a sync in that second fails and is retried once (docs/gitops.md).
    for (const name of tenants) {
      const op = await waitUntil(`the first sync of ${name} to finish`, () => {
        const o = g.argo.application(name)?.status?.operationState;
        return o && o.phase !== 'Running' ? o : undefined;
      }, 120_000);
      expect({ name, phase: op.phase }).toEqual({ name, phase: 'Succeeded' });
      expect(op.retryCount ?? 0).toBeLessThanOrEqual(1);
    }
    const platform = g.argo.application('aerogrid')!;
    expect(platform.spec.project).toBe('aerogrid-platform');
  }, 180_000);

  test('the Tenant goes Healthy through Argo CD\'s Lua engine running dist/argocd\'s check', async () => {
    const v = await waitUntil('Argo CD to report Tenant acme Healthy', () => {
      const view = g.view('tenant-acme');
      return resource(view, 'Tenant', 'acme')?.health?.status === 'Healthy' ? view : undefined;
    }, 120_000, () => JSON.stringify(g.view('tenant-acme')));
    expect(resource(v, 'Tenant', 'acme')!.health.message).toMatch(/namespace/);
    expect(g.p.get('tenant', 'acme')!.status.phase).toBe('Ready');
  }, 180_000);

  test('the App goes Progressing (Building), then Healthy with the message the Lua check writes, and answers', async () => {
    // A real build takes Kaniko some 15 s: long enough for Argo CD to look while it runs.
    await waitUntil('App hello to be Building', () => app('hello', 'acme-dev')?.status?.phase === 'Building', 120_000);
    // Argo CD 3 ignores updates to a tracked object's status unless its health status changes, so
    // the message of a Progressing App is the one of Argo CD's last look. A refresh (the UI's
    // button, or the next timeout.reconciliation) shows the current one.
    expect(resource(g.view('tenant-acme'), 'App', 'hello')?.health?.status).toBe('Progressing');
    g.refresh('tenant-acme');
    const building = await waitUntil('Argo CD to report App hello Progressing while it builds', () => {
      const r = resource(g.view('tenant-acme'), 'App', 'hello');
      return r?.health?.status === 'Progressing' && /^building sha256:/.test(r.health.message ?? '') ? r : undefined;
    }, 60_000, () => JSON.stringify(g.view('tenant-acme')));
    expect(building.health.message).toMatch(/\((pending|running)\)/);
    const v = await g.waitFor('tenant-acme', 'Healthy');
    figures.rootToAllHealthyS = (Date.now() - rootAppliedAt) / 1000;
    const hello = resource(v, 'App', 'hello')!;
    expect(hello.health.message).toMatch(/^serving sha256:[0-9a-f]+… at https:\/\/apps\.example\.com\//);
    expect(hello.health.message).toContain(app('hello', 'acme-dev')!.status.url);
    await g.waitFor('tenant-globex', 'Healthy');
    await g.waitFor('aerogrid', 'Healthy');
    expect(g.p.buildsOf('acme-dev', 'hello')).toHaveLength(1);
    expect(JSON.parse(await answer(g.p, 'acme-dev', 'hello'))).toEqual({ message: 'hello from aerogrid' });
  }, 300_000);

  test('Argo CD tracks only what Git holds: composed objects carry no tracking annotation and are not its resources', () => {
    const v = g.view('tenant-acme');
    expect(v.resources.map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['App/hello', 'Tenant/acme']);
    expect(app('hello', 'acme-dev')!.metadata.annotations['argocd.argoproj.io/tracking-id']).toBe('tenant-acme:platform.aerogrid.io/App:acme-dev/hello');
    for (const kind of ['deployment', 'service', 'job', 'configmap']) {
      const items: Obj[] = JSON.parse(must(g.p.cp.kubectl('get', kind, '-n', 'acme-dev', '-o', 'json')).stdout).items;
      const tracked = items.filter((o) => o.metadata.annotations?.['argocd.argoproj.io/tracking-id'] || o.metadata.labels?.['app.kubernetes.io/instance']);
      expect(tracked.map((o) => o.metadata.name)).toEqual([]);
    }
  });
});

describe('Git drives change', () => {
  test('a commit that edits app.py causes exactly one build, and the App goes Healthy again and answers anew', async () => {
    const before = app('hello', 'acme-dev')!.status.sourceDigest ?? deploymentImage('hello', 'acme-dev');
    const start = Date.now();
    const sha = g.commit('tenant-acme', 'hello: says where it comes from', { 'tenants/acme/apps/hello.yaml': helloText.replace('"message": os.environ.get("GREETING", "hello")}', '"message": os.environ.get("GREETING", "hello"), "from": "git"}') });
    await waitUntil('the new source to be built and served', () => {
      const a = app('hello', 'acme-dev');
      return a?.status?.phase === 'Ready' && deploymentImage('hello', 'acme-dev') !== before && (a.status.sourceDigest ?? deploymentImage('hello', 'acme-dev')) !== before;
    }, 180_000);
    const v = await g.waitFor('tenant-acme', 'Healthy', { revision: sha });
    figures.commitToHealthyS = (Date.now() - start) / 1000;
    expect(resource(v, 'App', 'hello')!.health.message).toMatch(/^serving sha256:/);
    expect(g.p.buildsOf('acme-dev', 'hello')).toHaveLength(2);
    expect(JSON.parse(await answerWhen(g.p, 'acme-dev', 'hello', (b) => b.includes('"from"'), 30_000))).toEqual({ message: 'hello from aerogrid', from: 'git' });
  }, 240_000);

  test('an invalid App is refused with the field named in Argo CD\'s status, and the running App is untouched', async () => {
    const served = deploymentImage('hello', 'acme-dev');
    const invalid = exampleText('examples/invalid/app-runtime.yaml');
    const field = /^# expect: ([^:]+):/m.exec(invalid)![1];
    const sha = g.commit('tenant-acme', 'broken: an App with a runtime that is not offered', { 'tenants/acme/apps/broken.yaml': invalid });
    const failed = await syncFailure('tenant-acme', sha, 'App', 'broken');
    // The API server's own words, through Argo CD: the field, and what is allowed there.
    expect(failed.message).toContain(`${field}: Unsupported value: "python3.12": supported values: "python3.13", "python3.11"`);
    expect(g.view('tenant-acme').sync).toBe('OutOfSync');
    expect(app('broken', 'acme-dev')).toBeUndefined();
    expect(deploymentImage('hello', 'acme-dev')).toBe(served);
    expect(app('hello', 'acme-dev')!.status.phase).toBe('Ready');

    // The fix is a commit too; the retry takes it (retry.refresh) instead of retrying the broken one.
    const fixed = g.commit('tenant-acme', 'broken: removed', { 'tenants/acme/apps/broken.yaml': null });
    await g.waitFor('tenant-acme', 'Healthy', { revision: fixed, timeoutMs: 120_000 });
  }, 300_000);

  test('an App the function refuses (FATAL) turns Degraded in Argo CD with the function\'s message; others keep running', async () => {
    const invalid = exampleText('examples/invalid/app-group-not-in-tenant.yaml');
    const expected = /^# expect: (.*)$/m.exec(invalid)![1];
    const name = parseYaml(invalid).metadata.name as string;
    g.commit('tenant-acme', 'an App whose access names a group the tenant does not have', { [`tenants/acme/apps/${name}.yaml`]: invalid });
    const v = await waitUntil('Argo CD to report the App Degraded', () => {
      const view = g.view('tenant-acme');
      return resource(view, 'App', name)?.health?.status === 'Degraded' ? view : undefined;
    }, 120_000, () => JSON.stringify(g.view('tenant-acme')));
    expect(resource(v, 'App', name)!.health.message).toContain(expected);
    expect(v.health).toBe('Degraded');
    expect(app('hello', 'acme-dev')!.status.phase).toBe('Ready');
    const fixed = g.commit('tenant-acme', 'removed again', { [`tenants/acme/apps/${name}.yaml`]: null });
    await g.waitFor('tenant-acme', 'Healthy', { revision: fixed });
  }, 240_000);

  test('removing a Tenant that still has Apps is refused by the deletion policy, and Argo CD shows why', async () => {
    const sha = g.commit('tenant-globex', 'globex: tenant removed, its App left behind', { 'tenants/globex/tenant.yaml': null });
    const refused = await syncFailure('tenant-globex', sha, 'Tenant', 'globex');
    expect(refused.message).toMatch(/aerogrid-tenant-deletion/);
    expect(refused.message).toContain('tenant globex still has 1 App(s); delete them first');
    expect(g.p.get('tenant', 'globex')?.metadata.deletionTimestamp).toBeUndefined();
    expect(g.p.get('namespace', 'globex-dev')?.status.phase).toBe('Active');
    const back = g.commit('tenant-globex', 'globex: tenant restored', { 'tenants/globex/tenant.yaml': globexTenant });
    await g.waitFor('tenant-globex', 'Healthy', { revision: back });
  }, 240_000);

  test('a commit that removes an App prunes it, and its composed objects go', async () => {
    const sha = g.commit('tenant-globex', 'globex: tools retired', { 'tenants/globex/apps/tools.yaml': null });
    await g.waitFor('tenant-globex', 'Healthy', { revision: sha });
    await waitUntil('App tools and what it composed to be gone', () => {
      if (app('tools', 'globex-dev')) return false;
      const left = ['deployment', 'service', 'job', 'virtualservices.networking.istio.io', 'authorizationpolicies.security.istio.io']
        .flatMap((kind) => JSON.parse(must(g.p.cp.kubectl('get', kind, '-n', 'globex-dev', '-l', 'platform.aerogrid.io/app=tools', '-o', 'json')).stdout).items);
      return left.length === 0;
    }, 120_000);
    expect(g.view('tenant-globex').resources.map((r) => `${r.kind}/${r.name}`)).toEqual(['Tenant/globex']);
  }, 180_000);
});

describe('drift', () => {
  test('a composed object deleted by hand is healed by Crossplane, and Argo CD stays Synced', async () => {
    const uid = g.p.get('service', 'hello', 'acme-dev')!.metadata.uid;
    const seen = new Set<string>();
    must(g.p.cp.kubectl('delete', 'service', 'hello', '-n', 'acme-dev', '--wait=false'));
    await waitUntil('Crossplane to bring the Service back', () => {
      seen.add(`${g.view('tenant-acme').sync}`);
      const s = g.p.get('service', 'hello', 'acme-dev');
      return s && s.metadata.uid !== uid;
    }, 60_000);
    for (let i = 0; i < 8; i++) {
      seen.add(`${g.view('tenant-acme').sync}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect([...seen]).toEqual(['Synced']);
  }, 120_000);

  test('an App edited by hand with kubectl is put back by Argo CD\'s self-heal', async () => {
    const before = app('hello', 'acme-dev')!;
    const replicas = before.spec.replicas;
    const patched = must(g.p.cp.kubectl('patch', 'app', 'hello', '-n', 'acme-dev', '--type=merge', '-p', JSON.stringify({ spec: { replicas: replicas + 3 } }), '-o', 'json'));
    // What the API server stored (Argo CD may put it back before a second read could see it).
    expect(JSON.parse(patched.stdout).spec.replicas).toBe(replicas + 3);
    // Put back: the same replicas at a later generation (the edit's, then self-heal's).
    await waitUntil('Argo CD to put spec.replicas back', () => {
      const now = app('hello', 'acme-dev')!;
      return now.spec.replicas === replicas && now.metadata.generation >= before.metadata.generation + 2;
    }, 60_000);
    await g.waitFor('tenant-acme', 'Healthy');
  }, 120_000);
});

describe('the CLI beside Argo CD', () => {
  test('aerogrid push refuses an App that Git manages, naming Argo CD\'s Application', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aerogrid-push-'));
    writeFileSync(join(dir, 'app.py'), 'print("not from Git")\n');
    const r = await runCli(['push', dir, '--name', 'hello', '-n', 'acme-dev'], g.p.cp.kubeconfig);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('App hello is managed by Argo CD Application tenant-acme');
    expect(r.stderr).toContain('--force');
  }, 60_000);
});
