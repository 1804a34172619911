// The Tenant renderer: namespaces, quota, limits, roles, network isolation and Istio
// policies for one team. Pure: observed state in, desired state and status out.
import type { V1ConfigMap, V1Namespace, V1ObjectMeta, V1ResourceQuota, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { AuthorizationPolicy, AuthorizationPolicySpecAction, PeerAuthentication, PeerAuthenticationSpecMtlsMode } from '../../../imports/security.istio.io.js';
import { TENANT_DIRECTORY, TENANT_NAME_MAX, TenantSpec, type Tier } from '../../api/tenant.js';
import { QUOTA_KEYS, TIER_PRESETS, effectiveLimits } from '../../api/tiers.js';
import { MEMO_SIZE, Memo, SHARES, identity } from '../../api/memo.js';
import { BASE_LINK_LIMITS, cpuCores, type PlatformSettings } from '../../api/platform.js';
import { nameProblems } from '../../api/rules.js';
import { parseAt } from '../../api/validate.js';
import { TENANT_ROLES, tenantRoleName } from './rbac.js';
import { readiness } from './ready.js';
import {
  FatalError, GROUP, LABEL_TENANT, commonLabels, emptyOutput, kube, requiredOne,
  type KubeObject, type LimitRangeSpec, type NetworkPolicySpec, type RenderInput, type RenderOutput,
} from './resources.js';

/** Namespaces no tenant may take, whatever it is called. */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'crossplane-system'];

export const BUILD_COMPONENT = 'build';
const RBAC = 'rbac.authorization.k8s.io/v1';

export function tenantNamespaces(name: string, spec: Pick<TenantSpec, 'namespaces'>): string[] {
  return spec.namespaces.length === 0 ? [`tenant-${name}`] : spec.namespaces.map((s) => `${name}-${s}`);
}

/** The tenant's spec, validated; a FatalError lists every problem. */
export function tenantSpecOf(tenant: KubeObject): TenantSpec {
  const parsed = parseAt(TenantSpec, tenant.spec, 'spec');
  if (!parsed.ok) throw new FatalError(parsed.problems);
  return parsed.value;
}

export function renderTenant(input: RenderInput): RenderOutput {
  const name = input.composite.metadata?.name ?? '';
  const problems = nameProblems('a Tenant', name, TENANT_NAME_MAX, 'so that its namespace names stay valid labels');
  const parsed = parseAt(TenantSpec, input.composite.spec, 'spec');
  if (!parsed.ok) problems.push(...parsed.problems);
  if (!parsed.ok || problems.length > 0) throw new FatalError(problems);
  const spec = parsed.value;
  const { settings } = input;
  const namespaces = tenantNamespaces(name, spec);

  const out = emptyOutput();
  // Ask Crossplane for each namespace, to refuse one that belongs to someone else.
  // Ask Crossplane for the Apps in each namespace: their count protects the Tenant from deletion.
  for (const ns of namespaces) {
    out.requirements[`namespace-${ns}`] = { apiVersion: 'v1', kind: 'Namespace', matchName: ns };
    out.requirements[`apps-${ns}`] = { apiVersion: `${GROUP}/v1alpha1`, kind: 'App', namespace: ns, matchLabels: {} };
  }
  checkNamespaces(input, name, namespaces, settings.ingressGateway.namespace, settings.istioNamespace);
  const tooSmall = buildDoesNotFit(spec, settings);
  if (tooSmall) out.results.push({ severity: 'Warning', message: tooSmall });

  // Everything composed follows from the validated spec, the settings and the name.
  const composed = COMPOSED.get(`${identity(spec)}\u0000${identity(settings)}\u0000${name}`, () => composeTenant(name, spec, settings, namespaces), () => namespaces.length * TENANT_BYTES_PER_NAMESPACE);
  // Crossplane applies composed resources in no fixed order and stops at the first failure, so
  // an object in a namespace that does not exist yet fails the whole apply, and every retry
  // costs the XR watch events and time. Such objects are held back until Crossplane observes
  // their Namespace; one already observed is never held back (leaving it out would delete it).
  // A Namespace being deleted counts as absent: nothing new can be created in it.
  const present = (ns: string) => {
    const observed = input.observed[`namespace-${ns}`];
    return observed !== undefined && !observed.metadata?.deletionTimestamp;
  };
  let heldBack = 0;
  for (const [key, resource] of Object.entries(composed)) {
    const ns = resource.metadata?.namespace;
    if (ns && !present(ns) && !input.observed[key]) {
      heldBack++;
      continue;
    }
    out.resources[key] = { resource, ready: readiness(resource, input.observed[key]) };
  }

  const pending = Object.entries(out.resources).filter(([, d]) => !d.ready).map(([k]) => k);
  const ready = pending.length === 0 && heldBack === 0;
  out.status = {
    phase: ready ? 'Ready' : 'Pending',
    namespaces,
    apps: namespaces.reduce((n, ns) => n + (input.required[`apps-${ns}`]?.length ?? 0), 0),
    message: ready
      ? `${namespaces.length} namespace(s) ready`
      : heldBack > 0
        ? `creating namespace(s) ${namespaces.filter((ns) => !present(ns)).join(', ')}; ${heldBack} object(s) in them follow once they exist`
        : `waiting for ${pending.length} resource(s): ${pending.slice(0, 5).join(', ')}${pending.length > 5 ? ', …' : ''}`,
  };
  out.conditions.push({
    type: 'TenantReady',
    status: ready ? 'True' : 'False',
    reason: ready ? 'Available' : 'Creating',
    message: out.status.message as string,
  });
  return out;
}

/**
 * Past MEMO_SIZE Tenants, or their share of the cache budget, one not rendered lately is composed
 * anew; an entry counts about 64 KiB a namespace, its objects and their encoded bytes.
 */
const COMPOSED = new Memo<Record<string, KubeObject>>(MEMO_SIZE, SHARES.tenantComposed);
const TENANT_BYTES_PER_NAMESPACE = 64 << 10;

/**
 * A build's pod counts against the tenant's quota: Kaniko at build.cpu, and the base link beside
 * it. Where the quota's limits.cpu cannot hold them, no build of the tenant's Apps can start, and
 * the Tenant says so (a warning: what runs goes on running).
 */
function buildDoesNotFit(spec: TenantSpec, settings: PlatformSettings): string | undefined {
  if (!spec.builds.enabled) return undefined;
  const limitsCpu = spec.quota?.limitsCpu ?? TIER_PRESETS[spec.tier ?? settings.defaultTier].quota.limitsCpu;
  const [allowed, kaniko, link] = [cpuCores(limitsCpu), cpuCores(settings.build.cpu), cpuCores(BASE_LINK_LIMITS.cpu)];
  if (allowed === undefined || kaniko === undefined || link === undefined || kaniko + link <= allowed) return undefined;
  return `spec.quota.limitsCpu: a build needs ${settings.build.cpu} CPU for Kaniko and ${BASE_LINK_LIMITS.cpu} beside it, more than this tenant's limits.cpu of ${limitsCpu}: no build of its Apps can start; raise spec.quota.limitsCpu`;
}

/** The objects a Tenant composes in each of its namespaces. */
function composeTenant(name: string, spec: TenantSpec, settings: PlatformSettings, namespaces: string[]): Record<string, KubeObject> {
  const tier: Tier = spec.tier ?? settings.defaultTier;
  const preset = TIER_PRESETS[tier];
  const quota = { ...preset.quota, ...spec.quota };
  const limits = effectiveLimits(preset, spec.limits);
  const tenantLabels = commonLabels({ [LABEL_TENANT]: name });
  const enforce = spec.builds.enabled ? 'baseline' : 'restricted';
  const groups = { admin: spec.groups.admin, operator: spec.groups.operator ?? [], viewer: spec.groups.viewer ?? [] };
  const gatewayPrincipal = `${settings.trustDomain}/ns/${settings.ingressGateway.namespace}/sa/${settings.ingressGateway.serviceAccount}`;

  const composed: Record<string, KubeObject> = {};
  const add = (key: string, resource: KubeObject) => {
    composed[key] = resource;
  };

  for (const ns of namespaces) {
    add(`namespace-${ns}`, kube<V1Namespace>('v1', 'Namespace', {
      metadata: {
        name: ns,
        labels: {
          ...tenantLabels,
          'pod-security.kubernetes.io/enforce': enforce,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/audit-version': 'latest',
          'istio-injection': 'enabled',
        },
        ...(spec.displayName ? { annotations: { [`${LABEL_TENANT}-display-name`]: spec.displayName } } : {}),
      },
    }));
    const meta = (resourceName: string) => ({ name: resourceName, namespace: ns, labels: tenantLabels });

    add(`quota-${ns}`, kube<V1ResourceQuota>('v1', 'ResourceQuota', {
      metadata: meta('aerogrid-quota'),
      spec: { hard: Object.fromEntries((Object.keys(QUOTA_KEYS) as (keyof typeof QUOTA_KEYS)[]).map((k) => [QUOTA_KEYS[k], quota[k]])) },
    }));
    add(`limits-${ns}`, kube<{ metadata: V1ObjectMeta; spec: LimitRangeSpec }>('v1', 'LimitRange', {
      metadata: meta('aerogrid-limits'),
      spec: { limits: [{ type: 'Container', defaultRequest: { ...limits.defaultRequest }, default: { ...limits.default } }] },
    }));

    // Where a developer finds the rest of the tenant (aerogrid list -A) and the runtimes the
    // platform offers (push --runtime, the console): its members may read ConfigMaps in its
    // namespaces, and nothing cluster-scoped.
    add(`directory-${ns}`, kube<V1ConfigMap>('v1', 'ConfigMap', {
      metadata: meta(TENANT_DIRECTORY),
      data: { tenant: name, namespaces: namespaces.join('\n'), runtimes: Object.keys(settings.runtimes).join('\n'), defaultRuntime: settings.defaultRuntime },
    }));

    for (const role of ['admin', 'operator', 'viewer'] as const) {
      add(`role-${role}-${ns}`, kube<V1Role>(RBAC, 'Role', { metadata: meta(tenantRoleName(role)), rules: TENANT_ROLES[role] }));
      if (groups[role].length === 0) continue;
      add(`binding-${role}-${ns}`, kube<V1RoleBinding>(RBAC, 'RoleBinding', {
        metadata: meta(tenantRoleName(role)),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: tenantRoleName(role) },
        subjects: groups[role].map((g) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `${settings.oidcGroupPrefix}${g}` })),
      }));
    }

    const tenantPeers = [{ namespaceSelector: { matchLabels: { [LABEL_TENANT]: name } } }];
    const policies: Record<string, NetworkPolicySpec> = {
      'default-deny': { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      'allow-tenant': { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: tenantPeers }], egress: [{ to: tenantPeers }] },
      'allow-ingress-gateway': {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.ingressGateway.namespace } } }] }],
      },
      'allow-dns': {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
        }],
      },
      'allow-istiod': {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.istioNamespace } }, podSelector: { matchLabels: { app: 'istiod' } } }],
          ports: [{ protocol: 'TCP', port: 15012 }],
        }],
      },
    };
    if (spec.builds.enabled && spec.builds.egress.length > 0) {
      policies['allow-build-egress'] = {
        podSelector: { matchLabels: { 'app.kubernetes.io/component': BUILD_COMPONENT } },
        policyTypes: ['Egress'],
        egress: spec.builds.egress.map((r) => ({
          to: [{ ipBlock: { cidr: r.cidr } }],
          ports: r.ports.map((p) => ({ protocol: 'TCP', port: p })),
        })),
      };
    }
    for (const [policy, policySpec] of Object.entries(policies)) {
      add(`netpol-${policy}-${ns}`, kube<{ metadata: V1ObjectMeta; spec: NetworkPolicySpec }>('networking.k8s.io/v1', 'NetworkPolicy', { metadata: meta(`aerogrid-${policy}`), spec: policySpec }));
    }

    add(`peerauthentication-${ns}`, PeerAuthentication.manifest({
      metadata: meta('default'),
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
    }));
    // DENY, not ALLOW: an ALLOW here would be OR-ed with each App's JWT policy and let the
    // gateway through without a token. DENY composes with it: both must pass.
    add(`authorizationpolicy-${ns}`, AuthorizationPolicy.manifest({
      metadata: meta('aerogrid-tenant-isolation'),
      spec: {
        action: AuthorizationPolicySpecAction.DENY,
        rules: [{ from: [{ source: { notNamespaces: namespaces, notPrincipals: [gatewayPrincipal] } }] }],
      },
    }));
  }

  return composed;
}

/** Refuses namespaces that belong to the system or to another tenant. */
function checkNamespaces(input: RenderInput, tenant: string, namespaces: string[], ...platformNamespaces: string[]): void {
  const problems: string[] = [];
  for (const ns of namespaces) {
    if (SYSTEM_NAMESPACES.includes(ns) || platformNamespaces.includes(ns) || ns.startsWith('kube-')) {
      problems.push(`spec.namespaces: namespace ${ns} is reserved for the platform; choose another suffix`);
      continue;
    }
    const existing = requiredOne(input, `namespace-${ns}`);
    const owner = existing?.metadata?.labels?.[LABEL_TENANT];
    if (existing && owner !== tenant) {
      problems.push(
        owner
          ? `spec.namespaces: namespace ${ns} already belongs to tenant ${owner}`
          : `spec.namespaces: namespace ${ns} already exists and is not managed by aerogrid; choose another suffix or remove it`,
      );
    }
  }
  if (problems.length > 0) throw new FatalError(problems);
}
