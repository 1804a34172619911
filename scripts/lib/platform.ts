// The whole local platform, as `make demo`, `make up`, the end-to-end tests and the benchmarks use it:
// etcd + kube-apiserver + kube-controller-manager, a real node (node.ts: kubelet, kube-scheduler,
// kube-proxy, CoreDNS, containerd, the registry, the package index), Crossplane installed with
// helm from its chart (core and the RBAC manager as Pods) with aerogrid installed from dist/
// through its package manager, the function run by Crossplane's Deployment runtime from its
// package's image, aerogrid's ClusterRole and Tenant deletion policy. `make scale` adds a
// simulated node for the Apps' pods (kwok.ts: 1,000 real builds cannot run on this machine) and
// keeps the real node for the platform's own.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { platformFileOf } from '../../src/compositions/synth.js';
import type { ControlPlane, ControlPlaneOptions } from './controlplane.js';
import { startCrossplaneWithHelm, waitUntil, type Crossplane } from './crossplane.js';
import { dist, getObject, must } from './install.js';
import { PLATFORM_PLACEMENT, keepForPlatform, startSimulatedNode, type SimulatedNode } from './kwok.js';
import { ROOT } from './net.js';
import { startControlPlaneForNode, startNode, type Node } from './node.js';
import { GROUPS_CLAIM, startIdentityProvider, type IdentityProvider } from './oidc.js';

type Obj = Record<string, any>;

/**
 * Core flags aerogrid needs (docs: README, "Crossplane core flags"). Core v2.3.4 starts one
 * watch per composed kind more than once while a new XR composes (12 NetworkPolicy watches were
 * seen for a two-namespace Tenant), and each delivers every event, so a fresh two-namespace Tenant
 * maps about 240 events to its XR although its 36 objects are each written once. The default
 * burst of 100 opens the breaker on every new Tenant, and a deleted object then takes about a
 * minute to come back. The default refill of one event a second is too slow for an App edited
 * often: twenty saves two seconds apart in the console (bench/console.ts) emptied even 1,000
 * tokens, and the App then waited out the five-minute cooldown in Building.
 */
export const CORE_FLAGS = ['--circuit-breaker-burst=1000', '--circuit-breaker-refill-rate=20'];
export const PACKAGE_VERSION = 'v0.1.0';

export interface Platform {
  cp: ControlPlane;
  xp: Crossplane;
  /** The real node. */
  node: Node;
  /** The simulated node for the Apps' pods, when started with `simulatedApps` (make scale). */
  simulated?: SimulatedNode;
  /** Every build Job since the platform started, namespace/name, in order. */
  builds(): string[];
  /** The build Jobs of one App (named <app>-build-<digest>). */
  buildsOf(namespace: string, app: string): string[];
  /** The local identity provider kube-apiserver trusts, when started with `oidc`. */
  idp?: IdentityProvider;
  get(kind: string, name: string, namespace?: string): Obj | undefined;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  say?: (msg: string) => void;
  /**
   * The Apps' pods on a simulated node (kwok.ts), a Job's pod succeeding after `jobPodMs`: for
   * the 1,000 Apps of make scale, which the real node cannot build. The real node is then kept
   * for the platform's pods (Crossplane, the function, CoreDNS), as a control-plane node is.
   */
  simulatedApps?: { jobPodMs: number };
  coreFlags?: string[];
  /** Installs the legacy flavour (XTenant, XApp with claim App) instead of the v2 APIs. */
  legacy?: boolean;
  /**
   * Publishes the packages to the local registry and installs nothing: Argo CD installs the
   * platform from Git (scripts/lib/gitops.ts).
   */
  publishOnly?: boolean;
  /** Runs on the bare control plane, before Crossplane and aerogrid are installed. */
  beforeInstall?: (cp: ControlPlane) => Promise<void>;
  /**
   * Starts the local identity provider (oidc.ts) and has kube-apiserver authenticate its ID
   * tokens, for the console whose callback URL is given.
   */
  oidc?: { redirectUris: string[]; idTokenTtl?: number };
}

/**
 * kube-apiserver's structured authentication (AuthenticationConfiguration, beta and on by
 * default since Kubernetes 1.30): ID tokens of the identity provider, for the console's client,
 * the username from sub and the groups from the same namespaced claim the Tenants' roles bind,
 * both prefixed (oidc:), so that no name the identity provider chooses is a Kubernetes system
 * user or group; and, to be sure, a token that names one is refused outright.
 */
export function authenticationConfiguration(idp: IdentityProvider, groupPrefix: string): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1beta1',
    kind: 'AuthenticationConfiguration',
    jwt: [{
      issuer: { url: idp.issuer, audiences: [idp.clientId], certificateAuthority: idp.ca },
      claimValidationRules: [{
        expression: `!has(claims.sub) || !claims.sub.startsWith('system:')`,
        message: 'the sub claim must not name a Kubernetes system user',
      }, {
        expression: `!('${GROUPS_CLAIM}' in claims) || !dyn(claims['${GROUPS_CLAIM}']).exists(g, string(g).startsWith('system:'))`,
        message: 'the groups claim must not name a Kubernetes system group',
      }],
      claimMappings: { username: { claim: 'sub', prefix: 'oidc:' }, groups: { claim: GROUPS_CLAIM, prefix: groupPrefix } },
      userValidationRules: [{
        expression: "!user.username.startsWith('system:')",
        message: 'a user of the identity provider cannot be a Kubernetes system user',
      }, {
        expression: "user.groups.all(g, !g.startsWith('system:'))",
        message: 'a user of the identity provider cannot be in a Kubernetes system group',
      }],
    }],
  });
}

/** The platform settings make build embedded in dist/ (platform.yaml): registry, package index, images. */
export const platformSettings = () => platformFileOf(parseYaml(readFileSync(join(ROOT, 'platform.yaml'), 'utf8'))).settings;

export function ensureTools(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'control-plane'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/tools.sh control-plane failed');
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const say = opts.say ?? (() => {});
  let idp: IdentityProvider | undefined;
  const cpOpts: ControlPlaneOptions = {
    controllers: 'all',
    // A developer's client certificate carries their groups as the identity provider's would reach RBAC.
    groupPrefix: platformSettings().oidcGroupPrefix,
    // On the API server's address (the node's host side): pods reach it there, as the browser and kube-apiserver do.
    beforeApiserver: opts.oidc ? async (dir, address) => {
      idp = await startIdentityProvider({ pkiDir: dir, host: address, redirectUris: opts.oidc!.redirectUris, idTokenTtl: opts.oidc!.idTokenTtl });
      writeFileSync(join(dir, 'authentication.yaml'), authenticationConfiguration(idp, platformSettings().oidcGroupPrefix));
      say(`local identity provider (oidc-provider) at ${idp.issuer}; kube-apiserver authenticates its ID tokens`);
      return ['--authentication-config=authentication.yaml'];
    } : undefined,
  };
  // The node's pods reach the API server: its network comes first (startControlPlaneForNode).
  const { cp, network } = await startControlPlaneForNode(cpOpts).catch(async (err) => {
    await idp?.stop();
    throw err;
  });
  let node: Node | undefined;
  let xp: Crossplane | undefined;
  let simulated: SimulatedNode | undefined;
  try {
    const settings = platformSettings();
    const registryName = settings.registry.split('/')[0];
    node = await startNode(cp, { say, network, registryName, pythonIndex: settings.build.pythonIndex, domain: registryName.split(':')[0].split('.').slice(1).join('.') });
    // make scale: the real node is the platform's own from here on.
    if (opts.simulatedApps) keepForPlatform(cp, node.name);
    await opts.beforeInstall?.(cp);
    // Crossplane as a platform team installs it: its Helm chart, the function run by its Deployment runtime.
    xp = await startCrossplaneWithHelm(cp, {
      say, registry: node.registry.address, registryName, coreFlags: opts.coreFlags ?? CORE_FLAGS,
      placement: opts.simulatedApps ? PLATFORM_PLACEMENT : undefined,
    });
    xp.publish(PACKAGE_VERSION);
    if (!opts.publishOnly) {
      await xp.install(PACKAGE_VERSION, { legacy: opts.legacy });
      // What a platform engineer applies beside the packages.
      must(cp.apply([...dist('rbac/clusterrole.yaml'), ...dist('protection/tenant-deletion.yaml')]));
    }
    if (opts.simulatedApps) simulated = await startSimulatedNode(cp, { say, jobPodMs: opts.simulatedApps.jobPodMs });
  } catch (err) {
    await xp?.stop();
    await node?.stop();
    await cp.stop();
    await idp?.stop();
    throw err;
  }
  const realNode = node;
  return {
    cp,
    xp,
    node: realNode,
    simulated,
    idp,
    builds: () => realNode.builds,
    buildsOf: (namespace, app) => realNode.buildsOf(namespace, app),
    get: (kind, name, namespace) => getObject(cp, kind, name, namespace),
    async stop() {
      await simulated?.stop();
      await xp!.stop();
      await realNode.stop();
      await cp.stop();
      await idp?.stop();
    },
  };
}

/**
 * Waits for an XR's status.phase for its current generation (and, for Ready, Crossplane's Ready
 * condition), naming what it saw when it times out.
 */
export async function waitForPhase(p: Platform, kind: string, name: string, namespace: string | undefined, phase: string, timeoutMs = 60_000): Promise<Obj> {
  let last: Obj | undefined;
  return waitUntil(`${kind} ${namespace ? `${namespace}/` : ''}${name} to reach phase ${phase}`, () => {
    last = p.get(kind, name, namespace);
    const current = (last?.status?.conditions ?? []).some((c: Obj) => c.type === 'Synced' && c.status === 'True' && c.observedGeneration === last!.metadata.generation);
    const ready = phase !== 'Ready' || (last?.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    return current && last?.status?.phase === phase && ready ? last : undefined;
  }, timeoutMs, () => `last status: ${JSON.stringify(last?.status ?? null)}`);
}
