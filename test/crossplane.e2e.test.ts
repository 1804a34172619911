// Tier T3: aerogrid reconciled by real Crossplane core v2.3.4 on a local control plane.
//
// etcd, kube-apiserver and kube-controller-manager run as local processes, with a real node
// (kubelet, kube-scheduler, containerd: scripts/lib/node.ts); Crossplane core runs as a process
// against them, with aerogrid's Function and Configuration packages pushed to a local registry
// and installed by its package manager. The function is served over mTLS with Crossplane's own
// client certificates (made by `crossplane core init`). Kaniko builds each App's image on the
// node, its pods run there, and the tests ask them over HTTP.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil, isTrue } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { PACKAGE_VERSION, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { answer, answerWhen } from '../scripts/lib/answer.js';
import { exampleApp, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
const timings: Record<string, number> = {};
const heal: string[] = [];
let tenantGeneration: number;
let quietSince: number;

beforeAll(async () => {
  p = await startPlatform();
}, 300_000);

afterAll(async () => {
  const file = join(tmpdir(), 'aerogrid-heal-times.md');
  writeFileSync(file, `| composed object | what was done | healed in |\n|---|---|---|\n${heal.join('\n')}\n`);
  console.log(`T3 timings: ${JSON.stringify(timings)}\nheal times (also in ${file}):\n${heal.join('\n')}`);
  await p?.stop();
}, 60_000);

const ms = (since: number) => Date.now() - since;
const events = (kind: string, name: string, namespace = 'default'): Obj[] =>
  JSON.parse(must(p.cp.kubectl('get', 'events', '-n', namespace, '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`, '-o', 'json')).stdout).items;

describe('a Tenant on real Crossplane', () => {
  test('a fresh two-namespace Tenant is Ready within 15 s, with no failed apply and the watch circuit breaker never open', async () => {
    const start = Date.now();
    must(p.cp.apply([exampleTenant()]));
    let opened: Obj | undefined;
    await waitUntil('Tenant acme Ready', () => {
      const t = p.get('tenant', 'acme');
      const responsive = (t?.status?.conditions ?? []).find((c: Obj) => c.type === 'Responsive');
      if (responsive?.status === 'False') opened ??= responsive;
      return t?.status?.phase === 'Ready' && isTrue(t, 'Ready');
    }, 30_000);
    timings.tenantReadyMs = ms(start);
    expect(timings.tenantReadyMs).toBeLessThanOrEqual(15_000);
    expect(opened).toBeUndefined();
    const failed = events('Tenant', 'acme').filter((e) => /cannot apply composed resource/.test(e.message));
    expect(failed.map((e) => e.message)).toEqual([]);
    const t = p.get('tenant', 'acme')!;
    expect((t.status.conditions as Obj[]).find((c) => c.type === 'Responsive')).toMatchObject({ status: 'True', reason: 'WatchCircuitClosed' });
    expect(t.status.namespaces).toEqual(['acme-dev', 'acme-prod']);
    tenantGeneration = t.metadata.generation;
    quietSince = Date.now();
  }, 60_000);

  test('the function is served with the certificates `crossplane core init` made, which OpenSSL alone refuses', () => {
    // Crossplane composed the Tenant, so its calls were accepted; check what they were made with.
    const secret = JSON.parse(must(p.cp.kubectl('get', 'secret', 'crossplane-tls-client', '-n', 'crossplane-system', '-o', 'json')).stdout);
    const client = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    expect(client.subject).toBe(ca.subject);
    expect(client.verify(ca.publicKey)).toBe(true);
    const logs = p.xp.functionLogs();
    expect(logs).toContain('"msg":"rendered"');
    expect(logs).not.toContain('refused a TLS');
  });
});

describe('an App on real Crossplane', () => {
  test('goes from apply to Ready through one build by Kaniko, and its pods answer', async () => {
    const start = Date.now();
    must(p.cp.apply([exampleApp()]));
    const app = await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 120_000);
    timings.appReadyMs = ms(start);
    expect(app.status.url).toBe('https://apps.example.com/apps/acme-dev/hello/');
    expect(p.buildsOf('acme-dev', 'hello')).toHaveLength(1);
    // Flask from the package index, the GREETING from spec.env, on two replicas.
    expect(JSON.parse(await answer(p, 'acme-dev', 'hello'))).toEqual({ message: 'hello from aerogrid' });
    expect(await answer(p, 'acme-dev', 'hello', '/healthz')).toBe('ok');
    // The Tenant now counts the App (through Crossplane's required resources).
    await waitUntil('Tenant acme to count 1 App', () => p.get('tenant', 'acme')?.status?.apps === 1, 30_000);
  }, 60_000);
});

interface Composed { kind: string; resource: string; name: string; namespace: string; drift: Obj; back: (o: Obj) => boolean }
const composed: Composed[] = [
  { kind: 'ResourceQuota', resource: 'resourcequota', name: 'aerogrid-quota', namespace: 'acme-dev', drift: { spec: { hard: { pods: '999' } } }, back: (o) => o.spec.hard.pods !== '999' },
  { kind: 'LimitRange', resource: 'limitrange', name: 'aerogrid-limits', namespace: 'acme-dev', drift: { spec: { limits: [{ type: 'Container', default: { cpu: '8' } }] } }, back: (o) => o.spec.limits[0].default.cpu !== '8' },
  { kind: 'ConfigMap (tenant directory)', resource: 'configmap', name: 'aerogrid-tenant', namespace: 'acme-dev', drift: { data: { namespaces: 'elsewhere' } }, back: (o) => o.data.namespaces === 'acme-dev\nacme-prod' },
  { kind: 'Role', resource: 'role', name: 'aerogrid-operator', namespace: 'acme-dev', drift: { rules: [] }, back: (o) => (o.rules ?? []).length > 0 },
  { kind: 'RoleBinding', resource: 'rolebinding', name: 'aerogrid-admin', namespace: 'acme-dev', drift: { subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'intruders' }] }, back: (o) => !o.subjects.some((s: Obj) => s.name === 'intruders') },
  { kind: 'NetworkPolicy', resource: 'networkpolicy', name: 'aerogrid-default-deny', namespace: 'acme-dev', drift: { spec: { policyTypes: ['Ingress'] } }, back: (o) => o.spec.policyTypes.includes('Egress') },
  { kind: 'PeerAuthentication', resource: 'peerauthentications.security.istio.io', name: 'default', namespace: 'acme-dev', drift: { spec: { mtls: { mode: 'PERMISSIVE' } } }, back: (o) => o.spec.mtls.mode === 'STRICT' },
  { kind: 'AuthorizationPolicy (tenant)', resource: 'authorizationpolicies.security.istio.io', name: 'aerogrid-tenant-isolation', namespace: 'acme-dev', drift: { spec: { action: 'AUDIT' } }, back: (o) => o.spec.action === 'DENY' },
  { kind: 'Deployment', resource: 'deployment', name: 'hello', namespace: 'acme-dev', drift: { spec: { replicas: 7 } }, back: (o) => o.spec.replicas === 2 },
  { kind: 'Service', resource: 'service', name: 'hello', namespace: 'acme-dev', drift: { spec: { ports: [{ name: 'http', port: 80, targetPort: 9999, protocol: 'TCP' }] } }, back: (o) => o.spec.ports[0].targetPort !== 9999 },
  { kind: 'VirtualService', resource: 'virtualservices.networking.istio.io', name: 'hello', namespace: 'acme-dev', drift: { spec: { hosts: ['evil.example.com'] } }, back: (o) => !o.spec.hosts.includes('evil.example.com') },
  { kind: 'RequestAuthentication', resource: 'requestauthentications.security.istio.io', name: 'hello', namespace: 'acme-dev', drift: { spec: { jwtRules: [{ issuer: 'https://evil.example.com/' }] } }, back: (o) => o.spec.jwtRules[0].issuer !== 'https://evil.example.com/' },
  { kind: 'AuthorizationPolicy (app)', resource: 'authorizationpolicies.security.istio.io', name: 'hello', namespace: 'acme-dev', drift: { spec: { action: 'AUDIT', rules: [{}] } }, back: (o) => o.spec.action === 'ALLOW' },
];

describe('Crossplane heals every composed kind', () => {
  const budget = 5_000;
  test.each(composed)('$kind deleted by hand comes back within 5 s', async (c) => {
    const before = p.get(c.resource, c.name, c.namespace)!;
    expect(before).toBeDefined();
    const start = Date.now();
    must(p.cp.kubectl('delete', c.resource, c.name, '-n', c.namespace, '--wait=false'));
    await waitUntil(`${c.kind} ${c.name} to come back`, () => {
      const o = p.get(c.resource, c.name, c.namespace);
      return o && o.metadata.uid !== before.metadata.uid && !o.metadata.deletionTimestamp;
    }, 30_000);
    const took = ms(start);
    heal.push(`| ${c.kind} ${c.namespace}/${c.name} | deleted | ${(took / 1000).toFixed(2)} s |`);
    expect(took).toBeLessThanOrEqual(budget);
  }, 40_000);

  test.each(composed)('$kind edited by hand is put back within 5 s', async (c) => {
    const start = Date.now();
    must(p.cp.kubectl('patch', c.resource, c.name, '-n', c.namespace, '--type=merge', '-p', JSON.stringify(c.drift)));
    await waitUntil(`${c.kind} ${c.name} to be put back`, () => {
      const o = p.get(c.resource, c.name, c.namespace);
      return o && c.back(o);
    }, 30_000, () => JSON.stringify(p.get(c.resource, c.name, c.namespace)?.spec ?? null));
    const took = ms(start);
    heal.push(`| ${c.kind} ${c.namespace}/${c.name} | edited (${JSON.stringify(c.drift).slice(0, 60)}) | ${(took / 1000).toFixed(2)} s |`);
    expect(took).toBeLessThanOrEqual(budget);
  }, 40_000);

  test('a tenant Namespace stripped of its Pod Security label gets it back within 5 s', async () => {
    const start = Date.now();
    must(p.cp.kubectl('label', 'namespace', 'acme-prod', 'pod-security.kubernetes.io/enforce-'));
    await waitUntil('the enforce label back', () => p.get('namespace', 'acme-prod')?.metadata.labels['pod-security.kubernetes.io/enforce'] === 'baseline', 30_000);
    const took = ms(start);
    heal.push(`| Namespace acme-prod | label pod-security.kubernetes.io/enforce removed | ${(took / 1000).toFixed(2)} s |`);
    expect(took).toBeLessThanOrEqual(budget);
  }, 40_000);

  test('through all of that the Tenant\'s breaker stayed closed and no build was repeated', () => {
    const t = p.get('tenant', 'acme')!;
    expect((t.status.conditions as Obj[]).find((c) => c.type === 'Responsive')?.status).toBe('True');
    expect(p.buildsOf('acme-dev', 'hello')).toHaveLength(1);
  });
});

describe('the function killed mid-reconcile', () => {
  test('converges after its restart, with exactly one build for the new source, which then answers', async () => {
    const app = exampleApp() as Obj;
    app.spec.files = app.spec.files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: f.content.replace('return {"message": os.environ.get("GREETING", "hello")}', 'return {"message": os.environ.get("GREETING", "hello"), "edit": 2}') } : f));
    must(p.cp.apply([app]));
    await p.xp.killFunction();
    const start = Date.now();
    const ready = await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 120_000);
    timings.recoverAfterKillMs = ms(start);
    expect(ready.status.observedGeneration).toBe(p.get('app', 'hello', 'acme-dev')!.metadata.generation);
    expect(p.buildsOf('acme-dev', 'hello')).toHaveLength(2);
    expect(p.buildsOf('acme-dev', 'hello')[1]).toContain(ready.status.sourceDigest.slice(7, 17));
    expect(JSON.parse(await answerWhen(p, 'acme-dev', 'hello', (b) => b.includes('"edit"'), 30_000))).toEqual({ message: 'hello from aerogrid', edit: 2 });
  }, 180_000);
});

describe('a package upgrade', () => {
  test('a new function version gets a new revision and process; no XR is left failing and no build is repeated', async () => {
    const buildsBefore = p.builds().length;
    const before = JSON.parse(must(p.cp.kubectl('get', 'functionrevisions', '-o', 'json')).stdout).items.map((r: Obj) => r.metadata.name);
    p.xp.publish('v0.1.1');
    await p.xp.upgradeFunction('v0.1.1');
    const revisions: Obj[] = JSON.parse(must(p.cp.kubectl('get', 'functionrevisions', '-o', 'json')).stdout).items;
    const active = revisions.filter((r) => r.spec.desiredState === 'Active');
    expect(active).toHaveLength(1);
    expect(before).not.toContain(active[0].metadata.name);
    // Both XRs reconcile through the new revision: touch them and wait for Synced and Ready.
    for (const [kind, name, ns] of [['tenant', 'acme', undefined], ['app', 'hello', 'acme-dev']] as const) {
      must(p.cp.kubectl('annotate', kind, name, ...(ns ? ['-n', ns] : []), `aerogrid.test/upgraded=${PACKAGE_VERSION}-to-v0.1.1`, '--overwrite'));
    }
    await waitUntil('the new function to serve a call', () => /"msg":"rendered"/.test(p.xp.functionLogs()), 60_000);
    for (const [kind, name, ns] of [['tenant', 'acme', undefined], ['app', 'hello', 'acme-dev']] as const) {
      await waitUntil(`${kind} ${name} Synced and Ready after the upgrade`, () => {
        const o = p.get(kind, name, ns);
        return isTrue(o, 'Synced') && isTrue(o, 'Ready');
      }, 60_000);
    }
    expect(p.builds().length).toBe(buildsBefore);
  }, 180_000);
});

describe('what kubectl shows', () => {
  test('tenants and apps have one AGE column each (Crossplane adds it), and `kubectl get function` lists Crossplane\'s Functions', () => {
    for (const [what, ns] of [['tenants', []], ['apps', ['-n', 'acme-dev']]] as const) {
      const header = must(p.cp.kubectl('get', what, ...ns)).stdout.split('\n')[0].trim().split(/\s+/);
      expect(header.filter((h) => h === 'AGE')).toHaveLength(1);
      expect(header.slice(0, 2)).toEqual(['NAME', 'PHASE']);
    }
    expect(must(p.cp.kubectl('get', 'function', '-o', 'name')).stdout.trim()).toBe('function.pkg.crossplane.io/aerogrid-function-aerogrid');
  });
});

describe('deleting a Tenant that still has Apps', () => {
  test('is refused by the deletion policy with a message that says what to do', () => {
    const r = p.cp.kubectl('delete', 'tenant', 'acme', '--dry-run=server');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('tenant acme still has 1 App(s); delete them first, or annotate the Tenant platform.aerogrid.io/allow-delete=true');
  });
});

describe('left alone', () => {
  test('the Tenant gains no generations over 60 s of Crossplane reconciling it', async () => {
    const wait = 60_000 - ms(quietSince);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // The upgrade test annotated it once (metadata changes do not bump generation).
    expect(p.get('tenant', 'acme')!.metadata.generation).toBe(tenantGeneration);
  }, 90_000);
});

// Last: it changes the Tenant's composed resources, and so its resourceRefs and generation.
describe('a tenant Namespace deleted by hand', () => {
  test('comes back with everything in it within 5 s of Kubernetes finishing deleting it', async () => {
    const before = p.get('namespace', 'acme-prod')!;
    const start = Date.now();
    must(p.cp.kubectl('delete', 'namespace', 'acme-prod', '--wait=false'));
    // Kubernetes first empties the namespace (its namespace controller), then removes it; only
    // then can Crossplane make it again.
    let goneAt = 0;
    await waitUntil('namespace acme-prod back, with its policies', () => {
      const ns = p.get('namespace', 'acme-prod');
      if (!goneAt && (!ns || ns.metadata.uid !== before.metadata.uid)) goneAt = Date.now();
      return ns && ns.metadata.uid !== before.metadata.uid && p.get('networkpolicy', 'aerogrid-default-deny', 'acme-prod') && p.get('rolebinding', 'aerogrid-admin', 'acme-prod');
    }, 60_000);
    const took = ms(start);
    const healed = Date.now() - goneAt;
    heal.push(`| Namespace acme-prod, and the 16 objects in it | deleted: Kubernetes took ${((goneAt - start) / 1000).toFixed(2)} s to empty and remove it | ${(healed / 1000).toFixed(2)} s after it was gone (${(took / 1000).toFixed(2)} s in all) |`);
    await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready');
    expect(healed).toBeLessThanOrEqual(5_000);
  }, 90_000);
});
