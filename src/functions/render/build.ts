// Content-addressed builds: the source digest, the generated Dockerfile, the build
// context ConfigMap and the Kaniko Job that turns them into an image.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Container, V1Job, V1SecurityContext } from '@kubernetes/client-node';
import type { AppFile, AppSpec } from '../../api/app.js';
import { BASE_LINK_LIMITS, type PlatformSettings } from '../../api/platform.js';
import { BUILD_COMPONENT } from './tenant.js';
import { LABEL_APP, commonLabels, conditionOf, kube, type KubeObject } from './resources.js';

export const APP_UID = 10001;
/** How a built App starts unless spec.command says otherwise: `python` is on the base image's PATH. */
export const DEFAULT_COMMAND = ['python', 'app.py'];
/**
 * The build context ConfigMap, mounted for Kaniko: the Dockerfile, and the App's files under src/.
 * The volume's visible entries are symlinks into `..data`, the kubelet's atomically swapped folder,
 * beside timestamped folders of its own; Kaniko walks `..data/src`, a plain folder of the App's
 * files, so that `COPY . /app` copies them and nothing else (a timestamped name in the image would
 * make every build of the same source a different image).
 */
const CONTEXT_MOUNT = '/context';
const CONTEXT_DIR = `${CONTEXT_MOUNT}/..data/src`;

/** sha256 over the canonical source: files sorted by path, the runtime and the base image. */
export function sourceDigest(files: AppFile[], runtime: string, baseImage: string): string {
  const hash = createHash('sha256');
  const field = (s: string) => hash.update(`${Buffer.byteLength(s)}:${s}\n`);
  field('aerogrid-source-v1');
  field(runtime);
  field(baseImage);
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    field(f.path);
    field(f.content);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The short form used in object names: enough to tell builds apart, short enough for labels. */
export function shortDigest(digest: string): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 10);
}

/** The image of a source: tagged with its digest, and `-r<n>` for the n-th rebuild of it (spec.rebuild). */
export function imageFor(settings: PlatformSettings, tenant: string, app: string, digest: string, rebuild = 0): string {
  return `${settings.registry}/${tenant}/${app}:${digest.slice('sha256:'.length)}${rebuild ? `-r${rebuild}` : ''}`;
}

/**
 * The Dockerfile of a Python App. The base image has `python` and `pip` on PATH (a virtual
 * environment: Debian's python3 has no `python` command and refuses pip installs into the system).
 * requirements.txt is installed from the platform's package index before the rest of the source
 * is copied, so that Kaniko's layer cache keeps the installed packages across edits of the code.
 */
export function dockerfile(spec: AppSpec, baseImage: string, settings: PlatformSettings): string {
  const hasRequirements = spec.files.some((f) => f.path === 'requirements.txt');
  const index = new URL(settings.build.pythonIndex);
  const pip = ['pip', 'install', '--no-cache-dir', '--index-url', settings.build.pythonIndex, ...(index.protocol === 'http:' ? ['--trusted-host', index.hostname] : []), '-r', '/app/requirements.txt'];
  return [
    `FROM ${baseImage}`,
    'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HOME=/tmp',
    'WORKDIR /app',
    ...(hasRequirements ? ['COPY requirements.txt /app/requirements.txt', `RUN ${JSON.stringify(pip)}`] : []),
    'COPY . /app',
    `USER ${APP_UID}:${APP_UID}`,
    // What the image holds follows from the source digest's inputs alone: the port ($PORT) and a
    // spec.command come from the Deployment, so that changing them needs no build.
    `CMD ${JSON.stringify(DEFAULT_COMMAND)}`,
    '',
  ].join('\n');
}

/** ConfigMap keys cannot hold '/': each file gets an indexed key, and the volume maps it back to its path. */
function contextItems(files: AppFile[]): { key: string; path: string; content: string }[] {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((f, i) => ({ key: `f${String(i).padStart(2, '0')}-${f.path.replaceAll('/', '_')}`, path: f.path, content: f.content }));
}

export interface BuildNames {
  configMap: string;
  job: string;
  image: string;
}

/** A rebuild is a Job (and an image) of its own; the build context is the same source, so it is shared. */
export function buildNames(settings: PlatformSettings, tenant: string, app: string, digest: string, rebuild = 0): BuildNames {
  return {
    configMap: `${app}-src-${shortDigest(digest)}`,
    job: `${app}-build-${shortDigest(digest)}${rebuild ? `-r${rebuild}` : ''}`,
    image: imageFor(settings, tenant, app, digest, rebuild),
  };
}

/**
 * The keys of a build's composed resources, one per build. Crossplane keeps the name of the
 * object it composed under a key (a desired object under a known key is applied to the name
 * observed there), so a Job renamed under one key would be applied onto the previous build's
 * Job, whose template is immutable: a new source or a rebuild would never get its Job.
 */
export function buildKeys(names: BuildNames): { context: string; job: string } {
  return {
    context: `build-context-${names.configMap.slice(names.configMap.lastIndexOf('-src-') + '-src-'.length)}`,
    job: `build-job-${names.job.slice(names.job.lastIndexOf('-build-') + '-build-'.length)}`,
  };
}

export function buildContext(spec: AppSpec, settings: PlatformSettings, baseImage: string, names: BuildNames, namespace: string, app: string, digest: string): KubeObject {
  const items = contextItems(spec.files);
  return kube<V1ConfigMap>('v1', 'ConfigMap', {
    metadata: {
      name: names.configMap,
      namespace,
      labels: commonLabels({ [LABEL_APP]: app, 'app.kubernetes.io/component': BUILD_COMPONENT }),
      annotations: { 'platform.aerogrid.io/source-digest': digest },
    },
    immutable: true,
    data: { Dockerfile: dockerfile(spec, baseImage, settings), ...Object.fromEntries(items.map((i) => [i.key, i.content])) },
  });
}

export function buildJob(
  spec: AppSpec, settings: PlatformSettings, baseImage: string, names: BuildNames,
  ctx: { namespace: string; app: string; tenant: string; digest: string; registrySecret: string; runtime: string },
): KubeObject {
  const items = contextItems(spec.files);
  const labels = commonLabels({ [LABEL_APP]: ctx.app, 'app.kubernetes.io/component': BUILD_COMPONENT });
  const restricted = { allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } };
  return kube<V1Job>('batch/v1', 'Job', {
    metadata: { name: names.job, namespace: ctx.namespace, labels, annotations: { 'platform.aerogrid.io/source-digest': ctx.digest } },
    spec: {
      backoffLimit: settings.build.retries,
      activeDeadlineSeconds: settings.build.deadlineSeconds,
      template: {
        metadata: { labels, annotations: { 'sidecar.istio.io/inject': 'false' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 'kaniko',
            image: settings.kanikoImage,
            args: [
              `--context=dir://${CONTEXT_DIR}`,
              `--dockerfile=${CONTEXT_MOUNT}/Dockerfile`,
              `--destination=${names.image}`,
              '--cache=true',
              `--cache-repo=${settings.registry}/${ctx.tenant}/cache`,
              // Timestamps out: the same source gives the same image digest.
              '--reproducible',
              '--digest-file=/dev/termination-log',
              // Plain text: the log is read by people (aerogrid logs --build, the console) and by the App's status.
              '--log-format=text',
              ...settings.build.insecureRegistries.map((r) => `--insecure-registry=${r}`),
            ],
            // On success the termination message is the image's digest; on failure, the last lines
            // of the log (pip's error), which the App's status shows.
            terminationMessagePolicy: 'FallbackToLogsOnError',
            // Kaniko rewrites the whole image in memory (--reproducible): fewer garbage collections
            // of that buffer while it does, within the container's memory limit.
            env: [{ name: 'DOCKER_CONFIG', value: '/kaniko/.docker' }, { name: 'GOGC', value: '400' }],
            // Kaniko unpacks the base image as root; the namespace enforces baseline for this reason.
            securityContext: { ...restricted, runAsUser: 0, capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETGID', 'SETUID'] } },
            resources: {
              requests: { cpu: '250m', memory: '512Mi' },
              limits: { cpu: settings.build.cpu, memory: settings.build.memory },
            },
            volumeMounts: [
              { name: 'context', mountPath: CONTEXT_MOUNT, readOnly: true },
              { name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true },
            ],
          }, ...baseLink(settings, baseImage, names.image, ctx.runtime, restricted)],
          volumes: [
            { name: 'context', configMap: { name: names.configMap, items: [{ key: 'Dockerfile', path: 'Dockerfile' }, ...items.map((i) => ({ key: i.key, path: `src/${i.path}` }))] } },
            // Optional: a registry that takes pushes without credentials needs no Secret.
            { name: 'docker-config', secret: { secretName: ctx.registrySecret, optional: true, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
          ],
        },
      },
    },
  });
}

/**
 * The container that mounts the base image into the App's repository (crane copy: a
 * cross-repository mount, no bytes uploaded), beside Kaniko, which needs it only when it pushes,
 * seconds later. Kaniko checks each layer of the image it pushes in the App's repository first
 * and skips those there. Its --reproducible rewrites the base layers too; the platform's bases are
 * already in that form (scripts/lib/node.ts), so the layers match. Without it, the first build of
 * every App uploads the whole base again (and so would this one, were Kaniko to push first).
 */
function baseLink(settings: PlatformSettings, baseImage: string, image: string, runtime: string, restricted: V1SecurityContext): V1Container[] {
  if (!settings.build.craneImage) return [];
  const repository = image.slice(0, image.lastIndexOf(':'));
  const insecure = settings.build.insecureRegistries.includes(repository.split('/')[0]);
  return [{
    name: 'base',
    image: settings.build.craneImage,
    args: ['copy', ...(insecure ? ['--insecure'] : []), baseImage, `${repository}:base-${runtime}`],
    env: [{ name: 'DOCKER_CONFIG', value: '/kaniko/.docker' }, { name: 'HOME', value: '/tmp' }],
    securityContext: { ...restricted, runAsNonRoot: true, runAsUser: APP_UID, runAsGroup: APP_UID, capabilities: { drop: ['ALL'] } },
    resources: { limits: BASE_LINK_LIMITS },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [{ name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true }],
  }];
}

export type JobState = { phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed'; message?: string };

export function jobState(observed: KubeObject | undefined): JobState {
  if (!observed) return { phase: 'Pending' };
  if (conditionOf(observed, 'Complete')?.status === 'True') return { phase: 'Succeeded' };
  const failed = conditionOf(observed, 'Failed');
  if (failed?.status === 'True') {
    return { phase: 'Failed', message: failed.message || failed.reason || 'the build Job failed' };
  }
  const active = (observed.status as { active?: number } | undefined)?.active ?? 0;
  return { phase: active > 0 ? 'Running' : 'Pending' };
}
