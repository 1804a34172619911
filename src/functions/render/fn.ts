// RunFunction: route by the observed XR's kind, render, and translate to the wire.
// Never throws: every problem becomes a FATAL result that names the field.
import {
  Ready, Severity, Status, Target, type RunFunctionResponse,
  type Resource, type RunFunctionRequest, type State,
} from '@crossplane-org/function-sdk-typescript';
import { PlatformSettings } from '../../api/platform.js';
import { parseAt } from '../../api/validate.js';
import { renderApp } from './app.js';
import { FatalError, GROUP, type KubeObject, type RenderInput, type RenderOutput } from './resources.js';
import { renderTenant } from './tenant.js';

/**
 * How long Crossplane may wait before calling again when nothing changed, unless the render says
 * otherwise (a Ready App: PlatformSettings.appResyncSeconds). With realtime compositions, on by
 * default in Crossplane v2, the TTL replaces --poll-interval for the XR; a response cache, where
 * enabled, keeps the response this long.
 */
export const RESPONSE_TTL_SECONDS = 60;
/** Results become Kubernetes events and conditions: keep them readable and far below their limits. */
const MAX_MESSAGE = 2048;
const MAX_ECHOED = 80;

const RENDERERS: Record<string, (input: RenderInput) => RenderOutput> = {
  Tenant: renderTenant,
  XTenant: renderTenant,
  App: renderApp,
  XApp: renderApp,
};
export const COMPOSED_KINDS = Object.keys(RENDERERS);

export interface Outcome {
  response: RunFunctionResponse;
  /** Kind of the observed XR, or `unknown` when the request has none. */
  kind: string;
  xr: string;
  severity: 'Normal' | 'Warning' | 'Fatal';
}

export function runFunction(req: RunFunctionRequest): Outcome {
  const composite = asObject(req.observed?.composite?.resource);
  const kind = typeof composite?.kind === 'string' ? composite.kind : 'unknown';
  const xr = describe(composite);
  try {
    if (!composite) throw new FatalError(['observed.composite: the request carries no composite resource']);
    const apiVersion = typeof composite.apiVersion === 'string' ? composite.apiVersion : '';
    const render = apiVersion.startsWith(`${GROUP}/`) ? RENDERERS[kind] : undefined;
    if (!render) {
      throw new FatalError([`observed.composite: aerogrid composes ${COMPOSED_KINDS.join(', ')} in ${GROUP}; got ${bounded(kind, MAX_ECHOED) || 'no kind'} in ${bounded(apiVersion, MAX_ECHOED) || 'no apiVersion'}`]);
    }
    // The input's apiVersion and kind are not settings; the schema strips keys it does not know.
    const settings = parseAt(PlatformSettings, req.input ?? {}, 'input');
    if (!settings.ok) throw new FatalError(settings.problems);
    const out = render({
      composite: composite as KubeObject,
      observed: resourcesOf(req.observed),
      required: { ...requiredOf(req.extraResources), ...requiredOf(req.requiredResources) },
      settings: settings.value,
    });
    const severity = out.results.some((r) => r.severity === 'Warning') ? 'Warning' : 'Normal';
    return { response: toResponse(req, out, kind.startsWith('X')), kind, xr, severity };
  } catch (err) {
    const problems = err instanceof FatalError ? err.problems : [`internal error: ${err instanceof Error ? err.message : String(err)}`];
    return { response: fatalResponse(req, `${xr}: ${problems.join('; ')}`), kind, xr, severity: 'Fatal' };
  }
}

function toResponse(req: RunFunctionRequest, out: RenderOutput, legacy: boolean): RunFunctionResponse {
  const desired = copyDesired(req.desired);
  const composite = asObject(desired.composite?.resource) ?? {};
  desired.composite = { resource: { ...composite, status: { ...asObject(composite.status), ...out.status } }, connectionDetails: desired.composite?.connectionDetails ?? {}, ready: Ready.READY_UNSPECIFIED };
  for (const key of Object.keys(out.resources).sort()) {
    const d = out.resources[key];
    desired.resources[key] = { resource: d.resource, connectionDetails: {}, ready: d.ready ? Ready.READY_TRUE : Ready.READY_FALSE };
  }
  const selectors = Object.fromEntries(
    Object.keys(out.requirements).sort().map((k) => {
      const s = out.requirements[k];
      const match = 'matchName' in s ? { matchName: s.matchName } : { matchLabels: { labels: s.matchLabels } };
      return [k, { apiVersion: s.apiVersion, kind: s.kind, ...match, ...(s.namespace ? { namespace: s.namespace } : {}) }];
    }),
  );
  const target = legacy ? Target.TARGET_COMPOSITE_AND_CLAIM : Target.TARGET_COMPOSITE;
  // Every field of the message, as fromPartial would fill them, without its copy of everything.
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: out.ttlSeconds ?? RESPONSE_TTL_SECONDS, nanos: 0 } },
    desired,
    results: out.results.map((r) => ({
      severity: r.severity === 'Warning' ? Severity.SEVERITY_WARNING : Severity.SEVERITY_NORMAL,
      message: bounded(r.message, MAX_MESSAGE),
      target,
    })),
    conditions: out.conditions.map((c) => ({
      type: c.type,
      status: c.status === 'True' ? Status.STATUS_CONDITION_TRUE : c.status === 'False' ? Status.STATUS_CONDITION_FALSE : Status.STATUS_CONDITION_UNKNOWN,
      reason: c.reason,
      message: bounded(c.message, MAX_MESSAGE),
      target,
    })),
    // Crossplane v2 reads `resources`; 1.17–1.20 read `extraResources`.
    requirements: legacy ? { extraResources: selectors, resources: {}, schemas: {} } : { resources: selectors, extraResources: {}, schemas: {} },
    // Crossplane hands the next step the context this step returns: what earlier steps put
    // there (an environment, say) goes on unchanged.
    context: req.context,
    output: undefined,
  };
}

/** A FATAL result. Crossplane applies nothing from it, so whatever already runs is left alone. */
export function fatalResponse(req: RunFunctionRequest, message: string): RunFunctionResponse {
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: RESPONSE_TTL_SECONDS, nanos: 0 } },
    desired: copyDesired(req.desired),
    results: [{ severity: Severity.SEVERITY_FATAL, message: bounded(message, MAX_MESSAGE), target: Target.TARGET_COMPOSITE }],
    requirements: undefined,
    conditions: [],
    context: req.context,
    output: undefined,
  };
}

/** A fresh copy of the desired state other pipeline steps left, so the request is never mutated. */
function copyDesired(state: State | undefined): State {
  const resources: Record<string, Resource> = {};
  for (const [k, r] of Object.entries(state?.resources ?? {})) resources[k] = { ...r, resource: r.resource ? structuredClone(r.resource) : undefined };
  const composite = state?.composite ? { ...state.composite, resource: state.composite.resource ? structuredClone(state.composite.resource) : undefined } : undefined;
  return { composite, resources };
}

function resourcesOf(state: State | undefined): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = {};
  for (const [k, r] of Object.entries(state?.resources ?? {})) {
    const obj = asObject(r?.resource);
    if (obj) out[k] = obj as KubeObject;
  }
  return out;
}

function requiredOf(map: RunFunctionRequest['requiredResources'] | undefined): Record<string, KubeObject[]> {
  const out: Record<string, KubeObject[]> = {};
  for (const [k, v] of Object.entries(map ?? {})) {
    out[k] = (v?.items ?? []).map((i) => asObject(i?.resource)).filter((o): o is Record<string, unknown> => !!o) as KubeObject[];
  }
  return out;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function describe(composite: Record<string, unknown> | undefined): string {
  if (!composite) return 'request';
  const meta = asObject(composite.metadata) ?? {};
  const name = typeof meta.name === 'string' ? meta.name : '<unnamed>';
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return bounded(`${typeof composite.kind === 'string' ? composite.kind : 'object'} ${ns}${name}`, MAX_ECHOED * 3);
}

/** Cuts a string that came from the request, so that a huge value cannot become a huge message. */
export function bounded(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
