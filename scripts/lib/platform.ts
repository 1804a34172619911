// The whole local platform, as `make demo`, `make up` and the end-to-end tests use it:
// etcd + kube-apiserver + kube-controller-manager, real Crossplane core with aerogrid installed
// from dist/ through its package manager, the function over mTLS (runtime.ts), aerogrid's
// ClusterRole and Tenant deletion policy, and the simulated kubelet.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { startCrossplane, waitUntil, type Crossplane } from './crossplane.js';
import { dist, getObject, must } from './install.js';
import { SimulatedKubelet, type KubeletOptions } from './kubelet.js';
import { ROOT } from './net.js';

type Obj = Record<string, any>;

/**
 * Core flags aerogrid needs (docs: README, "Crossplane core flags"). Core v2.3.4 starts one
 * watch per composed kind more than once while a new XR composes (12 NetworkPolicy watches were
 * seen for a two-namespace Tenant), and each delivers every event, so a fresh two-namespace Tenant
 * maps about 240 events to its XR although its 36 objects are each written once. The default
 * burst of 100 opens the breaker on every new Tenant, and a deleted object then takes about a
 * minute to come back.
 */
export const CORE_FLAGS = ['--circuit-breaker-burst=1000'];
export const PACKAGE_VERSION = 'v0.1.0';

export interface Platform {
  cp: ControlPlane;
  xp: Crossplane;
  kubelet: SimulatedKubelet;
  get(kind: string, name: string, namespace?: string): Obj | undefined;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  say?: (msg: string) => void;
  kubelet?: KubeletOptions;
  coreFlags?: string[];
  /** Installs the legacy flavour (XTenant, XApp with claim App) instead of the v2 APIs. */
  legacy?: boolean;
  /** Runs on the bare control plane, before Crossplane and aerogrid are installed. */
  beforeInstall?: (cp: ControlPlane) => Promise<void>;
}

export function ensureTools(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'control-plane'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/tools.sh control-plane failed');
}

export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const say = opts.say ?? (() => {});
  const cp = await startControlPlane({ controllers: true });
  let xp: Crossplane | undefined;
  try {
    await opts.beforeInstall?.(cp);
    xp = await startCrossplane(cp, { say, coreFlags: opts.coreFlags ?? CORE_FLAGS });
    xp.publish(PACKAGE_VERSION);
    await xp.install(PACKAGE_VERSION, { legacy: opts.legacy });
    // What a platform engineer applies beside the packages.
    must(cp.apply([...dist('rbac/clusterrole.yaml'), ...dist('protection/tenant-deletion.yaml')]));
  } catch (err) {
    await xp?.stop();
    await cp.stop();
    throw err;
  }
  const kubelet = new SimulatedKubelet(cp, { say, ...opts.kubelet }).start();
  return {
    cp,
    xp: xp!,
    kubelet,
    get: (kind, name, namespace) => getObject(cp, kind, name, namespace),
    async stop() {
      await kubelet.stop();
      await xp!.stop();
      await cp.stop();
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
