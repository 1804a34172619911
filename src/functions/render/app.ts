// The App renderer: from source files to a built image, a running Deployment and a
// JWT-protected URL. Pure: the observed XR, its observed composed resources and the
// tenant it lives in come in; desired resources, status and conditions go out.
//
// It keeps no state of its own. What it must remember between reconciles is in the
// XR's status (the last good image, the build for the current source), and, should
// status be lost, in the observed Deployment's image. Its memos only spare work: the
// tenant hint below changes how many rounds Crossplane needs, never what is rendered.
import type { V1Deployment, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { APP_NAME_MAX, AppSpec, RELEASES_KEPT, type AppPhase } from '../../api/app.js';
import { nameProblems } from '../../api/rules.js';
import type { TenantSpec } from '../../api/tenant.js';
import { MEMO_SIZE, Memo, SHARES, identity } from '../../api/memo.js';
import type { PlatformSettings } from '../../api/platform.js';
import { parseAt } from '../../api/validate.js';
import { APP_UID, buildContext, buildJob, buildKeys, buildNames, jobState, sourceDigest, type BuildNames, type JobState } from './build.js';
import { deploymentAvailable, readiness } from './ready.js';
import { appPods, buildFailure, rolloutProblem, type RolloutProblem } from './workload.js';
import {
  FatalError, GROUP, LABEL_APP, LABEL_COMPONENT, LABEL_TENANT, SERVER_COMPONENT, commonLabels, conditionOf, emptyOutput, kube, requiredOne, statusOf,
  type Condition, type KubeObject, type RenderInput, type RenderOutput,
} from './resources.js';
import { appUrl, authorizationPolicy, requestAuthentication, service, virtualService, type RouteContext } from './route.js';
import { tenantNamespaces, tenantSpecOf } from './tenant.js';

const DEFAULT_REQUESTS = { cpu: '100m', memory: '128Mi' };
const DEFAULT_LIMITS = { cpu: '500m', memory: '256Mi' };
/**
 * How soon an App that is rolling out is rendered again. A crash loop or a failing probe changes
 * its pods, which Crossplane does not watch, and not its Deployment's status, which it does.
 */
const ROLLOUT_TTL_SECONDS = 10;

interface TenantContext {
  name: string;
  spec: TenantSpec;
  namespaces: string[];
}

export function renderApp(input: RenderInput): RenderOutput {
  const { composite, settings } = input;
  const legacy = composite.kind === 'XApp';
  const name = legacy ? (composite.metadata?.labels?.['crossplane.io/claim-name'] ?? composite.metadata?.name ?? '') : (composite.metadata?.name ?? '');
  const namespace = legacy ? (composite.metadata?.labels?.['crossplane.io/claim-namespace'] ?? '') : (composite.metadata?.namespace ?? '');

  const problems = nameProblems('an App', name, APP_NAME_MAX, 'so that its build Job and image names stay valid');
  if (!namespace) problems.push('metadata.namespace: an App must live in a tenant namespace');
  const parsed = parseAt(AppSpec, composite.spec, 'spec');
  if (!parsed.ok) problems.push(...parsed.problems);
  if (!parsed.ok || problems.length > 0) throw new FatalError(problems);
  const spec = parsed.value;
  checkSecretRefs(spec, namespace);

  const out = emptyOutput();
  const tenant = resolveTenant(input, out, namespace, legacy);
  // Which generation of the App this status describes: `aerogrid push` waits for its own.
  const generation = typeof composite.metadata?.generation === 'number' ? { observedGeneration: composite.metadata.generation } : {};
  if (!tenant) {
    out.status = { phase: 'Pending', message: `waiting for the settings of the tenant that owns namespace ${namespace}`, ...generation };
    return out;
  }
  const groups = allowedGroups(spec, tenant.spec);

  const labels = commonLabels({ [LABEL_TENANT]: tenant.name, [LABEL_APP]: name, 'app.kubernetes.io/name': name });
  const selector = { [LABEL_APP]: name };
  const route: RouteContext = {
    app: name,
    namespace,
    pathSegment: tenant.namespaces.length === 1 ? tenant.name : namespace,
    labels,
    selector,
    serviceSelector: serviceSelectsServersOnly(input.observed.service, input.observed.deployment) ? { ...selector, [LABEL_COMPONENT]: SERVER_COMPONENT } : selector,
  };
  const url = appUrl(settings, route);
  const add = (key: string, resource: KubeObject) => {
    out.resources[key] = { resource, ready: readiness(resource, input.observed[key]) };
  };

  const previous = statusOf(composite);
  const observedDeployment = input.observed.deployment;
  const runningImage = containerImage(observedDeployment) ?? (typeof previous.image === 'string' ? previous.image : undefined);

  // Decide the image: given directly, or built from source (once per digest).
  let image: string | undefined;
  let build: { digest: string; job: string; phase: JobState['phase']; message?: string; rebuild?: number } | undefined;
  let digest: string | undefined;
  let toBuild: Build | undefined;
  if (spec.image) {
    image = spec.image;
  } else if (spec.rollback) {
    // Pinned to an earlier release: its image runs, and nothing is built until a push removes the pin.
    image = spec.rollback.image;
  } else {
    if (!tenant.spec.builds.enabled) {
      throw new FatalError([`spec.files: tenant ${tenant.name} does not build images (spec.builds.enabled is false); set spec.image to a prebuilt image`]);
    }
    const runtime = spec.runtime ?? settings.defaultRuntime;
    const baseImage = settings.runtimes[runtime]?.baseImage;
    if (!baseImage) {
      throw new FatalError([`spec.runtime: runtime ${runtime} is not offered by this platform; use one of ${Object.keys(settings.runtimes).join(', ')}`]);
    }
    digest = DIGESTS.get(`${identity(spec)}\u0000${runtime}\u0000${baseImage}`, () => sourceDigest(spec.files, runtime, baseImage), (d) => d.length);
    const rebuild = spec.rebuild;
    const names = buildNames(settings, tenant.name, name, digest, rebuild);
    const prevBuild = (previous.build ?? {}) as { digest?: string; phase?: string; message?: string; rebuild?: number };
    const sameBuild = prevBuild.digest === digest && (prevBuild.rebuild ?? 0) === rebuild;
    // An image that reached Ready before is in the registry: back from a rollback, or back to an
    // earlier source, it serves again without a build.
    const released = Array.isArray(previous.releases) && previous.releases.some((r: { image?: unknown } | null) => r?.image === names.image);
    const builtBefore = runningImage === names.image || released || (sameBuild && prevBuild.phase === 'Succeeded');
    // The observed Job is whatever was desired last time: after a source change, the old digest's.
    const observedJob = input.observed[buildKeys(names).job];
    if (builtBefore) {
      build = { digest, job: names.job, phase: 'Succeeded', rebuild };
      image = names.image;
      // The build of the source that serves is kept while it exists, for its log (aerogrid logs
      // --build, the console); it has completed, so keeping it runs nothing. None is made anew.
      if (observedJob?.metadata?.name === names.job && jobState(observedJob).phase === 'Succeeded') toBuild = { runtime, baseImage, names, digest };
    } else {
      const state = jobState(observedJob);
      // A Job that failed stays failed for this digest, even if someone deletes it: no rebuild
      // until the source changes or spec.rebuild asks for another build.
      const failedBefore = sameBuild && prevBuild.phase === 'Failed' && state.phase !== 'Succeeded';
      const phase = failedBefore ? 'Failed' : state.phase;
      // Why it failed is in its pod's log (pip's error), which its termination message carries.
      const failure = phase === 'Failed' && observedJob ? buildFailure(pods(input, out, namespace, name) ?? [], names.job) : undefined;
      build = { digest, job: names.job, phase, rebuild, message: failure ?? (failedBefore ? (prevBuild.message ?? state.message) : state.message) };
      // Keep the Job while it runs or holds a failure's logs; never re-create one that failed.
      if (!(failedBefore && !observedJob)) toBuild = { runtime, baseImage, names, digest };
      image = phase === 'Succeeded' ? names.image : runningImage;
    }
  }

  // Everything composed follows from these inputs alone; the key holds them all.
  const key = [identity(spec), identity(settings), identity(tenant.spec), tenant.name, name, namespace, image ?? '', toBuild ? 'build' : '',
    route.serviceSelector[LABEL_COMPONENT] ?? ''].join('\u0000');
  const composed = COMPOSED.get(key, () => composeApp(spec, settings, tenant, route, groups, image, toBuild), () => 2 * fileBytes(spec) + COMPOSED_OVERHEAD);
  for (const [k, resource] of composed) add(k, resource);

  const deployed = !!image && !!observedDeployment && deploymentAvailable(out.resources.deployment.resource, observedDeployment) && containerImage(observedDeployment) === image;
  const pinned = !spec.image && spec.rollback ? spec.rollback : undefined;
  // A rollout under way: what its pods say, when they say something is wrong.
  const rollout = image && observedDeployment && !deployed && build?.phase !== 'Failed' ? rolloutOf(input, out, namespace, name, image, observedDeployment) : undefined;
  // What serves now: while a build runs, what the Deployment runs; while a new image rolls out,
  // the last release that reached Ready (the Deployment already names the new one).
  const serving = image !== runningImage || deployed ? runningImage : servingImage(previous);
  const phased = phaseOf(build, image, serving, deployed, url, rollout, conditionOf(observedDeployment, 'Available')?.status === 'True');
  const message = pinned && phased.phase === 'Ready'
    ? `rolled back to revision ${pinned.revision}: ${phased.message}; aerogrid push builds from source again`
    : phased.message;
  const history = releasesOf(previous, phased.phase === 'Ready' ? { image: image!, sourceDigest: pinned ? undefined : digest, rebuild: build?.rebuild, readyAt: readyAt(observedDeployment), pinned: pinned?.revision } : undefined);
  out.status = {
    phase: phased.phase,
    message,
    url,
    access: spec.access.public ? 'public' : 'jwt',
    ...(image ? { image } : {}),
    ...(digest ? { sourceDigest: digest } : {}),
    ...(build ? { build: { digest: build.digest, job: build.job, phase: build.phase, ...(build.message ? { message: build.message } : {}), ...(build.rebuild ? { rebuild: build.rebuild } : {}) } } : {}),
    ...(history.revision !== undefined ? { revision: history.revision } : {}),
    ...(history.releases.length > 0 ? { releases: history.releases } : {}),
    ...generation,
  };
  out.conditions.push(...conditionsOf(build, spec.image ?? (pinned ? `${pinned.image} (revision ${pinned.revision}, rolled back)` : undefined), deployed, message, rollout?.reason));
  if (build?.phase === 'Failed') out.results.push({ severity: 'Warning', message });
  // Settled: watches bring every change to the App and its objects, so the poll only picks up
  // its Tenant's changes, and with 1,000 Apps a 60 s poll is most of what the function does.
  if (phased.phase === 'Ready' && Object.values(out.resources).every((d) => d.ready)) out.ttlSeconds = settings.appResyncSeconds;
  else if (phased.phase === 'Deploying') out.ttlSeconds = ROLLOUT_TTL_SECONDS;
  return out;
}

/**
 * The App's pods (its builds' and its Deployment's), asked of Crossplane as a required resource:
 * undefined until it has fetched them.
 */
function pods(input: RenderInput, out: RenderOutput, namespace: string, app: string): KubeObject[] | undefined {
  out.requirements.pods = { apiVersion: 'v1', kind: 'Pod', namespace, matchLabels: { [LABEL_APP]: app } };
  return input.required.pods;
}

/**
 * What stops a rollout, if anything. A failing readiness probe is said only by an event of the
 * kubelet's, so the namespace's events are asked for only while new pods run and are not ready.
 */
function rolloutOf(input: RenderInput, out: RenderOutput, namespace: string, app: string, image: string, deployment: KubeObject): RolloutProblem | undefined {
  const failure = conditionOf(deployment, 'ReplicaFailure');
  if (failure?.status === 'True') return { failed: false, reason: 'NotReady', message: `the Deployment cannot create pods: ${failure.message ?? failure.reason ?? ''}` };
  const mine = appPods(pods(input, out, namespace, app) ?? [], image);
  const problem = rolloutProblem(mine, input.required.events);
  if (problem?.reason === 'NotReady' || problem?.reason === 'ProbeFailing') {
    out.requirements.events = { apiVersion: 'v1', kind: 'Event', namespace, matchLabels: {} };
  }
  return problem;
}

/** The image of the release the App served last (status.revision), which a rollout keeps serving. */
function servingImage(previous: Record<string, unknown>): string | undefined {
  const releases = Array.isArray(previous.releases) ? (previous.releases as { revision?: unknown; image?: unknown }[]) : [];
  const current = releases.find((r) => r && r.revision === previous.revision);
  return typeof current?.image === 'string' ? current.image : undefined;
}

export interface Release {
  revision: number;
  image: string;
  sourceDigest?: string;
  rebuild?: number;
  readyAt?: string;
}

/**
 * The release history in status.releases: the last RELEASES_KEPT images that reached Ready,
 * newest last, and the revision served now. It lives only in the XR's status (the previous one
 * comes in, the next goes out), so the function stays stateless. An image that reaches Ready
 * and is not the current revision's becomes a new revision; a rollback serves its old revision
 * without adding one. Entries that are not well formed are dropped, never trusted.
 */
export function releasesOf(
  previous: Record<string, unknown>,
  ready: { image: string; sourceDigest?: string; rebuild?: number; readyAt?: string; pinned?: number } | undefined,
): { revision?: number; releases: Release[] } {
  const releases: Release[] = (Array.isArray(previous.releases) ? previous.releases : [])
    .filter((r): r is Release => !!r && typeof r === 'object' && Number.isInteger(r.revision) && r.revision > 0 && typeof r.image === 'string')
    .map((r) => ({
      revision: r.revision,
      image: r.image,
      ...(typeof r.sourceDigest === 'string' ? { sourceDigest: r.sourceDigest } : {}),
      ...(Number.isInteger(r.rebuild) && r.rebuild! > 0 ? { rebuild: r.rebuild } : {}),
      ...(typeof r.readyAt === 'string' ? { readyAt: r.readyAt } : {}),
    }))
    .sort((a, b) => a.revision - b.revision)
    // A status that says more than the XRD allows (edited by hand) would make the next write fail.
    .slice(-RELEASES_KEPT);
  const before = Number.isInteger(previous.revision) ? (previous.revision as number) : undefined;
  if (!ready) return { revision: before, releases };
  if (ready.pinned !== undefined) return { revision: ready.pinned, releases };
  const current = releases.find((r) => r.revision === before);
  if (current?.image === ready.image) return { revision: before, releases };
  const revision = (releases.at(-1)?.revision ?? 0) + 1;
  releases.push({
    revision,
    image: ready.image,
    ...(ready.sourceDigest ? { sourceDigest: ready.sourceDigest } : {}),
    ...(ready.rebuild ? { rebuild: ready.rebuild } : {}),
    ...(ready.readyAt ? { readyAt: ready.readyAt } : {}),
  });
  return { revision, releases: releases.slice(-RELEASES_KEPT) };
}

/** When the Deployment finished its rollout, as the Deployment controller records it. */
function readyAt(deployment: KubeObject | undefined): string | undefined {
  const conditions = (deployment?.status as { conditions?: { type?: string; reason?: string; lastUpdateTime?: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? [];
  const progressing = conditions.find((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable');
  return progressing?.lastUpdateTime ?? conditions.find((c) => c.type === 'Available')?.lastTransitionTime;
}

/** What a build needs: the runtime and its base image, and the names and digest of the source. */
interface Build {
  runtime: string;
  baseImage: string;
  names: BuildNames;
  digest: string;
}

/**
 * Past MEMO_SIZE Apps, or their share of the cache budget, one not rendered lately is composed
 * anew. What an App composes holds its files once (the build context) and the response encoder
 * keeps their encoded bytes beside it, so an entry counts its files twice, plus about 64 KiB for
 * its seven objects and their encoded bytes.
 */
const COMPOSED = new Memo<[string, KubeObject][]>(MEMO_SIZE, SHARES.appComposed);
const DIGESTS = new Memo<string>(MEMO_SIZE, SHARES.appDigests);
const COMPOSED_OVERHEAD = 64 << 10;
const fileBytes = (spec: AppSpec) => spec.files.reduce((n, f) => n + f.path.length + f.content.length, 0);

/**
 * The objects an App composes, from its validated spec and the decisions renderApp made. As
 * [key, object] pairs, not an object keyed by them: a build's keys differ from App to App
 * (build-job-<digest>), and the memo would keep one V8 hidden class alive per App.
 */
function composeApp(spec: AppSpec, settings: PlatformSettings, tenant: TenantContext, route: RouteContext, groups: string[], image: string | undefined, toBuild: Build | undefined): [string, KubeObject][] {
  const out: [string, KubeObject][] = [];
  if (toBuild) {
    const { baseImage, names, digest } = toBuild;
    const keys = buildKeys(names);
    out.push([keys.context, buildContext(spec, settings, baseImage, names, route.namespace, route.app, digest)]);
    out.push([keys.job, buildJob(spec, settings, baseImage, names, { namespace: route.namespace, app: route.app, tenant: tenant.name, digest, registrySecret: tenant.spec.builds.registrySecret, runtime: toBuild.runtime })]);
  }
  if (image) {
    out.push(['deployment', deployment(spec, image, route)]);
    if (spec.autoscaling) out.push(['hpa', hpa(spec, route)]);
  }
  out.push(['service', service(spec, route)]);
  out.push(['virtualservice', virtualService(settings, route)]);
  out.push(['requestauthentication', requestAuthentication(tenant.spec, route)]);
  out.push(['authorizationpolicy', authorizationPolicy(spec, tenant.spec, groups, route)]);
  return out;
}

/**
 * The tenant each namespace belonged to when an App in it was last rendered. Crossplane fetches
 * required resources between calls, and stops calling once a call asks for what the one before
 * it asked for. Namespace → tenant takes three calls: the namespace is asked for, then the
 * tenant its label names, then the render asks for both again. With the tenant guessed from this
 * hint in the first call it takes two, which is every reconcile in the steady state. A tenant is
 * asked for under a key that carries its name, so what was fetched for a guess is never taken
 * for the tenant the namespace's label names: a wrong guess costs a third call, as without it.
 */
const TENANT_HINTS = new Memo<string>(MEMO_SIZE * 4, SHARES.tenantHints);
const HINT_BYTES = 64;
/** The key a tenant is asked for under. */
export const tenantRequirement = (tenant: string) => `tenant-${tenant}`;

/** Follows namespace → tenant through Crossplane's required resources. Undefined until both are fetched. */
function resolveTenant(input: RenderInput, out: RenderOutput, namespace: string, legacy: boolean): TenantContext | undefined {
  out.requirements.namespace = { apiVersion: 'v1', kind: 'Namespace', matchName: namespace };
  const tenantKind = legacy ? 'XTenant' : 'Tenant';
  const askFor = (tenant: string) => (out.requirements[tenantRequirement(tenant)] = { apiVersion: `${GROUP}/v1alpha1`, kind: tenantKind, matchName: tenant });
  const hintKey = `${tenantKind}\u0000${namespace}`;
  const ns = requiredOne(input, 'namespace');
  if (ns === undefined) {
    const hint = TENANT_HINTS.find(hintKey);
    if (hint !== undefined) askFor(hint);
    return undefined;
  }
  const tenantName = ns?.metadata?.labels?.[LABEL_TENANT];
  if (!tenantName) {
    throw new FatalError([`metadata.namespace: namespace ${namespace} belongs to no Tenant; create Apps in a tenant's namespace`]);
  }
  askFor(tenantName);
  const tenant = requiredOne(input, tenantRequirement(tenantName));
  if (tenant === undefined) return undefined;
  if (tenant === null) {
    throw new FatalError([`metadata.namespace: namespace ${namespace} names tenant ${tenantName}, which does not exist`]);
  }
  let spec: TenantSpec;
  try {
    spec = tenantSpecOf(tenant);
  } catch (err) {
    const problems = err instanceof FatalError ? err.problems : [String(err)];
    throw new FatalError(problems.map((p) => `tenant ${tenantName}: ${p}`));
  }
  const namespaces = tenantNamespaces(tenantName, spec);
  if (!namespaces.includes(namespace)) {
    throw new FatalError([`metadata.namespace: namespace ${namespace} is not one of tenant ${tenantName}'s namespaces (${namespaces.join(', ')})`]);
  }
  if (TENANT_HINTS.find(hintKey) !== tenantName) TENANT_HINTS.keep(hintKey, tenantName, HINT_BYTES);
  return { name: tenantName, spec, namespaces };
}

/** The groups an App admits: its own choice, which may only narrow the tenant's groups. */
function allowedGroups(spec: AppSpec, tenant: TenantSpec): string[] {
  const tenantGroups = [...tenant.groups.admin, ...(tenant.groups.operator ?? []), ...(tenant.groups.viewer ?? [])];
  if (!spec.access.allowedGroups) return [...new Set(tenantGroups)];
  const foreign = spec.access.allowedGroups.filter((g) => !tenantGroups.includes(g));
  if (foreign.length > 0) {
    throw new FatalError([`spec.access.allowedGroups: ${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not among the tenant's groups (${[...new Set(tenantGroups)].join(', ')})`]);
  }
  return spec.access.allowedGroups;
}

function checkSecretRefs(spec: AppSpec, namespace: string): void {
  const foreign = spec.envFromSecrets.map((s, i) => ({ s, i })).filter(({ s }) => s.namespace !== undefined && s.namespace !== namespace);
  if (foreign.length > 0) {
    throw new FatalError(foreign.map(({ s, i }) => `spec.envFromSecrets[${i}].namespace: Secret ${s.namespace}/${s.name} is outside the App's namespace ${namespace}; an App may only read Secrets in its own namespace`));
  }
}

/**
 * Whether the Service may select only the pods labelled as the App's server. A build's pod carries
 * the App's label too (the function reads it, and `aerogrid logs --build` finds it), and Kaniko's
 * container is Ready while it builds: a Service selecting on the App's label alone would send a
 * share of the App's traffic to it, refused, for the whole build. The Deployment's pods now carry
 * the server label, but those of a Deployment made before it do not: switching the Service's
 * selector at once would leave it no endpoint until they are replaced. So a new Service selects
 * servers only; a Service that already does keeps doing so; an older Service switches once its
 * Deployment's template carries the label and every pod is from that template.
 */
function serviceSelectsServersOnly(service: KubeObject | undefined, deployment: KubeObject | undefined): boolean {
  if (!service) return true;
  const selector = (service.spec as { selector?: Record<string, string> } | undefined)?.selector;
  if (selector?.[LABEL_COMPONENT] === SERVER_COMPONENT) return true;
  if (!deployment) return true;
  const d = deployment as { metadata?: { generation?: number }; spec?: { template?: { metadata?: { labels?: Record<string, string> } } }; status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number } };
  const labelled = d.spec?.template?.metadata?.labels?.[LABEL_COMPONENT] === SERVER_COMPONENT;
  const rolled = (d.status?.observedGeneration ?? -1) >= (d.metadata?.generation ?? 0) && (d.status?.updatedReplicas ?? 0) === (d.status?.replicas ?? 0);
  return labelled && rolled;
}

function containerImage(deployment: KubeObject | undefined): string | undefined {
  const containers = (deployment?.spec as { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined)?.template?.spec?.containers;
  return containers?.find((c) => c.name === 'app')?.image;
}

function deployment(spec: AppSpec, image: string, route: RouteContext): KubeObject {
  const probe = spec.healthPath ? { httpGet: { path: spec.healthPath, port: 'http' } } : { tcpSocket: { port: 'http' } };
  const requests = { ...DEFAULT_REQUESTS, ...spec.resources?.requests };
  const limits = { ...DEFAULT_LIMITS, ...spec.resources?.limits };
  return kube<V1Deployment>('apps/v1', 'Deployment', {
    metadata: { name: route.app, namespace: route.namespace, labels: route.labels },
    spec: {
      ...(spec.autoscaling ? {} : { replicas: spec.replicas }),
      revisionHistoryLimit: 3,
      selector: { matchLabels: route.selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { ...route.labels, [LABEL_COMPONENT]: SERVER_COMPONENT } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: APP_UID, runAsGroup: APP_UID, fsGroup: APP_UID, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'app',
            image,
            ...(spec.command ? { command: spec.command } : {}),
            ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
            env: [{ name: 'PORT', value: String(spec.port) }, ...spec.env.filter((e) => e.name !== 'PORT')],
            ...(spec.envFromSecrets.length ? { envFrom: spec.envFromSecrets.map((s) => ({ secretRef: { name: s.name } })) } : {}),
            resources: { requests: { cpu: requests.cpu, memory: requests.memory }, limits: { cpu: limits.cpu, memory: limits.memory } },
            securityContext: {
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
            // A crash puts the last lines of its log in the pod's status, which the App's shows.
            terminationMessagePolicy: 'FallbackToLogsOnError',
            // Every second: a new pod takes traffic, and the rollout goes on, within a second of
            // answering (an edit goes live in about 15 s, most of it the build).
            readinessProbe: { ...probe, periodSeconds: 1, failureThreshold: 3 },
            livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  });
}

function hpa(spec: AppSpec, route: RouteContext): KubeObject {
  const a = spec.autoscaling!;
  return kube<V2HorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler', {
    metadata: { name: route.app, namespace: route.namespace, labels: route.labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: route.app },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.targetCPUUtilizationPercentage } } }],
    },
  });
}

function phaseOf(
  build: { digest: string; phase: JobState['phase']; message?: string; rebuild?: number } | undefined,
  image: string | undefined, servingImage: string | undefined, deployed: boolean, url: string, rollout: RolloutProblem | undefined, available: boolean,
): { phase: AppPhase; message: string } {
  const serving = servingImage ? `; still serving ${tagOf(servingImage)}` : '';
  if (build?.phase === 'Failed') {
    return { phase: 'Failed', message: `build of ${short(build.digest)} failed: ${build.message ?? 'the build Job failed'}${serving || '; nothing is running'}` };
  }
  if (build && build.phase !== 'Succeeded') {
    return { phase: 'Building', message: `building ${short(build.digest)} (${build.phase.toLowerCase()})${serving}` };
  }
  if (!image) return { phase: 'Pending', message: 'waiting for an image' };
  // The pods of the previous revision serve until the new ones are ready (maxUnavailable 0).
  const before = servingImage && servingImage !== image ? serving : available ? '; the previous pods keep serving' : '';
  if (!deployed && rollout?.failed) return { phase: 'Failed', message: `rollout of ${tagOf(image)} failed: ${rollout.message}${before || '; nothing else is running'}` };
  if (!deployed) return { phase: 'Deploying', message: `rolling out ${tagOf(image)}${rollout ? `: ${rollout.message}` : ''}${before}` };
  return { phase: 'Ready', message: `serving ${tagOf(image)} at ${url}` };
}

function conditionsOf(build: { digest: string; phase: JobState['phase']; message?: string } | undefined, givenImage: string | undefined, deployed: boolean, message: string, notReady?: string): Condition[] {
  const built: Condition = givenImage
    ? { type: 'Built', status: 'True', reason: 'ImageProvided', message: `${givenImage.includes('rolled back') ? 'spec.rollback' : 'spec.image'} ${givenImage} is used as is` }
    : build!.phase === 'Succeeded'
      ? { type: 'Built', status: 'True', reason: 'BuildSucceeded', message: `image for ${short(build!.digest)} is built` }
      : { type: 'Built', status: 'False', reason: build!.phase === 'Failed' ? 'BuildFailed' : 'Building', message };
  const available: Condition = deployed
    ? { type: 'Available', status: 'True', reason: 'Serving', message }
    : { type: 'Available', status: 'False', reason: notReady ?? 'NotAvailable', message };
  return [built, available];
}

function short(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}

function tagOf(image: string): string {
  const tag = /^([a-f0-9]{64})(-r\d+)?$/.exec(image.slice(image.lastIndexOf(':') + 1));
  return tag ? `${short(`sha256:${tag[1]}`)}${tag[2] ?? ''}` : image;
}
