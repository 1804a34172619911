// A stand-in for Crossplane core's composite reconciler, for a machine where Crossplane
// cannot be built (the Go module proxy refuses github.com/crossplane/*). It does what
// Crossplane does with a Pipeline Composition of one function step, in the same order:
//
//   observe the XR and its composed resources → fetch required resources → RunFunction over
//   mTLS (repeating while the function asks for more) → server-side apply the desired
//   resources → delete composed resources no longer desired → write the XR's status.
//
// It is not Crossplane: no watches, no owner references, no connection details, no Usages.
import { RunFunctionRequest, Ready, Severity, Status, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
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

  private get(ref: { apiVersion: string; kind: string; name?: string; namespace?: string }, extra: string[] = []): Obj | undefined {
    const args = ['get', resourceArg(ref.apiVersion, ref.kind), ...(ref.name ? [ref.name] : []), '-o', 'json', '--ignore-not-found', ...extra];
    if (ref.namespace) args.push('-n', ref.namespace);
    const out = must(this.cp.kubectl(...args)).stdout.trim();
    return out ? JSON.parse(out) : undefined;
  }

  async reconcile(xr: XrRef): Promise<Outcome> {
    const id = `${xr.kind}/${xr.namespace ?? ''}/${xr.name}`;
    const refs = this.composed.get(id) ?? new Map<string, Ref>();
    const composite = this.get({ apiVersion: 'platform.aerogrid.io/v1alpha1', ...xr });
    if (!composite) throw new Error(`${xr.kind} ${xr.name} not found`);
    const observed: Record<string, Obj> = {};
    for (const [key, ref] of refs) {
      const o = this.get(ref);
      if (o) observed[key] = o;
    }

    // Call, fetch what the function requires, call again, until it requires nothing new.
    let required: Record<string, Obj[]> = {};
    let rsp: RunFunctionResponse | undefined;
    for (let i = 0; i < 5; i++) {
      rsp = await call(this.client, RunFunctionRequest.fromPartial({
        meta: { tag: `${id}#${i}`, capabilities: [] },
        observed: {
          composite: { resource: composite, connectionDetails: {} },
          resources: Object.fromEntries(Object.entries(observed).map(([k, r]) => [k, { resource: r, connectionDetails: {} }])),
        },
        input: this.input,
        requiredResources: Object.fromEntries(Object.entries(required).map(([k, items]) => [k, { items: items.map((r) => ({ resource: r, connectionDetails: {} })) }])),
      }));
      const wanted = rsp.requirements?.resources ?? {};
      if (Object.keys(wanted).every((k) => k in required)) break;
      required = {};
      for (const [k, s] of Object.entries(wanted)) {
        const found = s.matchName
          ? this.get({ apiVersion: s.apiVersion, kind: s.kind, name: s.matchName, namespace: s.namespace })
          : this.get({ apiVersion: s.apiVersion, kind: s.kind, namespace: s.namespace });
        required[k] = found ? (found.items ?? [found]) : [];
      }
    }

    const fatal = rsp!.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    if (fatal) {
      // Crossplane applies nothing from a FATAL response and reports it on the XR.
      this.patchStatus(xr, { conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: fatal, lastTransitionTime: now() }] });
      return { fatal, status: composite.status ?? {}, composed: {} };
    }

    const desired = Object.entries(rsp!.desired!.resources);
    const objects = desired.map(([, r]) => r.resource as Obj);
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    if (namespaces.length) must(this.cp.apply(namespaces, '--force-conflicts', '--field-manager', 'apiextensions.crossplane.io/composed'));
    must(this.cp.apply(objects.filter((o) => o.kind !== 'Namespace'), '--force-conflicts', '--field-manager', 'apiextensions.crossplane.io/composed'));

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
    const status = (rsp!.desired!.composite?.resource as Obj | undefined)?.status ?? {};
    const conditions = [
      { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', message: '', lastTransitionTime: now() },
      { type: 'Ready', status: allReady ? 'True' : 'False', reason: allReady ? 'Available' : 'Creating', message: '', lastTransitionTime: now() },
      ...rsp!.conditions.map((c) => ({
        type: c.type, status: c.status === Status.STATUS_CONDITION_TRUE ? 'True' : c.status === Status.STATUS_CONDITION_FALSE ? 'False' : 'Unknown',
        reason: c.reason, message: c.message ?? '', lastTransitionTime: now(),
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

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
