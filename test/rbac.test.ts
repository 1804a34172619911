// Least privilege, proved over every Role the Tenant renderer produces.
import { runFunction } from '../src/functions/render/fn.js';
import { exampleTenant, observedNamespaces, request } from './helpers/fixtures.js';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Role = { kind: string; metadata: { name: string; namespace: string }; rules: Rule[] };

const rendered = Object.values(runFunction(request({ composite: exampleTenant(), observed: observedNamespaces(exampleTenant()) })).response.desired!.resources).map((r) => r.resource as Record<string, any>);
const roles = rendered.filter((r) => r.kind === 'Role') as Role[];
const byName = (name: string) => roles.filter((r) => r.metadata.name === `aerogrid-${name}`);
const can = (role: Role, group: string, resource: string, verb: string) =>
  role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

/** Subresources Kubernetes actually has, for the kinds tenants may touch. `pods/logs` is not one. */
const KNOWN_SUBRESOURCES = new Set(['pods/log', 'pods/exec', 'pods/portforward', 'pods/attach', 'pods/status', 'deployments/scale']);
/** Objects that carry the tenant's isolation: no tenant role may change them. */
const ISOLATION = [
  ['rbac.authorization.k8s.io', 'roles'], ['rbac.authorization.k8s.io', 'rolebindings'], ['networking.k8s.io', 'networkpolicies'],
  ['', 'resourcequotas'], ['', 'limitranges'], ['security.istio.io', 'authorizationpolicies'], ['security.istio.io', 'peerauthentications'],
  ['security.istio.io', 'requestauthentications'], ['networking.istio.io', 'virtualservices'], ['', 'namespaces'],
] as const;
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];

test('three roles in each of the tenant namespaces, all namespaced Roles', () => {
  expect(rendered.filter((r) => r.kind === 'ClusterRole' || r.kind === 'ClusterRoleBinding')).toEqual([]);
  for (const name of ['admin', 'operator', 'viewer']) expect(byName(name).map((r) => r.metadata.namespace).sort()).toEqual(['acme-dev', 'acme-prod']);
});

describe.each(roles.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r] as const))('%s', (_name, role) => {
  test('no rule uses *', () => {
    for (const r of role.rules) for (const field of ['apiGroups', 'resources', 'verbs'] as const) expect(r[field]).not.toContain('*');
  });
  test('no escalate, bind or impersonate', () => {
    for (const r of role.rules) for (const v of ['escalate', 'bind', 'impersonate']) expect(r.verbs).not.toContain(v);
  });
  test('subresource names are real ones', () => {
    for (const r of role.rules) for (const res of r.resources.filter((x) => x.includes('/'))) expect([res, KNOWN_SUBRESOURCES.has(res)]).toEqual([res, true]);
  });
  test('cannot change what isolates the tenant (roles, bindings, policies, quota, namespaces)', () => {
    for (const [g, res] of ISOLATION) for (const v of WRITE) expect([g, res, v, can(role, g, res, v)]).toEqual([g, res, v, false]);
  });
  test('cannot write the Deployments that Crossplane runs Apps with', () => {
    for (const v of WRITE) expect(can(role, 'apps', 'deployments', v)).toBe(false);
  });
});

test('the viewer role grants no verb on secrets', () => {
  for (const role of byName('viewer')) expect(role.rules.filter((r) => r.resources.includes('secrets'))).toEqual([]);
});

test('admin manages Apps and everyday objects; operator (the developers) pushes and deletes Apps and works with pods, logs, exec, services, configmaps', () => {
  for (const role of byName('admin')) {
    for (const v of ['create', 'update', 'delete']) expect(can(role, 'platform.aerogrid.io', 'apps', v)).toBe(true);
    for (const res of ['configmaps', 'secrets', 'services']) expect(can(role, '', res, 'create')).toBe(true);
  }
  for (const role of byName('operator')) {
    expect(can(role, '', 'pods/log', 'get')).toBe(true);
    expect(can(role, '', 'pods/exec', 'create')).toBe(true);
    expect(can(role, '', 'pods', 'delete')).toBe(true);
    for (const v of ['create', 'patch', 'delete']) expect(can(role, 'platform.aerogrid.io', 'apps', v)).toBe(true);
    expect(can(role, '', 'secrets', 'create')).toBe(false);
    expect(can(role, 'batch', 'jobs', 'create')).toBe(false);
    expect(can(role, '', 'secrets', 'get')).toBe(false);
    for (const res of ['services', 'configmaps', 'events']) expect(can(role, '', res, 'get')).toBe(true);
  }
});

test('bindings bind Groups only, to the aerogrid Role of their own namespace', () => {
  for (const b of rendered.filter((r) => r.kind === 'RoleBinding')) {
    expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: b.metadata.name });
    for (const s of b.subjects) expect(s.kind).toBe('Group');
  }
});
