// The requests the benchmark sends: the same bytes to the baseline and to aerogrid.
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { appRequired, exampleApp, exampleTenant, observedNamespaces, request } from '../test/helpers/fixtures.js';
import { Random } from '../test/helpers/random.js';

/** The example App at its largest phase: build context, Job, Deployment, Service, Istio policies. */
function appRequest(app = exampleApp()): RunFunctionRequest {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example.com/aerogrid/acme/hello:91bc' }] } } } };
  return request({ composite: app, observed: { deployment }, required: appRequired(app, exampleTenant()) });
}

export const CASES = {
  /** An XR aerogrid does not compose: protocol, TLS, decoding, dispatch and a FATAL answer. */
  dispatch: () => request({ composite: { apiVersion: 'example.org/v1', kind: 'XDatabase', metadata: { name: 'db' }, spec: { size: 'small' } } }),
  /** The example Tenant with its two Namespaces observed: 36 composed resources. */
  tenant: () => request({ composite: exampleTenant(), observed: observedNamespaces(exampleTenant()) }),
  /** The example App, the same request every call, as Crossplane polls an App that did not change. */
  app: () => appRequest(),
  /**
   * Variant i of the example App: its own name and its own source, so its own digest, build
   * and objects. DISTINCT of them are sent in turn, so no call finds what an earlier one left.
   */
  'app-cold': (i = 0) => {
    const app = exampleApp();
    app.metadata!.name = `hello-${i}`;
    const files = (app.spec as { files: { path: string; content: string }[] }).files;
    files[0] = { ...files[0], content: `${files[0].content}\n# variant ${i}\n` };
    return appRequest(app);
  },
  /**
   * The example App as real Crossplane polls it: the same objects every call, but every map (a
   * Struct's fields, the observed and required resources) in an order of its own, because Go
   * marshals maps in random order: two captured polls of one App were the same 21,622 bytes in
   * another order. Variant i is that request with its maps in the i-th seeded order.
   */
  'app-polled': (i = 0) => inGoMapOrder(appRequest(), new Random(i + 1)),
} as const;

/** A copy of a message with the keys of every plain object (a map, a Struct) in a random order. */
function inGoMapOrder<T>(value: T, random: Random): T {
  if (Array.isArray(value)) return value.map((v) => inGoMapOrder(v, random)) as T;
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const keys = Object.keys(value);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = inGoMapOrder((value as Record<string, unknown>)[k], random);
  return out as T;
}

/**
 * How many different requests a case sends in turn (ghz sends count-prefixed messages round
 * robin). 5,000 is more than any of the function's memos keeps (1,024 renders, 4,096 decoded
 * objects), so the cold App case is rendered from scratch on every call. The polled App has three
 * objects the decoder looks up by digest (the XR, the tenant and the input are over 256 bytes):
 * 10,000 orders of them are 30,000 digests, about twice what the decoder keeps of bytes seen once
 * (about 15,700 at the default cache size), so that, as from Crossplane, no object's bytes are
 * recognized. With 5,000 orders (15,000 digests) every object was seen again a cycle later, and
 * kept, which real Crossplane never makes the function do.
 */
export const DISTINCT: Partial<Record<keyof typeof CASES, number>> = { 'app-cold': 5000, 'app-polled': 10000 };

/** What aerogrid must answer each case with: the benchmark checks it before and while it measures. */
export const EXPECTED: Record<keyof typeof CASES, { kind: string; severity: 'Normal' | 'Fatal'; resources: number }> = {
  dispatch: { kind: 'other', severity: 'Fatal', resources: 0 },
  tenant: { kind: 'Tenant', severity: 'Normal', resources: 36 },
  app: { kind: 'App', severity: 'Normal', resources: 7 },
  'app-cold': { kind: 'App', severity: 'Normal', resources: 7 },
  'app-polled': { kind: 'App', severity: 'Normal', resources: 7 },
};
