// Package metadata and the pieces of dist/ that are not XRDs or Compositions:
// the Function's input CRD, the aggregated ClusterRole, the function image, and
// the admission policy that protects Tenants that still have Apps.
import { toStructural } from '../api/openapi.js';
import { INPUT_GROUP, INPUT_KIND, INPUT_VERSION, PlatformSettings, type PlatformFile } from '../api/platform.js';
import { TENANT_ROLES, tenantRoleName, type PolicyRule } from '../functions/render/rbac.js';
import { COMPOSED, READ, groupOf } from '../functions/render/kinds.js';
import { GROUP } from '../functions/render/resources.js';
import type { Flavour } from './composite.js';

/** The Function object Crossplane creates for a dependency: the last two path segments of its package, joined. */
export function functionName(pkg: string): string {
  return pkg.split('/').slice(-2).join('-');
}

export function configurationMeta(file: PlatformFile, flavour: Flavour): Record<string, unknown> {
  return {
    apiVersion: 'meta.pkg.crossplane.io/v1',
    kind: 'Configuration',
    metadata: {
      name: flavour === 'v2' ? 'configuration-aerogrid' : 'configuration-aerogrid-legacy',
      annotations: {
        'meta.crossplane.io/maintainer': 'aerogrid',
        'meta.crossplane.io/description': 'aerogrid: Tenants and Apps, a domain-specific PaaS on Crossplane.',
      },
    },
    spec: {
      // The legacy flavour's v1 XRDs (cluster-scoped XRs, a claim for App) run on Crossplane
      // 1.17-1.20 and on v2, which still serves v1 XRDs as legacy XRs (tested on v2.3.4).
      crossplane: { version: flavour === 'v2' ? '>=v2.0.0' : '>=v1.17.0' },
      dependsOn: [{ function: file.packages.function, version: `>=${file.packages.version}` }],
    },
  };
}

export function functionMeta(): Record<string, unknown> {
  return {
    apiVersion: 'meta.pkg.crossplane.io/v1beta1',
    kind: 'Function',
    metadata: {
      name: 'function-aerogrid',
      annotations: {
        'meta.crossplane.io/maintainer': 'aerogrid',
        'meta.crossplane.io/description': 'Renders aerogrid Tenants and Apps.',
      },
    },
    spec: { crossplane: { version: '>=v1.17.0' } },
  };
}

/** The CRD of the function's input, from the same zod schema the function validates with. */
export function inputCrd(): Record<string, unknown> {
  const settings = toStructural(PlatformSettings) as { properties: Record<string, unknown>; required?: string[] };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `platformsettings.${INPUT_GROUP}` },
    spec: {
      group: INPUT_GROUP,
      names: { kind: INPUT_KIND, listKind: `${INPUT_KIND}List`, plural: 'platformsettings', singular: 'platformsettings' },
      // No categories: `function` would make `kubectl get function` list PlatformSettings
      // ("No resources found") instead of Crossplane's Functions.
      scope: 'Namespaced',
      versions: [{
        name: INPUT_VERSION,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'Input of the aerogrid function: the platform settings.',
            properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...settings.properties },
            required: settings.required,
          },
        },
      }],
    },
  };
}

const CRUD = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * What Crossplane needs beyond its defaults: full control of the kinds aerogrid composes, reading
 * what the renderers ask for as required resources, and the rights the tenant Roles hand out (the API server forbids a Role that grants
 * more than its author holds; the alternative, `escalate`, would be wider).
 */
export function clusterRole(): Record<string, unknown> {
  const byGroup = new Map<string, Map<string, Set<string>>>();
  const grant = (rule: PolicyRule) => {
    for (const g of rule.apiGroups) for (const r of rule.resources) {
      const resources = byGroup.get(g) ?? new Map<string, Set<string>>();
      byGroup.set(g, resources);
      const verbs = resources.get(r) ?? new Set<string>();
      resources.set(r, verbs);
      rule.verbs.forEach((v) => verbs.add(v));
    }
  };
  for (const c of COMPOSED) grant({ apiGroups: [groupOf(c.apiVersion)], resources: [c.resource], verbs: CRUD });
  for (const r of READ) grant({ apiGroups: [groupOf(r.apiVersion)], resources: [r.resource], verbs: ['get', 'list', 'watch'] });
  for (const rules of Object.values(TENANT_ROLES)) rules.forEach(grant);
  const rules: PolicyRule[] = [];
  for (const g of [...byGroup.keys()].sort()) {
    // One rule per (group, verb set): stable and easy to read.
    const byVerbs = new Map<string, string[]>();
    for (const [r, verbs] of [...byGroup.get(g)!.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const key = CRUD.filter((v) => verbs.has(v)).concat([...verbs].filter((v) => !CRUD.includes(v)).sort()).join(',');
      byVerbs.set(key, [...(byVerbs.get(key) ?? []), r]);
    }
    for (const [verbs, resources] of byVerbs) rules.push({ apiGroups: [g], resources, verbs: verbs.split(',') });
  }
  // The API server lets a RoleBinding be made by whoever may `bind` its Role, or by whoever holds
  // all the Role grants; the second is checked against the Role itself, so it fails ("not found")
  // while the Role does not exist yet. Crossplane applies a Tenant's objects in no set order, and
  // stops at the first failure: core running as its ServiceAccount left a Tenant failing for good
  // when a binding came first (test/incluster.e2e.test.ts). So: `bind`, on the tenant Roles only.
  rules.push({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['bind'], resourceNames: Object.keys(TENANT_ROLES).map(tenantRoleName).sort() });
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'crossplane:aerogrid', labels: { 'rbac.crossplane.io/aggregate-to-crossplane': 'true' } },
    rules,
  };
}

export const DELETE_ANNOTATION = `${GROUP}/allow-delete`;

/**
 * Deleting a Tenant deletes its namespaces and everything in them. This policy refuses
 * it while the Tenant's status counts Apps, unless the Tenant is annotated
 * platform.aerogrid.io/allow-delete=true: the deletion must be meant.
 */
export function tenantDeletionPolicy(): Record<string, unknown>[] {
  const name = 'aerogrid-tenant-deletion';
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [GROUP], apiVersions: ['*'], operations: ['DELETE'], resources: ['tenants', 'xtenants'] }],
        },
        validations: [{
          expression: `oldObject.?status.?apps.orValue(0) == 0 || oldObject.metadata.?annotations[?'${DELETE_ANNOTATION}'].orValue('') == 'true'`,
          messageExpression: `'tenant ' + oldObject.metadata.name + ' still has ' + string(oldObject.status.apps) + ' App(s); delete them first, or annotate the Tenant ${DELETE_ANNOTATION}=true to delete them with it'`,
          reason: 'Forbidden',
        }],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}

/**
 * aerogrid's image, as scripts/lib/images.ts builds it (without Docker) and the Function package
 * embeds it: its user, working directory and the two entry points that share one /app layer.
 * The function's metrics listen where Crossplane's Deployment runtime names its `metrics` port.
 * `--max-semi-space-size=8`: see NODE_FLAGS (scripts/lib/function.ts).
 */
export const AEROGRID_IMAGE = {
  user: '65532:65532',
  workdir: '/app',
  function: {
    entrypoint: ['node', '--max-semi-space-size=8', 'lib/src/functions/main.js'],
    ports: { grpc: 9443, metrics: 8080 },
    env: { FUNCTION_METRICS_ADDRESS: '0.0.0.0:8080' } as Record<string, string>,
  },
  console: { entrypoint: ['node', 'lib/src/console/main.js'], port: 8080 },
} as const;

/**
 * dist/function/Dockerfile: the same image for a platform team that builds with Docker. The
 * release's is made by scripts/lib/images.ts from AEROGRID_IMAGE, on a base made with mmdebstrap
 * that also drops apt, debconf and perl.
 */
export function functionDockerfile(): string {
  const { user, workdir, function: fn, console: ui } = AEROGRID_IMAGE;
  return `# Generated by make build. aerogrid's image: Debian trixie's Node.js (20.19), lib/ (the compiled
# JavaScript, with the console's page bundled once by \`npm run prepack\`) and only the production
# dependencies. It runs as ${user} and writes nothing (a read-only root filesystem is fine).
# The Function package embeds the same image, built without Docker by scripts/lib/images.ts.
# The console runs from it too: ${JSON.stringify(ui.entrypoint)}, on port ${ui.port}.
FROM docker.io/library/debian:trixie-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts && npm run prepack && npm ci --omit=dev --ignore-scripts && find lib -name '*.d.ts' -delete

FROM docker.io/library/debian:trixie-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*
WORKDIR ${workdir}
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/lib ./lib
USER ${user}
${Object.entries(fn.env).map(([k, v]) => `ENV ${k}=${v}`).join('\n')}
EXPOSE ${fn.ports.grpc} ${fn.ports.metrics}
ENTRYPOINT ${JSON.stringify(fn.entrypoint)}
`;
}

