// Helpers for installing into a control plane: what dist/ holds, CRDs applied and waited for,
// kubectl results that must succeed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './net.js';
import type { ControlPlane } from './controlplane.js';

type Obj = Record<string, any>;

export const dist = (path: string): Obj[] => parseAllDocuments(readFileSync(`${ROOT}/dist/${path}`, 'utf8')).map((d) => d.toJS() as Obj);

export function must(r: { status: number; stdout: string; stderr: string }) {
  if (r.status !== 0) throw new Error(`kubectl failed (${r.status}): ${r.stderr}`);
  return r;
}

/** An object (or, without a name, a List) as kubectl gets it, or undefined when there is none. */
export function getObject(cp: ControlPlane, kind: string, name?: string, namespace?: string): Obj | undefined {
  const out = must(cp.kubectl('get', kind, ...(name ? [name] : []), ...(namespace ? ['-n', namespace] : []), '-o', 'json', '--ignore-not-found')).stdout.trim();
  return out ? JSON.parse(out) : undefined;
}

/** Applies CRDs and waits until the API server serves them (Established). */
export function installCrds(cp: ControlPlane, crds: Obj[]): void {
  must(cp.apply(crds));
  const names = crds.map((c) => c.metadata.name as string);
  const deadline = Date.now() + 60_000;
  // Polled rather than `kubectl wait`, which errors while a new CRD's status.conditions is still null.
  for (;;) {
    const got = JSON.parse(must(cp.kubectl('get', 'crd', ...names, '-o', 'json')).stdout);
    const items: Obj[] = got.items ?? [got];
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
