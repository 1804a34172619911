// The Tenant API: a team on the shared cluster. Cluster-scoped, because it composes Namespaces.
import { z } from 'zod';
import { dnsLabel, groupList, patterned, quantity, ruled } from './rules.js';

/** Longest Tenant name: keeps `tenant-<name>` and `<name>-<suffix>` well inside a 63-character label. */
export const TENANT_NAME_MAX = 30;
/** The ConfigMap in each tenant namespace that names the tenant and all its namespaces (data: tenant, namespaces one per line). */
export const TENANT_DIRECTORY = 'aerogrid-tenant';
export const NAMESPACE_SUFFIX_MAX = 20;
export const TIERS = ['free', 'pro', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

const QUOTA_FIELDS = {
  cpu: 'Total CPU requests across the namespace (requests.cpu).',
  memory: 'Total memory requests across the namespace (requests.memory).',
  limitsCpu: 'Total CPU limits across the namespace (limits.cpu).',
  limitsMemory: 'Total memory limits across the namespace (limits.memory).',
  pods: 'Maximum number of Pods.',
  services: 'Maximum number of Services.',
  configmaps: 'Maximum number of ConfigMaps (each App keeps one build context while it builds).',
  secrets: 'Maximum number of Secrets.',
  persistentvolumeclaims: 'Maximum number of PersistentVolumeClaims.',
  storage: 'Total storage requested by PersistentVolumeClaims (requests.storage).',
} as const;
export type QuotaField = keyof typeof QUOTA_FIELDS;

export const Quota = z
  .object(
    Object.fromEntries(
      Object.entries(QUOTA_FIELDS).map(([k, d]) => [k, quantity(`spec.quota.${k}`, d).optional()]),
    ) as { [K in QuotaField]: z.ZodOptional<ReturnType<typeof quantity>> },
  )
  .meta({ description: 'Overrides for the tier preset, field by field. Any field left out keeps the preset.' });
export type Quota = z.infer<typeof Quota>;

const ContainerDefaults = z.object({
  cpu: quantity('spec.limits.*.cpu', 'CPU.').optional(),
  memory: quantity('spec.limits.*.memory', 'Memory.').optional(),
});

export const Limits = z
  .object({
    defaultRequest: ContainerDefaults.optional().meta({
      description: 'Requests given to containers written without them, so that they are admitted under the quota.',
    }),
    default: ContainerDefaults.optional().meta({ description: 'Limits given to containers written without them.' }),
  })
  .meta({ description: 'LimitRange defaults per container. Left out, the tier preset applies.' });
export type Limits = z.infer<typeof Limits>;

const HTTPS_SLASH = '^https://[^/\\s?#]+(/[^\\s?#]*)?/$';
const HTTPS_URL = '^https://[^/\\s?#]+(/[^\\s?#]*)?$';

export const TenantAuth = z
  .object({
    issuer: patterned(
      'spec.auth.issuer',
      HTTPS_SLASH,
      "an https URL ending in '/', exactly as the token's iss claim (Auth0: https://<tenant>.<region>.auth0.com/)",
      'OIDC issuer. Istio compares it byte for byte with the iss claim, and Auth0 ends it with a slash.',
      512,
    ),
    jwksUri: patterned(
      'spec.auth.jwksUri',
      HTTPS_URL,
      'an https URL',
      'JWKS endpoint. Defaults to <issuer>.well-known/jwks.json, where Auth0 publishes its keys.',
      512,
    ).optional(),
    audiences: z
      .array(z.string().min(1).max(512))
      .min(1, { message: 'spec.auth.audiences must list at least one audience (the Auth0 API identifier)' })
      .max(16)
      .meta({ description: 'Accepted aud values: the Auth0 API identifiers of this tenant.', 'x-kubernetes-list-type': 'set' }),
    groupsClaim: z
      .string()
      .min(1)
      .max(256)
      .default('https://aerogrid.io/groups')
      .meta({ description: 'The claim that carries groups. Auth0 requires custom claims to be namespaced (a URL).' }),
  })
  .meta({ description: 'How callers of this tenant\'s Apps authenticate: Auth0 (or any OIDC) JWTs.' });
export type TenantAuth = z.infer<typeof TenantAuth>;

export const TenantGroups = z
  .object({
    admin: groupList('spec.groups.admin', 'Groups that administer the tenant: manage Apps and everyday namespaced objects.'),
    operator: groupList('spec.groups.operator', 'Groups that develop and operate Apps: create, push and delete Apps; pods, logs, exec, services, configmaps, events. No Secrets.').optional(),
    viewer: groupList('spec.groups.viewer', 'Groups that read everything in the tenant except Secrets.').optional(),
  })
  .meta({ description: 'OIDC groups bound to the tenant roles, as they appear in the groups claim.' });
export type TenantGroups = z.infer<typeof TenantGroups>;

export const CIDR_PATTERN = '^(([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])|[0-9a-fA-F:]+:[0-9a-fA-F:]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$';

export const EgressRule = ruled(
  z.object({
    cidr: patterned('spec.builds.egress[].cidr', CIDR_PATTERN, 'an IPv4 or IPv6 CIDR such as 10.20.0.0/16', 'Destination range.', 64),
    ports: z
      .array(z.int().min(1).max(65535))
      .min(1, { message: 'spec.builds.egress[].ports must list at least one port' })
      .max(16)
      .meta({ description: 'Destination TCP ports.', 'x-kubernetes-list-type': 'set' }),
  }),
  'A destination that build Jobs may reach (the registry, a package index mirror).',
  [
    {
      cel: "!self.cidr.endsWith('/0')",
      message: 'spec.builds.egress[].cidr must not be a /0: list the registry and package index ranges, not the whole internet',
      holds: (r) => !r.cidr.endsWith('/0'),
    },
  ],
);

export const TenantBuilds = z
  .object({
    enabled: z.boolean().default(true).meta({
      description:
        "Whether Apps in this tenant build images in the cluster. Kaniko's executor must run as root, so a tenant with builds has " +
        'Pod Security enforce=baseline (warn and audit stay restricted, and every App Deployment is restricted-compliant); a tenant ' +
        'without builds is enforce=restricted and its Apps must set spec.image.',
    }),
    registrySecret: dnsLabel(
      'spec.builds.registrySecret',
      63,
      'Name of the kubernetes.io/dockerconfigjson Secret, in each tenant namespace, that Kaniko pushes with when it exists (a registry that takes pushes without credentials needs none).',
    ).default('aerogrid-registry'),
    egress: z
      .array(EgressRule)
      .max(16)
      .default([])
      .meta({ description: 'The only destinations build Jobs may reach besides DNS. Empty: builds reach nothing outside the cluster.' }),
  })
  .meta({ description: 'In-cluster image builds for this tenant\'s Apps.' });

export const TenantSpec = z
  .object({
    displayName: z.string().max(128).optional().meta({ description: 'Human-readable name.' }),
    namespaces: z
      .array(dnsLabel('spec.namespaces[]', NAMESPACE_SUFFIX_MAX, 'Namespace suffix: <tenant>-<suffix>.'))
      .max(8, { message: 'spec.namespaces must list at most 8 namespaces' })
      .refine((ns) => new Set(ns).size === ns.length, { message: 'spec.namespaces must not repeat a suffix' })
      .default([])
      .meta({
        description: 'Namespace suffixes; each becomes <tenant>-<suffix>. Empty: one namespace, tenant-<tenant>.',
        'x-kubernetes-list-type': 'set',
      }),
    tier: z.enum(TIERS).optional().meta({ description: 'Quota preset. Left out, the platform default tier applies.' }),
    quota: Quota.optional(),
    limits: Limits.optional(),
    auth: TenantAuth,
    groups: TenantGroups,
    builds: TenantBuilds.default({ enabled: true, registrySecret: 'aerogrid-registry', egress: [] }),
  })
  .meta({ description: 'A team on the shared cluster: its namespaces, quota, roles, network isolation and app authentication.' });
export type TenantSpec = z.infer<typeof TenantSpec>;

export const TENANT_PHASES = ['Pending', 'Ready', 'Failed'] as const;

export const TenantStatus = z
  .object({
    phase: z.enum(TENANT_PHASES).optional().meta({ description: 'Pending until every composed object is ready.' }),
    namespaces: z.array(z.string()).optional().meta({ description: 'The namespaces this tenant owns.' }),
    apps: z.int().min(0).optional().meta({ description: 'How many Apps live in those namespaces. A Tenant with Apps is protected from deletion.' }),
    message: z.string().optional().meta({ description: 'What the tenant is waiting for, or what is wrong.' }),
  })
  .meta({ description: 'Observed state, written by the aerogrid function.' });
export type TenantStatus = z.infer<typeof TenantStatus>;
