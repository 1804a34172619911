// Tier T0: the requests `make bench` sends (bench/requests.ts) still get the answers the benchmark
// expects of them. The benchmark checks this itself before it measures, but only when it runs; a
// Tenant that began to compose two more objects (the aerogrid-tenant ConfigMaps) broke `make bench`
// for a session without any test noticing.
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../src/functions/fn.js';
import { CASES, EXPECTED } from '../bench/requests.js';

describe('bench/requests.ts', () => {
  test.each(Object.keys(CASES) as (keyof typeof CASES)[])('%s is answered as EXPECTED says', (name) => {
    const { response, severity } = runFunction(CASES[name]());
    const fatal = response.results.some((r) => r.severity === Severity.SEVERITY_FATAL);
    expect({ severity: fatal ? 'Fatal' : 'Normal', resources: Object.keys(response.desired?.resources ?? {}).length })
      .toEqual({ severity: EXPECTED[name].severity, resources: EXPECTED[name].resources });
    expect(severity).toBe(EXPECTED[name].severity);
  });
});
