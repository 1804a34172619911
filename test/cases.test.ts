// Table-driven render cases: one data file per case under test/cases/{tenant,app}/,
// each run through the function's RunFunction entry point, and checked for meaning.
import { Severity, Ready } from '@crossplane-org/function-sdk-typescript';
import { buildKey, casesIn, render, renderAppCase, renderTenantCase } from './helpers/cases.js';
import { exampleTenant, request, tenantNamespace } from './helpers/fixtures.js';

type Obj = Record<string, any>;

/**
 * A case file says only what its test reads: a misspelt key (`fatl:`, `expect.phse:`) would
 * otherwise assert nothing, and the case would pass without testing.
 */
const KEYS = {
  tenant: {
    top: ['name', 'tenant', 'patch', 'required', 'settings', 'observed', 'expect'],
    expect: ['fatal', 'namespaces', 'enforce', 'perNamespace', 'quota', 'limits', 'bindings', 'unbound', 'buildEgress', 'phase', 'apps', 'warning'],
  },
  app: {
    top: ['name', 'app', 'tenant', 'settings', 'namespace', 'appNamespace', 'required', 'pods', 'events', 'status', 'observed', 'expect'],
    expect: ['fatal', 'phase', 'resources', 'absent', 'jobName', 'buildPhase', 'message', 'url', 'deploymentImage', 'ready', 'condition', 'access',
      'publicPolicy', 'allowedGroups', 'requirements', 'ttl', 'warning', 'envFromSecrets', 'replicas', 'revision', 'releases', 'serviceSelector'],
  },
};
function onlyKnownKeys(kind: keyof typeof KEYS, c: Obj) {
  const unknown = [
    ...Object.keys(c).filter((k) => !KEYS[kind].top.includes(k)),
    ...Object.keys(c.expect ?? {}).filter((k) => !KEYS[kind].expect.includes(k)).map((k) => `expect.${k}`),
  ];
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.join(', ')}: a ${kind} case may use ${KEYS[kind].top.join(', ')}; expect may use ${KEYS[kind].expect.join(', ')}`);
  if (!c.expect || Object.keys(c.expect).length === 0) throw new Error('the case expects nothing');
}

test('a case file with an unknown key is refused, naming it', () => {
  expect(() => onlyKnownKeys('app', { expect: { phse: 'Ready' } })).toThrow(/unknown key\(s\) expect\.phse/);
  expect(() => onlyKnownKeys('tenant', { fatl: 'x', expect: { phase: 'Ready' } })).toThrow(/unknown key\(s\) fatl/);
  expect(() => onlyKnownKeys('tenant', { tenant: 'example' })).toThrow('the case expects nothing');
});

describe('Tenant cases', () => {
  test.each(casesIn('tenant'))('%s', (_file, c) => {
    onlyKnownKeys('tenant', c);
    const { tenant, first, result } = renderTenantCase(c);
    if (!first.fatal) {
      // A fresh Tenant composes its Namespaces alone: what lives in them is held back until
      // Crossplane observes them (it applies in no fixed order and stops at the first failure).
      expect(new Set(Object.values(first.resources).map((r) => r.kind))).toEqual(new Set(['Namespace']));
      expect(first.status.phase).toBe('Pending');
      expect(first.status.message).toMatch(/^creating namespace\(s\) .*; \d+ object\(s\) in them follow once they exist$/);
    }
    const { resources, status, fatal } = result;
    const e = c.expect;
    if (e.fatal) {
      expect(fatal).toContain(e.fatal);
      expect(resources).toEqual({});
      return;
    }
    expect(fatal).toBeUndefined();
    const of = (kind: string) => Object.values(resources).filter((r) => r.kind === kind);
    const namespaces = of('Namespace').map((n) => n.metadata.name);
    if (e.namespaces) {
      expect(namespaces).toEqual(expect.arrayContaining(e.namespaces));
      expect(namespaces).toHaveLength(e.namespaces.length);
      expect(status.namespaces).toEqual(e.namespaces);
    }
    for (const ns of of('Namespace')) {
      // Every namespace: tenant label, PSA enforce level, restricted warn/audit, sidecar injection.
      expect(ns.metadata.labels).toMatchObject({
        'platform.aerogrid.io/tenant': tenant.metadata.name,
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
        'istio-injection': 'enabled',
        ...(e.enforce ? { 'pod-security.kubernetes.io/enforce': e.enforce } : {}),
      });
      const inNs = Object.values(resources).filter((r) => r.metadata.namespace === ns.metadata.name);
      if (e.perNamespace) expect(inNs).toHaveLength(e.perNamespace);
      // Isolation holds in every namespace: deny-all, STRICT mTLS, and the DENY isolation policy.
      expect(inNs.find((r) => r.kind === 'NetworkPolicy' && r.metadata.name === 'aerogrid-default-deny')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      expect(inNs.find((r) => r.kind === 'PeerAuthentication')?.spec).toEqual({ mtls: { mode: 'STRICT' } });
      expect(inNs.find((r) => r.kind === 'AuthorizationPolicy')?.spec.action).toBe('DENY');
    }
    if (e.quota) for (const q of of('ResourceQuota')) expect(q.spec.hard).toMatchObject(e.quota);
    if (e.limits) for (const l of of('LimitRange')) expect(l.spec.limits[0]).toMatchObject({ type: 'Container', ...e.limits });
    if (e.bindings) {
      for (const [role, groups] of Object.entries<string[]>(e.bindings)) {
        const bindings = of('RoleBinding').filter((b) => b.roleRef.name === `aerogrid-${role}`);
        expect(bindings).toHaveLength(namespaces.length);
        for (const b of bindings) expect(b.subjects.map((s: Obj) => `${s.kind}:${s.name}`)).toEqual(groups.map((g) => `Group:${g}`));
      }
    }
    for (const role of e.unbound ?? []) expect(of('RoleBinding').filter((b) => b.roleRef.name === `aerogrid-${role}`)).toEqual([]);
    if (e.buildEgress !== undefined) {
      const egress = of('NetworkPolicy').filter((p) => p.metadata.name === 'aerogrid-allow-build-egress');
      expect(egress.length > 0).toBe(e.buildEgress);
      for (const p of egress) expect(p.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/component': 'build' } });
    }
    if (e.phase) expect(status.phase).toBe(e.phase);
    if (e.apps !== undefined) expect(status.apps).toBe(e.apps);
    // A case names its warning, or has none.
    expect(result.rsp.results.filter((r) => r.severity === Severity.SEVERITY_WARNING).map((r) => r.message)).toEqual(e.warning ? [e.warning] : []);
  });
});

describe('a Tenant whose namespace is being deleted', () => {
  test('keeps what exists there, and holds back what would have to be created in it', () => {
    const tenant = exampleTenant();
    const dev = tenantNamespace('acme-dev', 'acme');
    const terminating = { ...tenantNamespace('acme-prod', 'acme'), metadata: { ...tenantNamespace('acme-prod', 'acme').metadata, deletionTimestamp: '2026-12-01T00:00:00Z' } };
    const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'aerogrid-quota', namespace: 'acme-prod' } };
    const { resources, status } = render(request({ composite: tenant, observed: { 'namespace-acme-dev': dev, 'namespace-acme-prod': terminating, 'quota-acme-prod': quota } }));
    const inProd = Object.keys(resources).filter((k) => k.endsWith('-acme-prod'));
    // The Namespace itself (so that it comes back) and the one object that still exists there.
    expect(inProd.sort()).toEqual(['namespace-acme-prod', 'quota-acme-prod']);
    expect(Object.keys(resources).filter((k) => k.endsWith('-acme-dev')).length).toBe(18);
    expect(status.message).toMatch(/^creating namespace\(s\) acme-prod; 16 object\(s\) in them follow once they exist$/);
  });
});

describe('App cases', () => {
  test.each(casesIn('app'))('%s', (_file, c) => {
    onlyKnownKeys('app', c);
    const { rsp, resources: byKey, status, fatal, subst } = renderAppCase(c);
    // Crossplane applies a desired object to the name it observed under the same key, so each
    // build (a Job, its context) must have a key of its own that follows its name.
    for (const [k, r] of Object.entries(byKey)) {
      if (r.kind === 'Job') expect(k).toBe(buildKey(r));
      if (r.kind === 'ConfigMap') expect(k).toBe(`build-context-${r.metadata.name.slice(r.metadata.name.lastIndexOf('-src-') + '-src-'.length)}`);
    }
    const role = (k: string) => k.replace(/^build-job-.*/, 'job').replace(/^build-context-.*/, 'build-context');
    const keyOf = (r: string) => Object.keys(byKey).find((k) => role(k) === r) ?? r;
    const resources = Object.fromEntries(Object.entries(byKey).map(([k, r]) => [role(k), r]));
    const e = subst(c.expect);

    if (e.fatal) {
      expect(fatal).toContain(e.fatal);
      expect(resources).toEqual({});
      return;
    }
    expect(fatal).toBeUndefined();
    if (e.phase) expect(status.phase).toBe(e.phase);
    for (const k of e.resources ?? []) expect([k, k in resources]).toEqual([k, true]);
    for (const k of e.absent ?? []) expect([k, k in resources]).toEqual([k, false]);
    if (e.jobName) {
      expect(resources.job.metadata.name).toBe(e.jobName);
      expect(Object.values(resources).filter((r) => r.kind === 'Job')).toHaveLength(1);
    }
    if (e.buildPhase) expect(status.build.phase).toBe(e.buildPhase);
    if (e.message) expect(status.message).toContain(e.message);
    if (e.url) expect(status.url).toBe(e.url);
    const container = resources.deployment?.spec.template.spec.containers[0];
    if (e.deploymentImage) expect(container?.image).toBe(e.deploymentImage);
    for (const [k, ready] of Object.entries<boolean>(e.ready ?? {})) {
      expect([k, rsp.desired!.resources[keyOf(k)].ready]).toEqual([k, ready ? Ready.READY_TRUE : Ready.READY_FALSE]);
    }
    if (e.condition) expect(rsp.conditions.find((x) => x.type === e.condition.type)?.reason).toBe(e.condition.reason);
    if (e.access) expect(status.access).toBe(e.access);
    const rules = resources.authorizationpolicy?.spec.rules;
    if (e.publicPolicy === true) expect(rules).toEqual([{}]);
    if (e.publicPolicy === false) {
      expect(rules).toHaveLength(1);
      expect(rules[0].from).toEqual([{ source: { requestPrincipals: ['https://acme.eu.auth0.com//*'] } }]);
      expect(rules[0].when[0].key).toBe('request.auth.claims[https://aerogrid.io/groups]');
      expect(resources.requestauthentication.spec.jwtRules[0]).toMatchObject({
        // The Istio CRD names this field jwks_uri: a hand-written jwksUri would be pruned by the API server.
        issuer: 'https://acme.eu.auth0.com/', jwks_uri: 'https://acme.eu.auth0.com/.well-known/jwks.json', audiences: ['https://apps.acme.example'],
      });
    }
    if (e.allowedGroups) expect(rules[0].when[0].values).toEqual(e.allowedGroups);
    if (e.requirements) expect(Object.keys(rsp.requirements!.resources)).toEqual(e.requirements);
    if (e.ttl) expect(Number(rsp.meta?.ttl?.seconds)).toBe(e.ttl);
    if (e.warning) expect(rsp.results.some((r) => r.severity === Severity.SEVERITY_WARNING)).toBe(true);
    if (e.envFromSecrets) expect(container.envFrom.map((x: Obj) => x.secretRef.name)).toEqual(e.envFromSecrets);
    if ('replicas' in e) expect(resources.deployment.spec.replicas).toBe(e.replicas ?? undefined);
    if ('revision' in e) expect(status.revision).toBe(e.revision ?? undefined);
    if ('releases' in e) expect(status.releases ?? null).toEqual(e.releases);
    // The Service selects the Deployment's pods (or it would have no endpoint), and never a build's
    // pod (Kaniko is Ready while it builds, and would take a share of the traffic), except while a
    // Service from before the server label waits for every pod to carry it (case 35).
    const selects = (labels: Obj = {}) => Object.entries<string>(resources.service?.spec.selector ?? {}).every(([k, v]) => labels[k] === v);
    const server = selects({ ...resources.deployment?.spec.template.metadata.labels });
    if (resources.deployment) expect(server).toBe(true);
    const serverOnly = resources.service?.spec.selector['app.kubernetes.io/component'] === 'server';
    if (e.serviceSelector) expect(serverOnly ? 'server' : 'app').toBe(e.serviceSelector);
    if (resources.job && e.serviceSelector !== 'app') expect(selects(resources.job.spec.template.metadata.labels)).toBe(false);
  });
});
