// Tier T1 under abuse: 10,000 fuzzed and mutated requests against the real process over
// mTLS. Each must get a well-formed response (rendered, or a FATAL result that says why),
// the process must stay up, and its memory must not grow without bound.
import { memoryOf } from '../scripts/lib/proc.js';
import { Severity, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { makePki } from '../scripts/lib/pki.js';
import { tenantRequirement } from '../src/functions/render/app.js';
import { appRequired, exampleApp, exampleTenant, platformInput, request } from './helpers/fixtures.js';
import { Random, mutate } from './helpers/random.js';
import { FunctionRunnerServiceClient, call, mtlsCredentials, startFunction, type FunctionProcess } from '../scripts/lib/function.js';

const TOTAL = 10_000;
const CONCURRENCY = 16;
const SEED = 20261122;

let fn: FunctionProcess;
let client: InstanceType<typeof FunctionRunnerServiceClient>;

beforeAll(async () => {
  const pki = makePki();
  fn = await startFunction(['--tls-certs-dir', pki.serverDir]);
  client = new FunctionRunnerServiceClient(fn.address, mtlsCredentials(pki.ca, pki.client));
});
afterAll(async () => {
  client?.close();
  await fn?.stop();
});

const rssKiB = (pid: number): number => memoryOf(pid).rss / 1024;

function fuzzedRequest(rng: Random, i: number): RunFunctionRequest {
  const tenant = exampleTenant();
  const app = exampleApp();
  const tag = `fuzz-${i}`;
  switch (rng.int(7)) {
    case 0: return request({ composite: rng.value(4), tag });
    case 1: return request({ composite: mutate(rng, tenant), tag });
    case 2: return request({ composite: mutate(rng, app), required: appRequired(app, tenant), tag });
    case 3: return request({ composite: app, required: { ...appRequired(app, tenant), [tenantRequirement(tenant.metadata!.name!)]: [mutate(rng, tenant)] }, tag });
    case 4: return request({ composite: tenant, input: mutate(rng, platformInput()) as Record<string, unknown>, tag });
    case 5: return request({ composite: { ...app, kind: rng.pick(['Tenant', 'XApp', 'Database', '', 'app']) }, required: appRequired(app, tenant), tag });
    default: return request({ composite: app, observed: { deployment: mutate(rng, { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'app', image: 'x' }] } } }, status: { conditions: [] } }) as object, job: rng.value(3) as object }, required: appRequired(app, tenant), tag });
  }
}

function checkResponse(req: RunFunctionRequest, rsp: RunFunctionResponse): string | undefined {
  if (rsp.meta?.tag !== req.meta?.tag) return `tag ${rsp.meta?.tag} != ${req.meta?.tag}`;
  const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
  for (const r of rsp.results) if (!r.message) return 'a result without a message';
  if (fatal.length > 0) {
    // FATAL: it must say what was wrong, and it must add nothing to the desired state.
    if (!/: /.test(fatal[0].message)) return `fatal message names nothing: ${fatal[0].message}`;
    if (Object.keys(rsp.desired?.resources ?? {}).length !== Object.keys(req.desired?.resources ?? {}).length) return 'fatal response added resources';
    return undefined;
  }
  for (const [k, r] of Object.entries(rsp.desired?.resources ?? {})) {
    const o = r.resource as { apiVersion?: string; kind?: string; metadata?: { name?: string } } | undefined;
    if (!o?.apiVersion || !o.kind || !o.metadata?.name) return `desired resource ${k} is not a Kubernetes object`;
  }
  return undefined;
}

test(`${TOTAL} fuzzed requests: each answered validly, the process stays up, memory stays bounded`, async () => {
  const rng = new Random(SEED);
  const problems: string[] = [];
  let fatal = 0;
  let rendered = 0;
  let next = 0;
  const samples: number[] = [];
  const worker = async () => {
    while (next < TOTAL) {
      const i = next++;
      const req = fuzzedRequest(rng, i);
      const rsp = await call(client, req, 30000);
      const problem = checkResponse(req, rsp);
      if (problem) problems.push(`#${i}: ${problem}`);
      if (rsp.results.some((r) => r.severity === Severity.SEVERITY_FATAL)) fatal++;
      else rendered++;
      if (i % 1000 === 0) samples.push(Math.round(rssKiB(fn.child.pid!) / 1024));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rssEnd = rssKiB(fn.child.pid!);
  console.log(`fuzz: ${TOTAL} requests, ${rendered} rendered, ${fatal} FATAL, RSS every 1000 requests: ${samples.join(' ')} MiB, ${Math.round(rssEnd / 1024)} MiB at the end`);
  expect(problems.slice(0, 10)).toEqual([]);
  expect(fn.child.exitCode).toBeNull();
  expect(fatal).toBeGreaterThan(TOTAL / 10);
  expect(rendered).toBeGreaterThan(TOTAL / 10);
  // Bounded: V8 grows its heap in steps and gives some back, so RSS saw-tooths (peaks move by
  // ~60 MiB run to run). What must not happen is a climb: the peak of the second half stays
  // within 128 MiB of the first half's (after warm-up), and the process under 512 MiB. Keeping
  // the requests would cost far more: about a thousand of them carry a 1 MiB string.
  const firstHalfPeak = Math.max(...samples.slice(2, 6));
  const secondHalfPeak = Math.max(...samples.slice(6));
  expect(secondHalfPeak).toBeLessThan(firstHalfPeak + 128);
  expect(Math.max(...samples, rssEnd / 1024)).toBeLessThan(512);
}, 300_000);
