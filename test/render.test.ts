// Tier T2: the official `crossplane` CLI v2.3.4 against the function.
//
// `crossplane composition render` runs Crossplane core's own render engine (--crossplane-binary:
// the core built by scripts/tools.sh, no Docker) over the examples and Compositions in dist/,
// calling the function started with --insecure through examples/functions.yaml. An App's life
// cycle is played as observed resources, step by step. `crossplane resource validate` then checks
// what was rendered against the XRDs and Istio's own CRDs, with its cache seeded offline from the
// Crossplane CRDs of the source archive (it would otherwise download the Crossplane package).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { toolPath } from '../scripts/lib/controlplane.js';
import { startFunction, type FunctionProcess } from '../scripts/lib/function.js';
import { scrape, total } from '../scripts/lib/metrics.js';
import { ROOT, exampleApp, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let fn: FunctionProcess;
let cli: string;
let core: string;
const dir = mkdtempSync(join(tmpdir(), 'aerogrid-render-'));

beforeAll(async () => {
  cli = toolPath('crossplane-cli');
  core = toolPath('crossplane');
  fn = await startFunction(['--insecure']);
});
afterAll(async () => {
  await fn?.stop();
});

const write = (name: string, objects: unknown[]) => {
  const file = join(dir, name);
  writeFileSync(file, objects.map((o) => `---\n${stringify(o)}`).join(''));
  return file;
};

/** `crossplane composition render` of an XR; returns the XR (with -x, whole) and the composed objects by their composition-resource-name. */
function render(xr: Obj, api: 'tenants' | 'apps', opts: { observed?: Obj[]; required?: Obj[]; target?: FunctionProcess } = {}): { xr: Obj; composed: Record<string, Obj>; results: Obj[] } {
  const args = ['composition', 'render', write('xr.yaml', [xr]), `${ROOT}/dist/configuration/apis/${api}/composition.yaml`, `${ROOT}/examples/functions.yaml`,
    '--xrd', `${ROOT}/dist/configuration/apis/${api}/definition.yaml`, '--crossplane-binary', core, '-x', '-r',
    '-a', `render.crossplane.io/runtime-development-target=${(opts.target ?? fn).address}`];
  if (opts.observed?.length) args.push('--observed-resources', write('observed.yaml', opts.observed));
  if (opts.required?.length) args.push('--required-resources', write('required.yaml', opts.required));
  const r = spawnSync(cli, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`crossplane composition render failed (${r.status}):\n${r.stderr}`);
  writeFileSync(join(dir, `rendered-${api}.yaml`), r.stdout);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
  const composed: Record<string, Obj> = {};
  // A build's Job and context have keys of their own (build-job-<digest>); here they go by their role.
  const role = (k: string) => k.replace(/^build-job-.*/, 'job').replace(/^build-context-.*/, 'build-context');
  for (const d of docs.slice(1).filter((o) => o.kind !== 'Result')) composed[role(d.metadata.annotations['crossplane.io/composition-resource-name'])] = d;
  return { xr: docs[0], composed, results: docs.filter((o) => o.kind === 'Result') };
}

/** What Crossplane hands the App's function as required resources: its namespace and the Tenant owning it. */
const appRequired = () => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-dev', labels: { 'platform.aerogrid.io/tenant': 'acme' } } },
  exampleTenant(),
];
const kinds = (composed: Record<string, Obj>) => Object.values(composed).map((o) => o.kind).sort();
const withStatus = (o: Obj, status: Obj) => ({ ...o, status });

describe('crossplane composition render (core v2.3.4\'s render engine) of the examples', () => {
  test('a new Tenant composes its Namespaces first; with them observed, everything else', () => {
    const first = render(exampleTenant(), 'tenants');
    expect(kinds(first.composed)).toEqual(['Namespace', 'Namespace']);
    expect(first.xr.status.phase).toBe('Pending');
    const second = render(exampleTenant(), 'tenants', { observed: Object.values(first.composed).map((n) => withStatus(n, { phase: 'Active' })) });
    expect(Object.keys(second.composed)).toHaveLength(36);
    expect(new Set(kinds(second.composed))).toEqual(new Set(['AuthorizationPolicy', 'ConfigMap', 'LimitRange', 'Namespace', 'NetworkPolicy', 'PeerAuthentication', 'ResourceQuota', 'Role', 'RoleBinding']));
    expect(second.xr.status.namespaces).toEqual(['acme-dev', 'acme-prod']);
  });

  test('every file in examples/ that is an XR renders without a FATAL result', () => {
    for (const file of readdirSync(`${ROOT}/examples`).filter((f) => f.endsWith('.yaml') && f !== 'functions.yaml')) {
      const xr = parseAllDocuments(readFileSync(`${ROOT}/examples/${file}`, 'utf8'))[0].toJS() as Obj;
      const out = render(xr, xr.kind === 'App' ? 'apps' : 'tenants', { required: xr.kind === 'App' ? appRequired() : [] });
      expect(out.results.filter((r) => r.severity !== 'Normal')).toEqual([]);
      expect(Object.keys(out.composed).length).toBeGreaterThan(0);
    }
  });
});

describe('an App\'s life cycle, played as observed resources through crossplane composition render', () => {
  // Each step: what Crossplane would observe, and what the function must then decide.
  let step: ReturnType<typeof render>;
  const observedAfter = (s: ReturnType<typeof render>, patch: Record<string, Obj | undefined>) =>
    Object.entries(s.composed).map(([k, o]) => (k in patch ? (patch[k] ? withStatus(o, patch[k]!) : undefined) : o)).filter(Boolean) as Obj[];
  const xrWith = (status: Obj, files?: Obj[]) => {
    const app = exampleApp() as Obj;
    if (files) app.spec.files = files;
    return { ...app, metadata: { ...app.metadata, generation: 1 }, status };
  };

  test('1. applied: a build Job and its context, no Deployment yet', () => {
    step = render(xrWith({}), 'apps', { required: appRequired() });
    expect(step.xr.status.phase).toBe('Building');
    expect(kinds(step.composed)).toEqual(['AuthorizationPolicy', 'ConfigMap', 'Job', 'RequestAuthentication', 'Service', 'VirtualService']);
  });

  test('2. build running: still Building, and says so', () => {
    step = render(xrWith(step.xr.status), 'apps', { required: appRequired(), observed: observedAfter(step, { job: { active: 1, startTime: '2026-01-01T00:00:00Z' } }) });
    expect(step.xr.status).toMatchObject({ phase: 'Building', build: { phase: 'Running' } });
  });

  test('3. build done: Deploying, with the built image in the Deployment', () => {
    step = render(xrWith(step.xr.status), 'apps', { required: appRequired(), observed: observedAfter(step, { job: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } }) });
    expect(step.xr.status.phase).toBe('Deploying');
    expect(step.composed.deployment.spec.template.spec.containers[0].image).toBe(step.xr.status.image);
  });

  let servedImage: string;
  test('4. Deployment available: Ready, with the URL', () => {
    const deployment = step.composed.deployment;
    step = render(xrWith(step.xr.status), 'apps', {
      required: appRequired(),
      observed: [...observedAfter(step, {}).filter((o) => o.kind !== 'Deployment'),
        withStatus({ ...deployment, metadata: { ...deployment.metadata, generation: 1 } }, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] })],
    });
    expect(step.xr.status).toMatchObject({ phase: 'Ready', url: 'https://apps.example.com/apps/acme-dev/hello/' });
    servedImage = step.xr.status.image;
  });

  let ready: ReturnType<typeof render>;
  test('5. source edited: a new build, and the Deployment keeps serving the last good image', () => {
    ready = step;
    const files = (exampleApp() as Obj).spec.files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: `${f.content}\n# edited\n` } : f));
    step = render(xrWith(ready.xr.status, files), 'apps', { required: appRequired(), observed: observedAfter(ready, {}) });
    expect(step.xr.status.phase).toBe('Building');
    expect(step.composed.job.metadata.name).not.toBe(ready.xr.status.build?.job ?? '');
    // Under a key of its own: Crossplane would apply a Job under the previous build's key onto that build's Job.
    expect(step.composed.job.metadata.annotations['crossplane.io/composition-resource-name']).toBe(`build-job-${step.composed.job.metadata.name.split('-build-').pop()}`);
    expect(step.composed.deployment.spec.template.spec.containers[0].image).toBe(servedImage);
  });

  test('6. that build failed: Failed with the reason, nothing running touched, a warning result', () => {
    const files = (exampleApp() as Obj).spec.files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: `${f.content}\n# edited\n` } : f));
    const failed = { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] };
    step = render(xrWith(step.xr.status, files), 'apps', { required: appRequired(), observed: [...observedAfter(ready, { job: undefined }), withStatus(step.composed.job, failed)] });
    expect(step.xr.status.phase).toBe('Failed');
    expect(step.xr.status.message).toMatch(/build of sha256:[0-9a-f]+… failed: .*backoff limit/);
    expect(step.composed.deployment.spec.template.spec.containers[0].image).toBe(servedImage);
    expect(step.results.some((r) => r.severity === 'Warning' && /still serving/.test(r.message))).toBe(true);
  });
});

describe('how many calls Crossplane makes to render an App (its engine fetches required resources between them)', () => {
  // Crossplane calls again while the requirements a call returns differ from the last call's.
  // Counted by the function's own metric, on a process of its own so that no other test's App
  // left a tenant hint behind.
  let own: FunctionProcess;
  beforeAll(async () => {
    own = await startFunction(['--insecure']);
  });
  afterAll(async () => {
    await own?.stop();
  });
  const appCalls = async () => total(await scrape(own.metricsPort), 'aerogrid_function_requests_total', { kind: 'App' });
  const renderCounted = async (xr: Obj, required: Obj[]) => {
    const before = await appCalls();
    let out: ReturnType<typeof render> | undefined;
    let error: string | undefined;
    try {
      out = render(xr, 'apps', { required, target: own });
    } catch (err) {
      error = String(err);
    }
    return { out, error, calls: (await appCalls()) - before };
  };
  const inNamespace = (ns: string) => ({ ...(exampleApp() as Obj), metadata: { name: 'hello', namespace: ns } });
  const namespace = (name: string, tenant: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'platform.aerogrid.io/tenant': tenant } } });

  test('three calls in a namespace it has not seen, two once it knows the tenant, and the same render', async () => {
    const first = await renderCounted(inNamespace('acme-prod'), [namespace('acme-prod', 'acme'), exampleTenant()]);
    expect([first.error, first.calls]).toEqual([undefined, 3]);
    const again = await renderCounted(inNamespace('acme-prod'), [namespace('acme-prod', 'acme'), exampleTenant()]);
    expect([again.error, again.calls]).toEqual([undefined, 2]);
    expect(again.out!.composed).toEqual(first.out!.composed);
    expect(again.out!.xr.status).toEqual(first.out!.xr.status);
  });

  test('a guess the namespace\'s label contradicts costs a third call, and the label wins', async () => {
    // acme-prod now says it belongs to globex, which does not claim it: the guess (acme) is not used.
    const globex = { ...exampleTenant(), metadata: { name: 'globex' } };
    const moved = await renderCounted(inNamespace('acme-prod'), [namespace('acme-prod', 'globex'), exampleTenant(), globex]);
    expect(moved.calls).toBe(3);
    expect(moved.error).toContain("namespace acme-prod is not one of tenant globex's namespaces (globex-dev, globex-prod)");
    // The guess named a tenant that is gone and the label one that does not exist: refused for the label's.
    const gone = await renderCounted(inNamespace('acme-prod'), [namespace('acme-prod', 'initech')]);
    expect(gone.calls).toBe(3);
    expect(gone.error).toContain('namespace acme-prod names tenant initech, which does not exist');
  });
});

describe('crossplane resource validate', () => {
  test('what was rendered is valid against the XRDs and Istio\'s CRDs, offline', () => {
    // The extensions: our XRDs and the Istio CRDs the objects are checked against.
    const extensions = join(dir, 'extensions');
    mkdirSync(extensions, { recursive: true });
    for (const api of ['tenants', 'apps']) writeFileSync(join(extensions, `${api}.yaml`), readFileSync(`${ROOT}/dist/configuration/apis/${api}/definition.yaml`));
    writeFileSync(join(extensions, 'istio.yaml'), spawnSync('bash', [`${ROOT}/scripts/imports.sh`, '--print-crds'], { encoding: 'utf8' }).stdout);
    // Its cache, seeded with Crossplane's own CRDs where it would download the Crossplane package.
    const cache = join(dir, 'validate-cache');
    const src = spawnSync('bash', [`${ROOT}/scripts/tools.sh`, 'crossplane-src'], { encoding: 'utf8' }).stdout.trim();
    const seeded = join(cache, 'xpkg.crossplane.io/crossplane/crossplane@v2.3.4');
    mkdirSync(seeded, { recursive: true });
    const crds = join(src, 'crossplane/cluster/crds');
    writeFileSync(join(seeded, 'package.yaml'), readdirSync(crds).sort().map((f) => `${readFileSync(join(crds, f), 'utf8')}\n---\n`).join(''));
    for (const api of ['tenants', 'apps']) {
      const r = spawnSync(cli, ['resource', 'validate', extensions, join(dir, `rendered-${api}.yaml`), '--cache-dir', cache], { encoding: 'utf8', timeout: 60_000 });
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/\[x\]|downloading/);
      expect(r.stdout).toMatch(/Total \d+ resources: \d+ missing schemas, [1-9]\d* success cases, 0 failure cases/);
      expect(r.status).toBe(0);
    }
  });

  test('and it catches a composed object Istio would refuse (the check can fail)', () => {
    const rendered = parseAllDocuments(readFileSync(join(dir, 'rendered-apps.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    const broken = rendered.map((o) => (o.kind === 'RequestAuthentication' ? { ...o, spec: { ...o.spec, jwtRules: [{ issuer: 42 }] } } : o));
    const file = write('broken.yaml', broken);
    const r = spawnSync(cli, ['resource', 'validate', join(dir, 'extensions'), file, '--cache-dir', join(dir, 'validate-cache')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/\[x\] schema validation error security\.istio\.io\/v1, Kind=RequestAuthentication, hello : spec\.jwtRules\[0\]\.issuer/);
  });
});
