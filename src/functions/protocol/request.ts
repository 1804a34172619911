// A RunFunctionRequest shaped the way Crossplane sends one, for whatever plays Crossplane's
// part here: `aerogrid render`, the demo's stand-in reconciler, and the tests.
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';

type Obj = Record<string, unknown>;

export function crossplaneRequest(opts: {
  tag: string;
  composite: unknown;
  input: Obj;
  /** Observed composed resources, by the key the function gave them. */
  observed?: Record<string, unknown>;
  /** Required resources Crossplane fetched, by the key the function asked for them under. */
  required?: Record<string, unknown[]>;
}): RunFunctionRequest {
  const resource = (r: unknown) => ({ resource: r as Obj, connectionDetails: {} });
  return RunFunctionRequest.fromPartial({
    meta: { tag: opts.tag, capabilities: [] },
    observed: {
      composite: resource(opts.composite),
      resources: Object.fromEntries(Object.entries(opts.observed ?? {}).map(([k, r]) => [k, resource(r)])),
    },
    input: opts.input,
    requiredResources: Object.fromEntries(Object.entries(opts.required ?? {}).map(([k, items]) => [k, { items: items.map(resource) }])),
  });
}
