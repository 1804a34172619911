// A stand-in for Crossplane core's composite reconciler, for a machine where Crossplane
// cannot be built (the Go module proxy refuses github.com/crossplane/*). It does what
// Crossplane does with a Pipeline Composition of one function step, in the same order:
//
//   observe the XR and its composed resources → fetch required resources → RunFunction over
//   mTLS (repeating while the function asks for more) → server-side apply the desired
//   resources → delete composed resources no longer desired → write the XR's status.
//
// It is not Crossplane: no watches, no owner references, no connection details, no Usages.
import { Ready, Severity, Status, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { crossplaneRequest } from '../../src/functions/request.js';
import type { ControlPlane } from './controlplane.js';
import { call, type FunctionRunnerServiceClient } from './function.js';
import { must } from './install.js';

type Obj = Record<string, any>;
export interface Ref { apiVersion: string; kind: string; name: string; namespace?: string }
export interface XrRef { kind: string; name: string; namespace?: string }

export interface Outcome {
  fatal?: string;
  status: Obj;
  composed: Record<string, Ref & { ready: boolean }>;
}

const resourceArg = (apiVersion: string, kind: string) => (apiVersion.includes('/') ? `${kind}.${apiVersion.split('/')[1]}.${apiVersion.split('/')[0]}` : kind);

export class Composer {
  private readonly composed = new Map<string, Map<string, Ref>>();

  constructor(private readonly cp: ControlPlane, private readonly client: FunctionRunnerServiceClient, private readonly input: Obj) {}

  async reconcile(xr: XrRef): Promise<Outcome> {
    const id = `${xr.kind}/${xr.namespace ?? ''}/${xr.name}`;
    const refs = this.composed.get(id) ?? new Map<string, Ref>();
    const composite = get(this.cp, { apiVersion: 'platform.aerogrid.io/v1alpha1', ...xr });
    if (!composite) throw new Error(`${xr.kind} ${xr.name} not found`);
    const observed: Record<string, Obj> = {};
    for (const [key, ref] of refs) {
      const o = get(this.cp, ref);
      if (o) observed[key] = o;
    }

    const rsp = await settle(this.cp, (required) => call(this.client, crossplaneRequest({ tag: id, composite, observed, input: this.input, required })));

    // Crossplane's conditions say which generation of the XR they describe.
    const generation: number | undefined = composite.metadata?.generation;
    const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    if (fatal) {
      // Crossplane applies nothing from a FATAL response and reports it on the XR.
      this.patchStatus(xr, { conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: fatal, lastTransitionTime: now(), observedGeneration: generation }] });
      return { fatal, status: composite.status ?? {}, composed: {} };
    }

    const desired = Object.entries(rsp.desired!.resources);
    const objects = desired.map(([, r]) => r.resource as Obj);
    applyComposed(this.cp, objects, '--force-conflicts', '--field-manager', 'apiextensions.crossplane.io/composed');

    const next = new Map<string, Ref>(desired.map(([k, r]) => {
      const o = r.resource as Obj;
      return [k, { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace }];
    }));
    for (const [key, ref] of refs) {
      if (next.get(key)?.name === ref.name) continue;
      must(this.cp.kubectl('delete', resourceArg(ref.apiVersion, ref.kind), ref.name, ...(ref.namespace ? ['-n', ref.namespace] : []), '--ignore-not-found', '--wait=false'));
    }
    this.composed.set(id, next);

    const allReady = desired.every(([, r]) => r.ready === Ready.READY_TRUE);
    const status = (rsp.desired!.composite?.resource as Obj | undefined)?.status ?? {};
    const conditions = [
      { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', message: '', lastTransitionTime: now(), observedGeneration: generation },
      { type: 'Ready', status: allReady ? 'True' : 'False', reason: allReady ? 'Available' : 'Creating', message: '', lastTransitionTime: now(), observedGeneration: generation },
      ...rsp.conditions.map((c) => ({
        type: c.type, status: c.status === Status.STATUS_CONDITION_TRUE ? 'True' : c.status === Status.STATUS_CONDITION_FALSE ? 'False' : 'Unknown',
        reason: c.reason, message: c.message ?? '', lastTransitionTime: now(), observedGeneration: generation,
      })),
    ];
    this.patchStatus(xr, { ...status, conditions });
    return {
      status,
      composed: Object.fromEntries(desired.map(([k, r]) => [k, { ...next.get(k)!, ready: r.ready === Ready.READY_TRUE }])),
    };
  }

  private patchStatus(xr: XrRef, status: Obj): void {
    must(this.cp.kubectl('patch', resourceArg('platform.aerogrid.io/v1alpha1', xr.kind), xr.name, ...(xr.namespace ? ['-n', xr.namespace] : []),
      '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })));
  }
}

function get(cp: ControlPlane, ref: { apiVersion: string; kind: string; name?: string; namespace?: string }): Obj | undefined {
  const args = ['get', resourceArg(ref.apiVersion, ref.kind), ...(ref.name ? [ref.name] : []), '-o', 'json', '--ignore-not-found'];
  if (ref.namespace) args.push('-n', ref.namespace);
  const out = must(cp.kubectl(...args)).stdout.trim();
  return out ? JSON.parse(out) : undefined;
}

/**
 * Calls the function, fetches from the API server what it requires, and calls again until it
 * requires nothing new, as Crossplane does. `run` makes one call with the required resources.
 */
export async function settle(cp: ControlPlane, run: (required: Record<string, Obj[]>) => Promise<RunFunctionResponse>): Promise<RunFunctionResponse> {
  let required: Record<string, Obj[]> = {};
  for (let i = 0; i < 5; i++) {
    const rsp = await run(required);
    const wanted = rsp.requirements?.resources ?? {};
    if (Object.keys(wanted).every((k) => k in required)) return rsp;
    required = {};
    for (const [k, s] of Object.entries(wanted)) {
      const found = get(cp, { apiVersion: s.apiVersion, kind: s.kind, name: s.matchName, namespace: s.namespace });
      required[k] = found ? (found.items ?? [found]) : [];
    }
  }
  throw new Error('the function\'s requirements did not settle after 5 calls');
}

/** Applies composed objects as Crossplane ends up with them: namespaces before what lives in them. */
export function applyComposed(cp: ControlPlane, objects: Obj[], ...args: string[]) {
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  const first = namespaces.length ? must(cp.apply(namespaces, ...args)).stdout : '';
  const rest = must(cp.apply(objects.filter((o) => o.kind !== 'Namespace'), ...args));
  return { ...rest, stdout: first + rest.stdout };
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
