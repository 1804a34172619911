// The Istio tier: what Envoy would enforce, checked by Istio's own code. No Envoy runs here, so
// every Istio object the function composes (the examples, every render case under test/cases/,
// the Apps of the end-to-end tiers, JWT and public) is placed in a mesh with the Pods its
// Deployments and build Jobs would make, and handed to the harness in test/istio/:
//   - Istio's analyzers, all of them (`istioctl analyze`'s set): any finding above Info fails;
//   - Istio's config generator: the inbound listener each App pod's sidecar would get. Its
//     filter chains must be TLS only (STRICT), and its HTTP filters (jwt_authn, then RBAC) must
//     decide as aerogrid promises (test/helpers/envoy.ts reads them by Envoy's semantics): a
//     token from the tenant's issuer and audience and an allowed group gets in, nothing else
//     does, a public App needs no token, and no peer from another tenant's namespace gets in.
// Each mistake the tier exists to catch has a negative case below that must fail for its reason.
import { TenantSpec } from '../src/api/tenant.js';
import { AppSpec } from '../src/api/app.js';
import { tenantNamespaces } from '../src/functions/render/tenant.js';
import { casesIn, caseApp, render, renderAppCase, renderTenantCase } from './helpers/cases.js';
import { decide, httpFilters, type Request } from './helpers/envoy.js';
import { appRequired, exampleApp, exampleTenant, observedNamespaces, platformInput, request } from './helpers/fixtures.js';
import { appOf, hasSidecar, harness, mesh, podsOf, runIstio, spiffe, workloadOf, type Scenario, type ScenarioResult, type WorkloadResult } from './helpers/istio.js';

type Obj = Record<string, any>;

const settings = platformInput() as Obj;
const GATEWAY = spiffe(settings.ingressGateway.namespace, settings.ingressGateway.serviceAccount);
const STRANGER = spiffe('globex-dev', 'default'); // a pod of another tenant

/** What a scenario's App pods must enforce, from the specs alone (not from what the function rendered). */
interface Promised { tenant: TenantSpec & { name: string }; access: 'jwt' | 'public'; groups: string[] }

interface Built { scenario: Scenario; promises: Record<string, Promised> } // by namespace/app

/** The image an App runs once built, in scenarios that need its Deployment before its build is done. */
const BUILT_IMAGE = 'registry.aerogrid.internal:5000/apps/acme/hello:built';

/** A Tenant's composed objects, once Crossplane observed its Namespaces. */
function tenantObjects(tenant: Obj): Obj[] {
  const r = render(request({ composite: tenant, observed: observedNamespaces(tenant as never) }));
  if (r.fatal) throw new Error(r.fatal);
  return Object.values(r.resources);
}

/** An App's composed objects, and the Pods of its Deployment (rendered with an image when it is still building) and build Job. */
function appObjects(app: Obj, tenant: Obj, resources?: Obj[]): Obj[] {
  const own = resources ?? Object.values(render(request({ composite: app, required: appRequired(app as never, tenant as never) as never })).resources);
  if (!own.some((r) => r.kind === 'Service')) throw new Error(`App ${app.metadata.namespace}/${app.metadata.name} composes nothing`);
  let deployment = own.find((r) => r.kind === 'Deployment');
  if (!deployment) {
    const built = render(request({ composite: { ...app, spec: { ...app.spec, image: BUILT_IMAGE } }, required: appRequired(app as never, tenant as never) as never }));
    deployment = Object.values(built.resources).find((r) => r.kind === 'Deployment');
    if (!deployment) throw new Error(`App ${app.metadata.namespace}/${app.metadata.name} composes no Deployment even with an image: ${built.fatal ?? JSON.stringify(built.status)}`);
  }
  const pods = [
    ...podsOf(deployment, deployment.spec.replicas ?? 1),
    ...own.filter((r) => r.kind === 'Job').flatMap((j) => podsOf(j, 1)),
  ];
  return [...own, ...pods];
}

function promiseOf(app: Obj, tenant: Obj): Promised {
  const spec = AppSpec.parse(app.spec);
  const t = TenantSpec.parse(tenant.spec);
  const all = [...new Set([...t.groups.admin, ...(t.groups.operator ?? []), ...(t.groups.viewer ?? [])])];
  return { tenant: { ...t, name: tenant.metadata.name }, access: spec.access.public ? 'public' : 'jwt', groups: spec.access.allowedGroups ?? all };
}

/** The example App, built, as a developer would push it into a namespace. */
const builtExample = (namespace: string): Obj => {
  const app = exampleApp() as Obj;
  return { ...app, metadata: { name: 'hello', namespace }, spec: { ...app.spec, image: BUILT_IMAGE } };
};

/**
 * A tenant's objects and an App in each of its namespaces: the given ones, and the example App
 * where none is given. (A namespace without a workload would leave its isolation policy
 * selecting nothing, which the analyzer rightly warns about.)
 */
function tenantWithApps(name: string, tenant: Obj, tenantResources: Obj[], given: { app: Obj; resources?: Obj[] }[]): Built {
  const apps = [...given];
  for (const ns of tenantNamespaces(tenant.metadata.name, TenantSpec.parse(tenant.spec))) {
    if (!apps.some((a) => a.app.metadata.namespace === ns)) apps.push({ app: builtExample(ns) });
  }
  return scenario(name, [...tenantResources, ...apps.flatMap((a) => appObjects(a.app, tenant, a.resources))],
    Object.fromEntries(apps.map((a) => [key(a.app.metadata.namespace, a.app.metadata.name), promiseOf(a.app, tenant)])));
}

function scenario(name: string, objects: Obj[], promises: Record<string, Promised>): Built {
  const unique = new Map(objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
  const all = [...mesh(), ...unique.values()];
  const workloads = all.filter((o) => o.kind === 'Pod' && hasSidecar(o) && appOf(o)).map(workloadOf);
  return { scenario: { name, objects: all, workloads }, promises };
}

const key = (namespace: string, app: string) => `${namespace}/${app}`;

/** The examples as `make demo` runs them: the example App (JWT), and the same App opened as `aerogrid push --public` does, in the other namespace. */
function examples(): Built {
  const tenant = exampleTenant() as Obj;
  const app = exampleApp() as Obj;
  const open = { ...app, metadata: { ...app.metadata, namespace: 'acme-prod', name: 'shop' }, spec: { ...app.spec, access: { public: true } } };
  return tenantWithApps('examples', tenant, tenantObjects(tenant), [{ app }, { app: open }]);
}

function scenarios(): Built[] {
  const out: Built[] = [examples()];
  for (const [file, c] of casesIn('tenant')) {
    const { tenant, result } = renderTenantCase(c);
    if (result.fatal) continue;
    out.push(tenantWithApps(`tenant/${file}`, tenant, Object.values(result.resources), []));
  }
  for (const [file, c] of casesIn('app')) {
    const r = renderAppCase(c);
    if (r.fatal) continue;
    // A case that composes nothing (waiting for its Tenant, refused) has nothing for Istio either.
    if (!Object.values(r.resources).some((o) => o.kind === 'Service')) continue;
    out.push(tenantWithApps(`app/${file}`, r.tenant, tenantObjects(r.tenant), [{ app: { ...r.app, spec: caseApp(c).app.spec }, resources: Object.values(r.resources) }]));
  }
  return out;
}

const token = (t: Promised['tenant'], extra: Obj = {}): Obj => ({ iss: t.auth.issuer, aud: t.auth.audiences[0], sub: 'auth0|1234', ...extra });

/** What one App pod's sidecar would do wrong, as sentences; none when it keeps every promise. */
function judge(w: WorkloadResult, p: Promised, appPort: number): string[] {
  const problems: string[] = [];
  for (const c of w.calls) {
    if (c.tls === 'plaintext' && !c.error) problems.push(`a plaintext call to port ${c.port} is taken (filter chain ${c.filterChain}): mTLS is not STRICT`);
    if (c.tls === 'mtls' && c.error) problems.push(`an mTLS call to port ${c.port} is refused: ${c.error}`);
  }
  const plaintextChains = (w.inbound.filterChains as Obj[]).filter((fc) => fc.filterChainMatch?.transportProtocol !== 'tls' && fc.filterChainMatch?.destinationPort !== 15006);
  if (plaintextChains.length) problems.push(`plaintext filter chains: ${plaintextChains.map((fc) => fc.name).join(', ')}`);
  const chain = w.calls.find((c) => c.tls === 'mtls' && c.port === appPort)?.filterChain;
  if (!chain) return [...problems, `no filter chain serves the App's port ${appPort} over mTLS`];
  const filters = httpFilters(w.inbound, chain);
  const t = p.tenant;
  const ask = (what: string, req: Request, allowed: boolean) => {
    const d = decide(filters, req);
    if (d.allowed !== allowed) problems.push(`${what}: ${allowed ? `refused (${d.allowed ? '' : d.by})` : 'let in'}`);
  };
  const providers = filters.filter((f) => f.name === 'envoy.filters.http.jwt_authn').flatMap((f) => Object.values<Obj>(f.typedConfig.providers));
  if (p.access === 'jwt') {
    const mine = providers.filter((x) => x.issuer === t.auth.issuer);
    if (mine.length !== 1) problems.push(`jwt_authn has ${mine.length} provider(s) for the tenant's issuer ${t.auth.issuer} (issuers: ${providers.map((x) => x.issuer).join(', ') || 'none'})`);
    for (const m of mine) if (JSON.stringify([...m.audiences ?? []].sort()) !== JSON.stringify([...t.auth.audiences].sort())) problems.push(`jwt_authn audiences ${m.audiences} are not the tenant's ${t.auth.audiences}`);
    for (const g of p.groups) ask(`through the gateway, a token from ${t.auth.issuer} with group ${g}`, { source: GATEWAY, token: token(t, { [t.auth.groupsClaim]: [g] }) }, true);
    ask('through the gateway, no token', { source: GATEWAY }, false);
    ask('through the gateway, a token with no allowed group', { source: GATEWAY, token: token(t, { [t.auth.groupsClaim]: ['someone-else'] }) }, false);
    ask('through the gateway, a token with no groups claim', { source: GATEWAY, token: token(t) }, false);
    ask('through the gateway, a token from another issuer', { source: GATEWAY, token: token(t, { iss: 'https://evil.example.com/', [t.auth.groupsClaim]: [p.groups[0]] }) }, false);
    ask('through the gateway, a token for another audience', { source: GATEWAY, token: token(t, { aud: 'https://other.example', [t.auth.groupsClaim]: [p.groups[0]] }) }, false);
    ask('from another tenant\'s namespace, with a good token', { source: STRANGER, token: token(t, { [t.auth.groupsClaim]: [p.groups[0]] }) }, false);
    for (const ns of tenantNamespaces(t.name, t)) ask(`from the tenant's namespace ${ns}, with a good token`, { source: spiffe(ns, 'default'), token: token(t, { [t.auth.groupsClaim]: [p.groups[0]] }) }, true);
  } else {
    // No token needed. (Its RequestAuthentication still verifies a token that is sent, so the App can read its claims.)
    ask('through the gateway, no token', { source: GATEWAY }, true);
    ask('through the gateway, a token from the tenant\'s issuer', { source: GATEWAY, token: token(t, { [t.auth.groupsClaim]: ['anyone'] }) }, true);
    ask('from another tenant\'s namespace, no token', { source: STRANGER }, false);
    ask('from no mesh identity', {}, false);
    for (const ns of tenantNamespaces(t.name, t)) ask(`from the tenant's namespace ${ns}, no token`, { source: spiffe(ns, 'default') }, true);
  }
  return problems;
}

/** Everything wrong with a scenario: findings above Info, and each App pod's problems. */
function problemsOf(b: Built, r: ScenarioResult): string[] {
  if (r.loadError) return [`Istio cannot read the objects: ${r.loadError}`];
  const problems = r.findings.filter((f) => f.level !== 'Info').map((f) => `analyzer: ${f.message}`);
  if (r.configError) return [...problems, `istiod refuses the configuration: ${r.configError}`];
  if (r.skipped?.length) problems.push(`analyzers skipped: ${r.skipped.join(', ')}`);
  const podOf = (w: WorkloadResult) => b.scenario.objects.find((o) => o.kind === 'Pod' && o.metadata.name === w.pod && o.metadata.namespace === w.namespace)!;
  for (const w of r.workloads) {
    const pod = podOf(w);
    const p = b.promises[key(w.namespace, appOf(pod)!)];
    if (!p) { problems.push(`${w.namespace}/${w.pod}: a workload no App promises anything for`); continue; }
    const port = pod.spec.containers[0].ports[0].containerPort;
    problems.push(...judge(w, p, port).map((x) => `${w.namespace}/${w.pod}: ${x}`));
  }
  const checked = new Set(r.workloads.map((w) => key(w.namespace, appOf(podOf(w))!)));
  const missing = Object.keys(b.promises).filter((k) => !checked.has(k));
  if (missing.length) problems.push(`no workload checked for ${missing.join(', ')}`);
  return problems;
}

/** A scenario with one object changed, as a mistake in the function would change it. */
function mutate(b: Built, name: string, kind: string, objName: string, change: (o: Obj) => void, namespace = 'acme-dev'): Built {
  const objects = structuredClone(b.scenario.objects);
  const target = objects.find((o) => o.kind === kind && o.metadata.name === objName && o.metadata.namespace === namespace);
  if (!target) throw new Error(`no ${kind} ${namespace}/${objName} to change`);
  change(target);
  return { scenario: { ...b.scenario, name, objects }, promises: b.promises };
}

/** The mistakes the tier must catch, each with the reason it must give. */
function negatives(good: Built): [Built, RegExp][] {
  return [
    [mutate(good, 'neg/gateway-missing', 'VirtualService', 'hello', (o) => { o.spec.gateways = ['istio-ingress/aerogrd']; }),
      /analyzer: .*IST0101.*VirtualService acme-dev\/hello.*Referenced gateway not found: "istio-ingress\/aerogrd"/],
    [mutate(good, 'neg/selector-no-workload', 'AuthorizationPolicy', 'hello', (o) => { o.spec.selector.matchLabels = { 'platform.aerogrid.io/app': 'helo' }; }),
      /analyzer: .*IST0127.*AuthorizationPolicy acme-dev\/hello.*No matching workloads/],
    [mutate(good, 'neg/destination-missing', 'VirtualService', 'hello', (o) => { o.spec.http[1].route[0].destination.host = 'helo.acme-dev.svc.cluster.local'; }),
      /analyzer: .*IST0101.*VirtualService acme-dev\/hello.*Referenced host not found: "helo.acme-dev.svc.cluster.local"/],
    [mutate(good, 'neg/deny-namespace-typo', 'AuthorizationPolicy', 'aerogrid-tenant-isolation', (o) => { o.spec.rules[0].from[0].source.notNamespaces[1] = 'acme-prd'; }),
      /analyzer: .*IST0101.*AuthorizationPolicy acme-dev\/aerogrid-tenant-isolation.*Referenced namespace not found: "acme-prd"/],
    [mutate(good, 'neg/jwks-uri-scheme', 'RequestAuthentication', 'hello', (o) => { o.spec.jwtRules[0].jwks_uri = 'acme.eu.auth0.com/.well-known/jwks.json'; }),
      /analyzer: .*IST0106.*RequestAuthentication acme-dev\/hello.*URI scheme "" is not supported/],
    [mutate(good, 'neg/enum-typo', 'PeerAuthentication', 'default', (o) => { o.spec.mtls.mode = 'STRCT'; }),
      // Istio's parser refuses it before any analyzer runs, as istiod's webhook would refuse it in a cluster.
      /Istio cannot read the objects: [^]*unknown value "\\"STRCT\\"" for enum istio\.security\.v1beta1\.PeerAuthentication\.MutualTLS\.Mode/],
    // As the function wrote it before this tier existed: Istio reads the issuer without its slash.
    [mutate(good, 'neg/issuer-mismatch', 'AuthorizationPolicy', 'hello', (o) => { o.spec.rules[0].from[0].source.requestPrincipals = ['https://acme.eu.auth0.com/*']; }),
      /acme-dev\/hello-\S+: through the gateway, a token from https:\/\/acme.eu.auth0.com\/ with group acme-admins: refused \(RBAC ALLOW: no policy matches/],
    [mutate(good, 'neg/request-authentication-selector-typo', 'RequestAuthentication', 'hello', (o) => { o.spec.selector.matchLabels = { 'platform.aerogrid.io/app': 'helo' }; }),
      /acme-dev\/hello-\S+: jwt_authn has 0 provider\(s\) for the tenant's issuer/],
    // Not one of the issue's, but the STRICT check must be able to fail too.
    [mutate(good, 'neg/permissive', 'PeerAuthentication', 'default', (o) => { o.spec.mtls.mode = 'PERMISSIVE'; }),
      /acme-dev\/hello-\S+: a plaintext call to port 8080 is taken .*mTLS is not STRICT/],
  ];
}

describe('Istio: the analyzer and the config generator over everything the function composes', () => {
  let bin: string;
  let built: Built[];
  let results: Map<string, ScenarioResult>;
  let negative: [Built, RegExp][];
  beforeAll(() => {
    bin = harness();
    built = scenarios();
    negative = negatives(built[0]);
    results = runIstio(bin, [...built, ...negative.map(([b]) => b)].map((b) => b.scenario));
  }, 30 * 60_000);

  test('every scenario: the examples, each tenant and App case, the end-to-end Apps', () => {
    // A case that renders nothing (a FATAL) has nothing for Istio; every other one is here.
    const names = built.map((b) => b.scenario.name);
    expect(names).toContain('examples');
    expect(names.filter((n) => n.startsWith('tenant/')).length).toBeGreaterThanOrEqual(8);
    expect(names.filter((n) => n.startsWith('app/')).length).toBeGreaterThanOrEqual(25);
    for (const b of built) expect([b.scenario.name, results.has(b.scenario.name)]).toEqual([b.scenario.name, true]);
    // JWT and public Apps both, and every workload of every scenario judged.
    const access = new Set(built.flatMap((b) => Object.values(b.promises).map((p) => p.access)));
    expect([...access].sort()).toEqual(['jwt', 'public']);
  });

  test('the full analyzer set runs, none skipped', () => {
    const r = results.get('examples')!;
    expect(r.skipped ?? []).toEqual([]);
    // Among them those `istioctl analyze --use-kube=false` drops, which need Pods, Services and Namespaces.
    expect(r.analyzers ?? []).toEqual(expect.arrayContaining([
      'auth.AuthorizationPoliciesAnalyzer', 'virtualservice.DestinationHostAnalyzer', 'virtualservice.GatewayAnalyzer',
      'gateway.IngressGatewayPortAnalyzer', 'injection.Analyzer', 'schema.ValidationAnalyzer.RequestAuthentication',
    ]));
    // And every one of them: what ran is exactly analyzers.All().
    expect([...r.analyzers ?? []].sort()).toEqual([...r.all].sort());
    expect(r.all.length).toBeGreaterThan(40);
  });

  test('each scenario: nothing above Info from the analyzers, and every App pod enforces what aerogrid promises', () => {
    const failures = built.flatMap((b) => problemsOf(b, results.get(b.scenario.name)!).map((p) => `${b.scenario.name}: ${p}`));
    expect(failures).toEqual([]);
    // And the config generator was asked about every App pod: two replicas of the example in each scenario at least.
    for (const b of built) expect([b.scenario.name, results.get(b.scenario.name)!.workloads.length >= 1]).toEqual([b.scenario.name, true]);
  });

  test('each mistake the tier exists for fails, for its reason', () => {
    for (const [b, reason] of negative) {
      const problems = problemsOf(b, results.get(b.scenario.name)!);
      expect([b.scenario.name, problems.some((p) => reason.test(p)) ? 'caught' : problems]).toEqual([b.scenario.name, 'caught']);
      if (process.env.AEROGRID_ISTIO_SHOW) console.log(`${b.scenario.name}:\n  ${problems.join('\n  ')}`);
    }
  });
});

describe('the Envoy reading (test/helpers/envoy.ts) refuses what it does not understand', () => {
  const rbac = (principals: Obj[], action = 'ALLOW') => ({ name: 'envoy.filters.http.rbac', typedConfig: { rules: { action, policies: { p: { permissions: [{ any: true }], principals } } } } });
  test('known matchers decide; an unknown one throws rather than pass', () => {
    const byNs = { authenticated: { principalName: { safeRegex: { regex: '.*/ns/acme-dev/.*' } } } };
    expect(decide([rbac([byNs])], { source: spiffe('acme-dev', 'default') })).toEqual({ allowed: true });
    expect(decide([rbac([byNs])], { source: spiffe('acme-devx', 'default') }).allowed).toBe(false);
    expect(decide([rbac([byNs], 'DENY')], {}).allowed).toBe(true);
    expect(() => decide([rbac([{ sourceIp: { addressPrefix: '10.0.0.0' } }])], {})).toThrow(/unknown RBAC principal/);
    expect(() => decide([{ name: 'envoy.filters.http.ext_authz', typedConfig: {} }], {})).toThrow(/unknown HTTP filter/);
  });
});
