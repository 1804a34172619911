// Installs aerogrid into a control plane: Istio's CRDs, the CRDs of our XRDs (derived as
// Crossplane would derive them), the function's input CRD, the aggregated ClusterRole and
// the Tenant deletion policy, all from dist/.
import { execFileSync } from 'node:child_process';
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
  must(cp.apply(crds));
  must(cp.kubectl('wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`)));
  must(cp.apply([...dist('rbac/clusterrole.yaml'), ...dist('protection/tenant-deletion.yaml')]));
}

/** The settings every Composition passes to the function. */
export const compositionInput = (): Obj => dist('configuration/apis/apps/composition.yaml')[0].spec.pipeline[0].input;
