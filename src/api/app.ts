// The App API: a developer's application, from source files to a JWT-protected URL.
// Namespaced (Crossplane v2), created in one of the tenant's namespaces.
import { z } from 'zod';
import { dnsLabel, patterned, quantity, ruled, type Rule } from './rules.js';

/** Longest App name: keeps `<app>-build-<10 hex>` (49) and every other derived name a valid label. */
export const APP_NAME_MAX = 30;
/**
 * A runtime's name: the Python it builds and runs with. Which runtimes exist is the platform's
 * choice (platform.yaml `runtimes`): the XRD offers exactly those (an enum, and the platform's
 * default), the function refuses any other, and the CLI and the console read them from the tenant
 * directory ConfigMap of the namespace.
 */
export const RUNTIME_PATTERN = '^python3\\.[0-9]{1,2}$';

/** Bounds that keep the build context (files + Dockerfile + keys) inside one 1 MiB ConfigMap with room to spare. */
export const MAX_FILES = 64;
export const MAX_FILE_BYTES = 256 * 1024;
export const MAX_TOTAL_BYTES = 768 * 1024;
/** Paths the platform writes into the build context itself. */
export const RESERVED_PATHS = ['Dockerfile', '.dockerignore'] as const;

const PATH_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$';

/** A rule that refuses file content holding `char` (written `celChar` in CEL). */
function notText(what: string, celChar: string, char: string): Rule<{ path: string; content: string }> {
  const tail = `must be text: it holds ${what}; binary files cannot go into the build context`;
  return {
    cel: `!self.content.contains('${celChar}')`,
    message: `spec.files[].content ${tail}`,
    messageExpression: { cel: `'spec.files[].content of ' + self.path + ' ${tail}'`, of: (f) => `spec.files[].content of ${f.path} ${tail}` },
    fieldPath: '.content',
    holds: (f) => !f.content.includes(char),
  };
}

export const AppFile = ruled(
  z.object({
    path: patterned(
      'spec.files[].path',
      PATH_PATTERN,
      "a relative path of letters, digits, '.', '_', '-' and '/', with no segment starting with '.' (no '..', no absolute paths)",
      'Path inside the build context, e.g. app.py or pkg/util.py.',
      128,
    ),
    content: z
      .string()
      .max(MAX_FILE_BYTES, { message: `spec.files[].content must be at most ${MAX_FILE_BYTES} characters` })
      .meta({ description: 'File content, UTF-8 text.' }),
  }),
  'One source file.',
  [
    {
      cel: "!self.path.split('/').exists(s, s == '..')",
      message: "spec.files[].path must not contain a '..' segment",
      fieldPath: '.path',
      holds: (f) => !f.path.split('/').includes('..'),
    },
    // JSON and protobuf carry text: a NUL byte would reach the ConfigMap as is, and bytes that
    // are not UTF-8 arrive as U+FFFD, so the image would not hold what the developer sent. Two
    // rules, not one: together their estimated CEL cost is over the API server's budget for a rule.
    notText('a NUL byte', '\\u0000', '\u0000'),
    notText('bytes that are not UTF-8 (they arrive as U+FFFD)', '\\uFFFD', '\uFFFD'),
    {
      cel: `!(self.path in ${JSON.stringify(RESERVED_PATHS).replaceAll('"', "'")})`,
      message: `spec.files[].path must not be ${RESERVED_PATHS.join(' or ')}: aerogrid generates them for the runtime`,
      fieldPath: '.path',
      holds: (f) => !(RESERVED_PATHS as readonly string[]).includes(f.path),
    },
  ],
);
export type AppFile = z.infer<typeof AppFile>;

/**
 * The file a schema problem is about (`spec.files[3].content: …`), so that the CLI and the console
 * can name it by its path; undefined for a problem about something else.
 */
export function problemFile(problem: string, files: readonly AppFile[]): { file: AppFile; field?: string; message: string } | undefined {
  const m = /^spec\.files\[(\d+)\](?:\.(\w+))?: (.*)$/.exec(problem);
  const file = m ? files[Number(m[1])] : undefined;
  return m && file ? { file, field: m[2], message: m[3] } : undefined;
}

const Files = ruled(
  z.array(AppFile).max(MAX_FILES, { message: `spec.files must hold at most ${MAX_FILES} files` }),
  'Source files: usually app.py and requirements.txt.',
  [
    {
      cel: 'self.all(f, self.exists_one(g, g.path == f.path))',
      message: 'spec.files must not repeat a path',
      holds: (files) => new Set(files.map((f) => f.path)).size === files.length,
    },
    {
      cel: `self.map(f, f.content.size()).sum() <= ${MAX_TOTAL_BYTES}`,
      message: `spec.files must hold at most ${MAX_TOTAL_BYTES} characters in all, so that the build context fits in one ConfigMap`,
      holds: (files) => files.reduce((n, f) => n + f.content.length, 0) <= MAX_TOTAL_BYTES,
    },
  ],
);

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

const EnvVar = z.object({
  name: patterned('spec.env[].name', ENV_NAME, 'a C identifier (letters, digits, _)', 'Variable name.', 128),
  value: z.string().max(4096).meta({ description: 'Variable value.' }),
});

const SecretRef = z.object({
  name: dnsLabel('spec.envFromSecrets[].name', 63, 'Name of a Secret in the App\'s own namespace.'),
  namespace: z
    .string()
    .max(63)
    .optional()
    .meta({ description: "Must be the App's own namespace if given: an App never reads another namespace's Secrets." }),
});

const Resources = z.object({
  cpu: quantity('spec.resources.*.cpu', 'CPU.').optional(),
  memory: quantity('spec.resources.*.memory', 'Memory.').optional(),
});

const Autoscaling = ruled(
  z.object({
    minReplicas: z.int().min(1).max(50).default(1).meta({ description: 'Lower bound.' }),
    maxReplicas: z.int().min(1).max(50).meta({ description: 'Upper bound.' }),
    targetCPUUtilizationPercentage: z.int().min(10).max(100).default(80).meta({ description: 'Target average CPU.' }),
  }),
  'HorizontalPodAutoscaler settings. When set, spec.replicas is ignored.',
  [
    {
      cel: 'self.minReplicas <= self.maxReplicas',
      message: 'spec.autoscaling.minReplicas must not exceed spec.autoscaling.maxReplicas',
      holds: (a) => a.minReplicas <= a.maxReplicas,
    },
  ],
);

/** Highest spec.rebuild: keeps `<app>-build-<10 hex>-r<n>` a valid label. */
export const REBUILD_MAX = 999_999;
/** How many releases status.releases keeps. */
export const RELEASES_KEPT = 10;

const IMAGE_REF = '^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';

export const AppSpec = ruled(
  z.object({
    runtime: patterned('spec.runtime', RUNTIME_PATTERN, 'a runtime name such as python3.13', "Language runtime that builds and runs the files: one the platform offers. Left out, the platform's default.", 16).optional(),
    files: Files.default([]),
    image: patterned(
      'spec.image',
      IMAGE_REF,
      'an image reference such as registry.example.com/team/app:1.2.3',
      'Bring your own image: skips the build, and spec.files is ignored.',
      256,
    ).optional(),
    command: z
      .array(z.string().max(1024))
      .min(1)
      .max(32)
      .optional()
      .meta({ description: 'Overrides how the app starts. Default for Python: python app.py.' }),
    port: z
      .int()
      .min(1024, { message: 'spec.port must be 1024 or above: the app runs as a non-root user' })
      .max(65535)
      .default(8080)
      .meta({ description: 'Port the app listens on; also passed as $PORT.' }),
    replicas: z.int().min(0).max(50).default(1).meta({ description: 'Number of Pods, unless autoscaling is set.' }),
    resources: z
      .object({
        requests: Resources.optional(),
        limits: Resources.optional(),
      })
      .optional()
      .meta({ description: 'Container requests and limits. Default: requests 100m/128Mi, limits 500m/256Mi.' }),
    autoscaling: Autoscaling.optional(),
    env: z
      .array(EnvVar)
      .max(64)
      .default([])
      .meta({ description: 'Plain environment variables.', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    envFromSecrets: z
      .array(SecretRef)
      .max(16)
      .default([])
      .meta({
        description: "Existing Secrets in the App's namespace whose keys become environment variables.",
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    healthPath: z
      .string()
      .max(256)
      .regex(/^\//, { message: "spec.healthPath must start with '/'" })
      .optional()
      .meta({ description: 'HTTP path for readiness and liveness probes. Left out, the probes check that the port accepts TCP.' }),
    rebuild: z
      .int()
      .min(0)
      .max(REBUILD_MAX)
      .default(0)
      .meta({
        description: 'Raise it to build the same source again (aerogrid rebuild): the build Job and the image tag carry it, so each value is a build of its own. Nothing else changes it.',
      }),
    rollback: z
      .object({
        revision: z.int().min(1).meta({ description: 'The release in status.releases this image served as.' }),
        image: patterned('spec.rollback.image', IMAGE_REF, 'an image reference, as status.releases lists them', 'The image of that release.', 256),
      })
      .optional()
      .meta({ description: 'Pins the image of an earlier release (aerogrid rollback): it runs without a build until this is removed (aerogrid push does).' }),
    access: z
      .object({
        public: z.boolean().default(false).meta({
          description: 'true opens the app to callers without a token. The only way to do so; it shows in status.access.',
        }),
        allowedGroups: z
          .array(z.string().min(1).max(256))
          .min(1)
          .max(32)
          .optional()
          .meta({ description: "Groups admitted; each must be one of the tenant's groups. Default: all of the tenant's groups." }),
      })
      .default({ public: false })
      .meta({ description: 'Who may call the app.' }),
  }),
  'A developer application: source files or an image, run behind the tenant\'s Auth0 JWTs.',
  [
    {
      cel: 'has(self.image) || size(self.files) > 0',
      message: 'spec.files must hold the app source, or spec.image must name a prebuilt image',
      fieldPath: '.files',
      holds: (s) => s.image !== undefined || s.files.length > 0,
    },
    {
      cel: "has(self.image) || has(self.command) || self.files.exists(f, f.path == 'app.py')",
      message: 'spec.files must include app.py, or spec.command must say how to start the app',
      fieldPath: '.files',
      holds: (s) => s.image !== undefined || s.command !== undefined || s.files.some((f) => f.path === 'app.py'),
    },
  ],
);
export type AppSpec = z.infer<typeof AppSpec>;

export const APP_PHASES = ['Pending', 'Building', 'Deploying', 'Ready', 'Failed'] as const;
export type AppPhase = (typeof APP_PHASES)[number];
export const BUILD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

export const AppStatus = z
  .object({
    phase: z.enum(APP_PHASES).optional().meta({ description: 'Where the app is: Pending, Building, Deploying, Ready or Failed.' }),
    message: z.string().optional().meta({ description: 'Why the app is in this phase, in words.' }),
    url: z.string().optional().meta({ description: 'Where the app is served.' }),
    image: z.string().optional().meta({ description: 'The image the Deployment runs (the last good one while a build runs).' }),
    sourceDigest: z.string().optional().meta({ description: 'sha256 over the canonical files, runtime and base image.' }),
    access: z.enum(['jwt', 'public']).optional().meta({ description: 'jwt unless spec.access.public is true.' }),
    build: z
      .object({
        digest: z.string().optional().meta({ description: 'Source digest this build is for.' }),
        job: z.string().optional().meta({ description: 'Name of the Kaniko Job.' }),
        phase: z.enum(BUILD_PHASES).optional().meta({ description: 'Pending, Running, Succeeded or Failed.' }),
        message: z.string().optional().meta({ description: 'Why the build failed, when it did.' }),
        rebuild: z.int().optional().meta({ description: 'spec.rebuild this build is for, when not 0.' }),
      })
      .optional()
      .meta({ description: 'The build for the current source.' }),
    revision: z.int().optional().meta({ description: 'The release (status.releases) the App serves.' }),
    releases: z
      .array(z.object({
        revision: z.int().meta({ description: 'Counts up from 1 with every new image that reaches Ready.' }),
        image: z.string().meta({ description: 'The image that served.' }),
        sourceDigest: z.string().optional().meta({ description: 'The source it was built from.' }),
        rebuild: z.int().optional().meta({ description: 'spec.rebuild of that build, when not 0.' }),
        readyAt: z.string().optional().meta({ description: 'When its rollout completed (the Deployment says).' }),
      }))
      .max(RELEASES_KEPT)
      .optional()
      .meta({ description: `The last ${RELEASES_KEPT} images that reached Ready, newest last: what aerogrid rollback can go back to.` }),
    observedGeneration: z.number().int().optional().meta({ description: 'The metadata.generation of the App that this status describes.' }),
  })
  .meta({ description: 'Observed state, written by the aerogrid function.' });
export type AppStatus = z.infer<typeof AppStatus>;
