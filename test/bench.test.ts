// Tier T0: the requests `make bench` sends (bench/requests.ts) still get the answers the benchmark
// expects of them. The benchmark checks this itself before it measures, but only when it runs; a
// Tenant that began to compose two more objects (the aerogrid-tenant ConfigMaps) broke `make bench`
// for a session without any test noticing.
import { RunFunctionRequest, Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../src/functions/render/fn.js';
import { CASES, EXPECTED } from '../bench/requests.js';

describe('bench/requests.ts', () => {
  test.each(Object.keys(CASES) as (keyof typeof CASES)[])('%s is answered as EXPECTED says', (name) => {
    const { response, severity } = runFunction(CASES[name]());
    const fatal = response.results.some((r) => r.severity === Severity.SEVERITY_FATAL);
    expect({ severity: fatal ? 'Fatal' : 'Normal', resources: Object.keys(response.desired?.resources ?? {}).length })
      .toEqual({ severity: EXPECTED[name].severity, resources: EXPECTED[name].resources });
    expect(severity).toBe(EXPECTED[name].severity);
  });

  test('app-polled is the app request in other bytes: the same objects, every map in an order of its own', () => {
    const encode = (r: RunFunctionRequest) => Buffer.from(RunFunctionRequest.encode(r).finish());
    const app = encode(CASES.app());
    const polled = [0, 1, 2].map((i) => encode(CASES['app-polled'](i)));
    for (const bytes of polled) {
      expect(bytes.length).toBe(app.length);
      expect(bytes.equals(app)).toBe(false);
      // toEqual does not look at key order: the same request, decoded.
      expect(RunFunctionRequest.decode(bytes)).toEqual(RunFunctionRequest.decode(app));
    }
    expect(polled[0].equals(polled[1]) || polled[1].equals(polled[2])).toBe(false);
    // Variant i is always the same bytes: the benchmark's input is deterministic.
    expect(encode(CASES['app-polled'](1)).equals(polled[1])).toBe(true);
  });
});
