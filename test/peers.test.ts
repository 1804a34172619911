// Tier T1: the peer benchmark's premise, that bench/peers/app.gotmpl on the real
// function-go-templating v0.9.2 (built from source by scripts/tools.sh) composes what aerogrid
// composes. Both functions run as processes over the same mTLS and answer the same request, in
// each state of an App's life; every difference must be one the benchmark lists in RESULTS.md.
import { RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { makePki, type Pki } from '../scripts/lib/pki.js';
import { call, FunctionRunnerServiceClient, mtlsCredentials, startFunction, type FunctionProcess } from '../scripts/lib/function.js';
import { asGoTemplating, compareAnswers, startGoTemplating, type Peer } from '../bench/peers/go-templating.js';
import { APP_STATES, EXPECTED_DIFFERENCES } from '../bench/peers/states.js';

let pki: Pki;
let aerogrid: FunctionProcess;
let peer: Peer;
let clients: FunctionRunnerServiceClient[];

beforeAll(async () => {
  pki = makePki();
  [aerogrid, peer] = await Promise.all([
    startFunction(['--tls-certs-dir', pki.serverDir], {}, undefined, { image: true }),
    startGoTemplating(pki.serverDir),
  ]);
  clients = [aerogrid.address, peer.address].map((a) => new FunctionRunnerServiceClient(a, mtlsCredentials(pki.ca, pki.client)));
}, 180_000);
afterAll(async () => {
  clients?.forEach((c) => c.close());
  peer?.child.kill();
  await aerogrid?.stop();
});

async function both(req: RunFunctionRequest): Promise<[RunFunctionResponse, RunFunctionResponse]> {
  return Promise.all([call(clients[0], req), call(clients[1], asGoTemplating(req))]);
}

describe('function-go-templating with bench/peers/app.gotmpl against aerogrid', () => {
  test.each(Object.keys(APP_STATES))('%s: the same objects, status and conditions', async (state) => {
    const { request, phase, resources } = APP_STATES[state]();
    const [a, b] = await both(request);
    // The state is the one named: aerogrid's own answer says so.
    expect(a.desired?.composite?.resource?.status?.phase).toBe(phase);
    expect(Object.keys(a.desired?.resources ?? {}).sort()).toEqual(resources);
    expect(b.results).toEqual([]);
    const diff = compareAnswers(a, b);
    expect(diff.filter((d) => !EXPECTED_DIFFERENCES.some((re) => re.test(d)))).toEqual([]);
  });

  test('the comparison sees a real difference: a template that names the Service otherwise is caught', async () => {
    const { request } = APP_STATES['build pending, an older image serving']();
    const [a, b] = await both(request);
    const svc = b.desired!.resources.service.resource!;
    svc.metadata.name = 'other';
    expect(compareAnswers(a, b)).toContain('resources.service.resource.metadata.name: aerogrid "hello", go-templating "other"');
  });
});
