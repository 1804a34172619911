// The function's input: what a platform engineer sets once for the whole cluster
// (platform.yaml), embedded by `make build` in every Composition's pipeline step.
import { z } from 'zod';
import { RUNTIME_PATTERN } from './app.js';
import { dnsLabel, patterned, quantity, ruled } from './rules.js';
import { CIDR_PATTERN, TIERS } from './tenant.js';

export const INPUT_GROUP = 'fn.platform.aerogrid.io';
export const INPUT_VERSION = 'v1alpha1';
export const INPUT_KIND = 'PlatformSettings';

const HOSTNAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$';
const REGISTRY = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$';
const IMAGE = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';

const image = (field: string, description: string) =>
  patterned(field, IMAGE, 'an image reference such as cgr.dev/chainguard/kaniko:latest', description, 256);

/** Most runtimes one platform offers (which also bounds the API server's estimate of the rules' cost). */
const MAX_RUNTIMES = 8;

const Runtimes = ruled(
  z.record(z.string().max(16), z.object({ baseImage: image('runtimes.*.baseImage', 'Base image of its builds: it must have `python` and `pip` on PATH.') }))
    .meta({ maxProperties: MAX_RUNTIMES }),
  'Runtimes this platform builds, and their base images. The XRD offers exactly these; an App asking for another is refused.',
  [
    {
      cel: `self.all(r, r.matches(r'${RUNTIME_PATTERN}'))`,
      message: 'runtimes: every runtime must be named pythonX.Y, such as python3.13',
      holds: (r) => Object.keys(r).every((k) => new RegExp(RUNTIME_PATTERN).test(k)),
    },
    {
      cel: `size(self) > 0 && size(self) <= ${MAX_RUNTIMES}`,
      message: `runtimes must offer at least one runtime, and at most ${MAX_RUNTIMES}`,
      holds: (r) => Object.keys(r).length > 0 && Object.keys(r).length <= MAX_RUNTIMES,
    },
  ],
);

const HOST_PORT = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?$';
const INDEX_URL = '^https?://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[-A-Za-z0-9._~/]*)?$';

export const PlatformSettings = ruled(z
  .object({
    appsDomain: patterned('appsDomain', HOSTNAME, 'a DNS hostname such as apps.example.com', 'Host that serves /apps/<tenant>/<app>/.', 253),
    urlScheme: z.enum(['https', 'http']).default('https').meta({ description: 'Scheme of the URLs shown in App status.' }),
    gateway: patterned(
      'gateway',
      '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      'namespace/name of an Istio Gateway',
      'The shared Istio Gateway every App VirtualService binds to.',
      127,
    ),
    ingressGateway: z
      .object({
        namespace: dnsLabel('ingressGateway.namespace', 63, 'Namespace of the Istio ingress gateway.'),
        serviceAccount: dnsLabel('ingressGateway.serviceAccount', 63, 'Service account of the ingress gateway pods.'),
      })
      .meta({ description: 'The ingress gateway: admitted by tenant NetworkPolicies and AuthorizationPolicies.' }),
    istioNamespace: dnsLabel('istioNamespace', 63, 'Namespace of istiod (xDS and certificates).').default('istio-system'),
    oidcGroupPrefix: z
      .string()
      .max(64)
      .regex(/^$|^[a-z0-9][-a-z0-9.]*:$/, { message: "oidcGroupPrefix must be empty or a word ending in ':', such as oidc:" })
      .default('oidc:')
      .meta({
        description:
          "The prefix kube-apiserver puts in front of the identity provider's groups (its AuthenticationConfiguration's " +
          'claimMappings.groups.prefix), and so in front of every group a RoleBinding names. With none, a group called ' +
          'system:masters in the identity provider would be cluster-admin.',
      }),
    trustDomain: z.string().min(1).max(253).default('cluster.local').meta({ description: 'Istio trust domain, for SPIFFE principals.' }),
    registry: patterned(
      'registry',
      REGISTRY,
      'a registry host with an optional path, such as registry.example.com/aerogrid',
      'Where built images go: <registry>/<tenant>/<app>:<digest>.',
      200,
    ),
    kanikoImage: image('kanikoImage', "Kaniko executor image. Default: Chainguard's maintained fork (the original project is archived)."),
    runtimes: Runtimes,
    defaultRuntime: z.string().max(16).meta({ description: 'The runtime of an App that names none: one of runtimes.' }),
    defaultTier: z.enum(TIERS).default('free').meta({ description: 'Tier of a Tenant that names none.' }),
    build: z
      .object({
        deadlineSeconds: z.int().min(60).max(21600).default(1800).meta({ description: 'activeDeadlineSeconds of a build Job.' }),
        retries: z.int().min(0).max(5).default(1).meta({ description: 'backoffLimit of a build Job.' }),
        cpu: quantity('build.cpu', 'CPU limit of a build.').default('1'),
        memory: quantity('build.memory', 'Memory limit of a build.').default('2Gi'),
        pythonIndex: patterned('build.pythonIndex', INDEX_URL, 'an http or https URL such as https://pypi.example.com/simple/',
          "The package index builds install requirements.txt from (pip's --index-url): a company's own mirror. Over http, pip is told to trust its host.", 256)
          .default('https://pypi.org/simple/'),
        craneImage: image('build.craneImage', "go-containerregistry's crane image (gcr.io/go-containerregistry/crane). With it, each build first mounts its base image's layers into the App's repository, so that Kaniko finds them there and never uploads them again; without it, the first build of each App uploads them.").optional(),
        insecureRegistries: z
          .array(patterned('build.insecureRegistries[]', HOST_PORT, 'a registry host with an optional port', 'A registry Kaniko reaches over plain HTTP.', 253))
          .max(8)
          .default([])
          .meta({ description: 'Registries (host[:port]) that Kaniko pulls from and pushes to over plain HTTP (--insecure-registry). Empty in production.' }),
      })
      .default({ deadlineSeconds: 1800, retries: 1, cpu: '1', memory: '2Gi', pythonIndex: 'https://pypi.org/simple/', insecureRegistries: [] })
      .meta({ description: 'Bounds on every build Job.' }),
    appResyncSeconds: z
      .int()
      .min(60)
      .max(3600)
      .default(300)
      .meta({
        description:
          "How often Crossplane renders an App again once it is Ready and nothing about it changes (the response's TTL). " +
          'Changes to the App or to what it composes are seen at once, by watches; a change to its Tenant (groups, issuer, ' +
          'registry Secret) reaches it within this time. An App that is not Ready is rendered again every 60 s.',
      }),
  }), 'Platform-wide settings for the aerogrid function.', [
  {
    cel: 'self.defaultRuntime in self.runtimes',
    message: 'defaultRuntime must be one of the runtimes this platform offers',
    holds: (s) => s.defaultRuntime in s.runtimes,
  },
]);
export type PlatformSettings = z.infer<typeof PlatformSettings>;

/** The limits of the container beside Kaniko that mounts the base image into the App's repository (crane). */
export const BASE_LINK_LIMITS = { cpu: '200m', memory: '64Mi' };

/** CPU cores of a quantity written as 2, 1.5 or 500m; undefined for any other form. */
export function cpuCores(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  return m ? Number(m[1]) / (m[2] ? 1000 : 1) : undefined;
}

const PACKAGE = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$';

const HTTPS_URL = '^https://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[-A-Za-z0-9._~/]*)?$';

/** Where the console may connect to: a range and its TCP ports (its NetworkPolicy's egress). */
const consoleDestination = (field: string, description: string) => z
  .array(z.strictObject({
    cidr: ruled(patterned(`${field}[].cidr`, CIDR_PATTERN, 'an IPv4 or IPv6 CIDR such as 10.20.0.0/16', 'Destination range.', 64), 'Destination range.', [
      { cel: "!self.endsWith('/0')", message: `${field}[].cidr must not be a /0: name the ranges, not the whole internet`, holds: (c) => !c.endsWith('/0') },
    ]),
    ports: z.array(z.int().min(1).max(65535)).min(1, { message: `${field}[].ports must list at least one port` }).max(16).meta({ description: 'Destination TCP ports.' }),
  }))
  .min(1, { message: `${field} must list at least one destination` })
  .max(16)
  .meta({ description });

/** The web console's Deployment (dist/console/): what a platform team sets for its identity provider and cluster. */
export const ConsoleSettings = z.strictObject({
  namespace: dnsLabel('console.namespace', 63, 'Where the console runs.').default('aerogrid-system'),
  image: image('console.image', "aerogrid's image (the Function package's), whose console entry point runs."),
  publicUrl: patterned('console.publicUrl', HTTPS_URL, 'an https URL such as https://console.example.com',
    'The URL people open. The identity provider must allow <publicUrl>/auth/callback as a redirect URI.', 256),
  issuer: patterned('console.issuer', HTTPS_URL, 'an https URL such as https://acme.eu.auth0.com/',
    "The OIDC issuer people sign in with: kube-apiserver's AuthenticationConfiguration must trust its ID tokens for clientId.", 256),
  clientId: z.string().min(1).max(256).meta({ description: "The console's OIDC client ID: the audience kube-apiserver expects." }),
  clientSecret: z.strictObject({
    name: dnsLabel('console.clientSecret.name', 253, 'A Secret in console.namespace, made by the platform team (never in Git).'),
    key: z.string().min(1).max(253).default('client-secret').meta({ description: 'Its key that holds the client secret.' }),
  }).meta({ description: "Where the console's OIDC client secret is: a Secret reference." }),
  issuerCa: z.strictObject({
    configMap: dnsLabel('console.issuerCa.configMap', 253, 'A ConfigMap in console.namespace.'),
    key: z.string().min(1).max(253).default('ca.crt').meta({ description: 'Its key that holds the PEM certificate.' }),
  }).optional().meta({ description: "The CA of the issuer's certificate, when it is not a public one: a ConfigMap reference." }),
  groupsClaim: z.string().min(1).max(256).default('https://aerogrid.io/groups').meta({ description: "The ID token claim with a person's groups." }),
  egress: z.strictObject({
    identityProvider: consoleDestination('console.egress.identityProvider', "The identity provider's addresses (discovery, keys, token exchange)."),
    apiserver: consoleDestination('console.egress.apiserver', "kube-apiserver's endpoints (what the kubernetes Service leads to)."),
  }).meta({ description: 'The only destinations the console reaches, besides the cluster DNS.' }),
});
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;

/** platform.yaml: where the packages are published, and the settings every Composition carries. */
export const PlatformFile = z.strictObject({
  packages: z.strictObject({
    function: patterned('packages.function', PACKAGE, 'an OCI repository such as xpkg.example.com/org/function-aerogrid', 'Function package repository.', 256),
    configuration: patterned('packages.configuration', PACKAGE, 'an OCI repository', 'Configuration package repository.', 256),
    version: patterned('packages.version', '^v[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$', 'a semantic version such as v0.1.0', 'Package version.', 64),
  }),
  settings: PlatformSettings,
  gitops: z.strictObject({
    repoURL: z.string().min(1).max(512).meta({ description: 'The Git repository Argo CD syncs from.' }),
    targetRevision: z.string().min(1).max(256).default('HEAD'),
    tenantsPath: z.string().min(1).max(256).default('tenants').meta({ description: 'One directory per tenant: tenant.yaml and apps/.' }),
    argocdNamespace: dnsLabel('gitops.argocdNamespace', 63, 'Where Argo CD runs.').default('argocd'),
  }),
  console: ConsoleSettings,
});
export type PlatformFile = z.infer<typeof PlatformFile>;
