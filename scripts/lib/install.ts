// Installs aerogrid into a control plane: Istio's CRDs, the CRDs of our XRDs (derived as
// Crossplane would derive them), the function's input CRD, the aggregated ClusterRole and
// the Tenant deletion policy, all from dist/.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './net.js';
import { xrdToCrd, type ControlPlane } from './controlplane.js';

type Obj = Record<string, any>;

export const dist = (path: string): Obj[] => parseAllDocuments(readFileSync(`${ROOT}/dist/${path}`, 'utf8')).map((d) => d.toJS() as Obj);

export function must(r: { status: number; stdout: string; stderr: string }) {
  if (r.status !== 0) throw new Error(`kubectl failed (${r.status}): ${r.stderr}`);
  return r;
}

export function installAerogrid(cp: ControlPlane): void {
  const istio = execFileSync('bash', [`${ROOT}/scripts/imports.sh`, '--print-crds'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const crds = [
    ...parseAllDocuments(istio).map((d) => d.toJS()),
    xrdToCrd(dist('configuration/apis/tenants/definition.yaml')[0]),
    xrdToCrd(dist('configuration/apis/apps/definition.yaml')[0]),
    ...dist('function/input/fn.platform.aerogrid.io_platformsettings.yaml'),
  ];
  installCrds(cp, crds);
  must(cp.apply([...dist('rbac/clusterrole.yaml'), ...dist('protection/tenant-deletion.yaml')]));
}

/** Applies CRDs and waits until the API server serves them (Established). */
export function installCrds(cp: ControlPlane, crds: Obj[]): void {
  must(cp.apply(crds));
  const names = crds.map((c) => c.metadata.name as string);
  const deadline = Date.now() + 60_000;
  // Polled rather than `kubectl wait`, which errors while a new CRD's status.conditions is still null.
  for (;;) {
    const items: Obj[] = JSON.parse(must(cp.kubectl('get', 'crd', ...names, '-o', 'json')).stdout).items;
    const pending = items
      .filter((crd) => !(crd.status?.conditions ?? []).some((c: Obj) => c.type === 'Established' && c.status === 'True'))
      .map((crd) => crd.metadata.name);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`CRDs not established after 60 s: ${pending.join(', ')}`);
    spawnSync('sleep', ['0.2']);
  }
}

/** The settings every Composition passes to the function. */
export const compositionInput = (): Obj => dist('configuration/apis/apps/composition.yaml')[0].spec.pipeline[0].input;
