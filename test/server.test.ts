// Tier T1: the real function process, the generated gRPC client, real mTLS.
import { spawnSync } from 'node:child_process';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { splitAddress } from '../src/functions/protocol/server.js';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { makePki, type Pki } from '../scripts/lib/pki.js';
import { samples, scrape, total } from '../scripts/lib/metrics.js';
import { exampleApp, exampleTenant, request, appRequired } from './helpers/fixtures.js';
import { FunctionRunnerServiceClient, FunctionRunnerServiceV1beta1Client, call, mtlsCredentials, startFunction, type FunctionProcess } from '../scripts/lib/function.js';

let pki: Pki;
let fn: FunctionProcess;

beforeAll(async () => {
  pki = makePki();
  fn = await startFunction(['--tls-certs-dir', pki.serverDir]);
});
afterAll(async () => {
  await fn?.stop();
});

const client = (creds = mtlsCredentials(pki.ca, pki.client)) => new FunctionRunnerServiceClient(fn.address, creds);

/** A client that sends bytes as they are and hands back the response's bytes undecoded. */
const RawClient = grpc.makeGenericClientConstructor({
  runFunction: { path: '/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction', requestStream: false, responseStream: false,
    requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
}, 'raw') as unknown as new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { runFunction: (b: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void };
const rawCall = (c: InstanceType<typeof RawClient>, bytes: Buffer) => new Promise<Buffer>((res, rej) => c.runFunction(bytes, (e, r) => (e ? rej(e) : res(r!))));

const metric = async (name: string, labels: Record<string, string>) => total(await scrape(fn.metricsPort), name, labels);

describe('RunFunction over mTLS', () => {
  test('the function as its image runs it (compiled by tsc, no tsx) answers the same as under tsx', async () => {
    const image = await startFunction(['--tls-certs-dir', pki.serverDir], {}, undefined, { image: true });
    try {
      expect(image.child.spawnargs.some((a) => a.endsWith('build/src/functions/main.js'))).toBe(true);
      const req = request({ composite: exampleApp(), required: appRequired(exampleApp(), exampleTenant()) });
      const compiled = new FunctionRunnerServiceClient(image.address, mtlsCredentials(pki.ca, pki.client));
      const [a, b] = await Promise.all([call(compiled, req), call(client(), req)]);
      compiled.close();
      expect(a.results.map((r) => r.severity)).not.toContain(Severity.SEVERITY_FATAL);
      expect(Object.keys(a.desired!.resources).length).toBeGreaterThan(3);
      expect(RunFunctionResponse.toJSON(a)).toEqual(RunFunctionResponse.toJSON(b));
    } finally {
      await image.stop();
    }
  }, 60_000);

  test('v1 renders a Tenant, echoes the tag and sets a TTL', async () => {
    const rsp = await call(client(), request({ composite: exampleTenant(), tag: 'tag-v1' }));
    expect(rsp.meta?.tag).toBe('tag-v1');
    expect(Number(rsp.meta?.ttl?.seconds)).toBeGreaterThan(0);
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    // A fresh Tenant gets its Namespaces first; what lives in them follows once they are observed.
    const kinds = Object.values(rsp.desired!.resources).map((r) => r.resource!.kind);
    expect(kinds).toEqual(['Namespace', 'Namespace']);
    const observed = Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, r]) => [k, r.resource as Record<string, unknown>]));
    const next = await call(client(), request({ composite: exampleTenant(), observed }));
    expect(Object.values(next.desired!.resources).map((r) => r.resource!.kind)).toContain('AuthorizationPolicy');
  });

  test('v1beta1 renders an App the same way', async () => {
    const app = exampleApp();
    const v1beta1 = new FunctionRunnerServiceV1beta1Client(fn.address, mtlsCredentials(pki.ca, pki.client));
    const req = request({ composite: app, required: appRequired(app, exampleTenant()), tag: 'tag-v1beta1' });
    const [a, b] = await Promise.all([call(v1beta1, req), call(client(), req)]);
    expect(a.meta?.tag).toBe('tag-v1beta1');
    expect(Object.keys(a.desired!.resources)).toContainEqual(expect.stringMatching(/^build-job-[0-9a-f]{10}$/));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  test('bytes that are not a RunFunctionRequest get a FATAL result that says so, not a nesting limit', async () => {
    const c = new RawClient(fn.address, mtlsCredentials(pki.ca, pki.client));
    const answer = async (bytes: Buffer) => RunFunctionResponse.decode(await rawCall(c, bytes)).results[0];
    // A length-delimited field running past the end of the message.
    const truncated = await answer(Buffer.from([0x0a, 0x50, 0x01, 0x02]));
    expect(truncated.severity).toBe(Severity.SEVERITY_FATAL);
    expect(truncated.message).toMatch(/^request: cannot decode RunFunctionRequest: the bytes are not a valid protobuf message of that type \(/);
    expect(truncated.message).not.toMatch(/nested/);
    // An object nested 40 levels deep: the nesting limit, named as such.
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { a: deep };
    const nested = await answer(Buffer.from(RunFunctionRequest.encode(request({ composite: { ...exampleTenant(), spec: deep } })).finish()));
    expect(nested.message).toMatch(/^request: cannot decode RunFunctionRequest: it nests more than 100 protobuf messages/);
    c.close();
  });

  test('a wrong kind gets a FATAL result naming the kinds aerogrid composes, and the server keeps serving', async () => {
    const rsp = await call(client(), request({ composite: { apiVersion: 'example.org/v1', kind: 'XDatabase', metadata: { name: 'db' } } }));
    expect(rsp.results).toHaveLength(1);
    expect(rsp.results[0].severity).toBe(Severity.SEVERITY_FATAL);
    expect(rsp.results[0].message).toMatch(/aerogrid composes Tenant, XTenant, App, XApp in platform\.aerogrid\.io; got XDatabase/);
    const ok = await call(client(), request({ composite: exampleTenant() }));
    expect(ok.results.some((r) => r.severity === Severity.SEVERITY_FATAL)).toBe(false);
  });
});

describe('client certificates', () => {
  const refused = async (creds: grpc.ChannelCredentials) => {
    const c = client(creds);
    await expect(call(c, request({ composite: exampleTenant() }), 3000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    c.close();
  };
  /** The reasons the function logged for refused connections (logs are flushed at least every 250 ms). */
  const refusals = async (expected: RegExp, atLeast = 1, of = fn) => {
    const reasons = () => of.logs().trim().split('\n').map((l) => JSON.parse(l)).filter((l) => /^refused a TLS/.test(l.msg)).map((l) => l.reason as string);
    for (let i = 0; i < 20 && reasons().filter((r) => expected.test(r)).length < atLeast; i++) await new Promise((r) => setTimeout(r, 100));
    return reasons();
  };

  test('shaped as Crossplane issues them (the CA\'s subject and serial, no key identifiers) are accepted, which OpenSSL alone refuses', async () => {
    const verify = spawnSync('openssl', ['verify', '-CAfile', `${pki.dir}/crossplane-ca.crt`, `${pki.dir}/crossplane-client.crt`], { encoding: 'utf8' });
    expect(verify.stdout + verify.stderr).toMatch(/self-signed certificate/);
    const rsp = await call(client(mtlsCredentials(pki.ca, pki.crossplaneShapedClient)), request({ composite: exampleTenant(), tag: 'crossplane-shaped' }));
    expect(rsp.meta?.tag).toBe('crossplane-shaped');
  });

  test('a connection without a certificate is refused, and the log says why', async () => {
    await refused(mtlsCredentials(pki.ca));
    expect(await refusals(/^no client certificate/)).toContainEqual(expect.stringMatching(/^no client certificate/));
  });
  test('a certificate from another CA is refused', async () => {
    await refused(mtlsCredentials(pki.ca, pki.foreignClient));
    expect(await refusals(/"CN=intruder".* is not signed by a CA in ca\.crt/)).toContainEqual(expect.stringMatching(/"CN=intruder".* is not signed by a CA in ca\.crt/));
  });
  test('an expired certificate is refused', async () => {
    await refused(mtlsCredentials(pki.ca, pki.expiredClient));
    expect(await refusals(/is not valid now/)).toContainEqual(expect.stringMatching(/is not valid now/));
  });
  test('a certificate for servers only is refused', async () => {
    await refused(mtlsCredentials(pki.ca, pki.serverOnlyClient));
    expect(await refusals(/is not for client authentication \(extended key usages: 1\.3\.6\.1\.5\.5\.7\.3\.1\)/)).toContainEqual(expect.stringMatching(/is not for client authentication \(extended key usages: 1\.3\.6\.1\.5\.5\.7\.3\.1\)/));
  });
  test('plaintext is refused when the server was not started with --insecure, and the log says why', async () => {
    await refused(grpc.credentials.createInsecure());
    const plaintext = /wrong version number|http request|unknown protocol|packet length/i;
    expect(await refusals(plaintext)).toContainEqual(expect.stringMatching(plaintext));
  });
  test('openssl, an independent TLS client, is cut off without a certificate and admitted with one', async () => {
    // A function of its own: the gRPC clients above keep retrying against the shared one.
    const own = await startFunction(['--tls-certs-dir', pki.serverDir]);
    const sClient = (...extra: string[]) => spawnSync('openssl', ['s_client', '-connect', own.address, '-CAfile', `${pki.serverDir}/ca.crt`, '-alpn', 'h2', '-brief', ...extra], { input: '', encoding: 'utf8', timeout: 10000 });
    sClient();
    expect(await refusals(/./, 1, own)).toEqual([expect.stringMatching(/^no client certificate/)]);
    const withCert = sClient('-cert', `${pki.dir}/client.crt`, '-key', `${pki.dir}/client.key`);
    expect(withCert.stderr + withCert.stdout).toMatch(/CONNECTION ESTABLISHED/);
    await new Promise((r) => setTimeout(r, 500)); // a refusal would be logged by now
    expect(await refusals(/./, 0, own)).toHaveLength(1);
    await own.stop();
  });
});

describe('operations', () => {
  test('gRPC health reports SERVING', async () => {
    const def = protoLoader.loadSync(healthProtoPath, { enums: String });
    const Health = (grpc.loadPackageDefinition(def).grpc as any).health.v1.Health;
    const health = new Health(fn.address, mtlsCredentials(pki.ca, pki.client));
    for (const service of ['', 'apiextensions.fn.proto.v1.FunctionRunnerService']) {
      const rsp = await new Promise<{ status: string }>((res, rej) => health.check({ service }, (err: Error | null, r: { status: string }) => (err ? rej(err) : res(r))));
      expect(rsp.status).toBe('SERVING');
    }
    health.close();
  });

  test('metrics count requests and results by kind and severity', async () => {
    const before = await metric('aerogrid_function_requests_total', { kind: 'Tenant' });
    const fatalBefore = await metric('aerogrid_function_results_total', { kind: 'Tenant', severity: 'Fatal' });
    await call(client(), request({ composite: exampleTenant() }));
    await call(client(), request({ composite: { apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'Tenant', metadata: { name: 'x' }, spec: {} } }));
    expect(await metric('aerogrid_function_requests_total', { kind: 'Tenant' })).toBe(before + 2);
    expect(await metric('aerogrid_function_results_total', { kind: 'Tenant', severity: 'Fatal' })).toBe(fatalBefore + 1);
    expect(await metric('aerogrid_function_request_duration_seconds_count', { kind: 'Tenant' })).toBeGreaterThanOrEqual(before + 2);
    // A kind aerogrid does not compose counts as `other`: the request cannot add series at will.
    const otherBefore = await metric('aerogrid_function_results_total', { kind: 'other', severity: 'Fatal' });
    for (const kind of ['XDatabase', 'XQueue']) await call(client(), request({ composite: { apiVersion: 'example.org/v1', kind, metadata: { name: 'x' } } }));
    expect(await metric('aerogrid_function_results_total', { kind: 'other', severity: 'Fatal' })).toBe(otherBefore + 2);
    const text = await scrape(fn.metricsPort);
    expect(text).not.toContain('XDatabase');
  });

  test('the request histogram covers the whole call, decoding and encoding included, within what the client measured', async () => {
    // Large Apps, each new: decoding, hashing and encoding their files is much of a call. The
    // client sends bytes encoded beforehand and does not decode the answers, so that its own
    // timings are the call's and not its codec's.
    const c = new RawClient(fn.address, mtlsCredentials(pki.ca, pki.client));
    const read = async () => ({
      sum: await metric('aerogrid_function_request_duration_seconds_sum', { kind: 'App' }),
      count: await metric('aerogrid_function_request_duration_seconds_count', { kind: 'App' }),
      render: await metric('aerogrid_function_render_duration_seconds_sum', { kind: 'App' }),
      received: await metric('aerogrid_function_request_bytes_total', { kind: 'App' }),
      sent: await metric('aerogrid_function_response_bytes_total', { kind: 'App' }),
    });
    const requests = Array.from({ length: 20 }, (_, i) => {
      const app = exampleApp() as Record<string, any>;
      app.metadata.name = `big-${i}`;
      app.spec.files = [...app.spec.files, { path: 'data.txt', content: `${i}`.padEnd(200_000, 'x') }];
      return Buffer.from(RunFunctionRequest.encode(request({ composite: app, required: appRequired(app as ReturnType<typeof exampleApp>, exampleTenant()) })).finish());
    });
    const before = await read();
    let clientSeconds = 0;
    let answered = 0;
    for (const bytes of requests) {
      const t = process.hrtime.bigint();
      answered += (await rawCall(c, bytes)).length;
      clientSeconds += Number(process.hrtime.bigint() - t) / 1e9;
    }
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    const after = await read();
    const server = after.sum - before.sum;
    const render = after.render - before.render;
    // The bytes counters: exactly what went over the wire, both ways.
    expect(after.received - before.received).toBe(requests.reduce((a, b) => a + b.length, 0));
    expect(after.sent - before.sent).toBe(answered);
    console.log(`20 calls of 200 KB Apps: client ${(clientSeconds * 1000).toFixed(1)} ms, request histogram ${(server * 1000).toFixed(1)} ms, render alone ${(render * 1000).toFixed(1)} ms`);
    expect(after.count - before.count).toBe(20);
    expect(server).toBeLessThanOrEqual(clientSeconds);
    // Decoding and encoding are in it: clearly more than the render step alone (1.6 to 2
    // times it here). The client's own time is only an upper bound: on a loaded host its share in the
    // server's histogram swings (CI once saw 17%), so it is not asserted as a lower bound.
    expect(server).toBeGreaterThan(render * 1.2);
  });

  test('a response over --max-send-message-size is counted and logged as a send failure, not as a normal render', async () => {
    const small = await startFunction(['--tls-certs-dir', pki.serverDir, '--max-send-message-size', '0.05']);
    const c = new FunctionRunnerServiceClient(small.address, mtlsCredentials(pki.ca, pki.client));
    const app = exampleApp() as Record<string, any>;
    app.spec.files = [...app.spec.files, { path: 'data.txt', content: 'x'.repeat(100_000) }];
    await expect(call(c, request({ composite: app, required: appRequired(app as ReturnType<typeof exampleApp>, exampleTenant()) }))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    const body = await scrape(small.metricsPort);
    expect(body).toMatch(/^aerogrid_function_send_failures_total\{kind="App",reason="too_large"\} 1$/m);
    await new Promise((r) => setTimeout(r, 400)); // logs are flushed at least every 250 ms
    expect(small.logs()).toMatch(/"level":50.*"msg":"response not sent: larger than --max-send-message-size/);
    c.close();
    await small.stop();
  });

  test('the full collections the memory guard asks for are counted', async () => {
    // The one sample of the process's counter (NaN when the counter is missing).
    const metricOf = async (f: FunctionProcess) => {
      const found = samples(await scrape(f.metricsPort), 'aerogrid_function_memory_collections_total');
      return found.length === 1 ? found[0].value : NaN;
    };
    // A target no process can be under: the guard collects at its checks (every 250 ms, backing off).
    // It must count at least two within 15 s (it would count dozens); a loaded machine may be slow to show the first.
    const tight = await startFunction(['--tls-certs-dir', pki.serverDir, '--memory-target', '1']);
    for (const until = Date.now() + 15_000; Date.now() < until && !(await metricOf(tight) >= 2);) await new Promise((r) => setTimeout(r, 250));
    expect(await metricOf(tight)).toBeGreaterThanOrEqual(2);
    await tight.stop();
    // The default target (cache size + 112 MiB) is far above an idle process.
    const idle = await startFunction(['--tls-certs-dir', pki.serverDir]);
    await new Promise((r) => setTimeout(r, 600));
    expect(await metricOf(idle)).toBe(0);
    await idle.stop();
  });

  test('logs are JSON lines that name the XR and the outcome', () => {
    const lines = fn.logs().trim().split('\n').map((l) => JSON.parse(l));
    const rendered = lines.find((l) => l.msg === 'rendered' && l.xr === 'Tenant acme');
    expect(rendered).toMatchObject({ kind: 'Tenant', severity: 'Normal', api: 'v1' });
  });
});

describe('lifecycle', () => {
  test('a SIGTERM during in-flight calls still answers every one of them, then exits 0', async () => {
    const own = await startFunction(['--tls-certs-dir', pki.serverDir]);
    const c = new FunctionRunnerServiceClient(own.address, mtlsCredentials(pki.ca, pki.client));
    const app = exampleApp();
    const req = request({ composite: app, required: appRequired(app, exampleTenant()) });
    await call(c, req); // connected
    const calls: Promise<RunFunctionResponse>[] = [];
    for (let i = 0; i < 200; i++) calls.push(call(c, req));
    // The signal comes once the server is answering the batch: every call of it is on the wire by then.
    await Promise.race(calls);
    own.child.kill('SIGTERM');
    const answers = await Promise.allSettled(calls);
    expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
    expect(await own.exited).toBe(0);
    expect(own.logs()).toContain('draining in-flight calls');
    c.close();
  });

  test('SIGTERM always ends by --drain-timeout, with a stalled call open and a client that keeps connecting (5 runs)', async () => {
    const drainSeconds = 1;
    for (let run = 0; run < 5; run++) {
      const own = await startFunction(['--tls-certs-dir', pki.serverDir, '--drain-timeout', String(drainSeconds)]);
      // A call that never finishes: a gRPC frame header announcing 1,000 bytes, and 5 of them sent.
      const session = http2.connect(`https://${own.address}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
      session.on('error', () => {});
      const stalled = session.request({ ':method': 'POST', ':path': '/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction', 'content-type': 'application/grpc', te: 'trailers' });
      stalled.on('error', () => {});
      stalled.write(Buffer.from([0, 0, 0, 0x03, 0xe8, 1, 2, 3, 4, 5]));
      // Calls in flight, and new connections every few milliseconds, before and after the signal.
      const c = new FunctionRunnerServiceClient(own.address, mtlsCredentials(pki.ca, pki.client));
      const app = exampleApp();
      const req = request({ composite: app, required: appRequired(app, exampleTenant()) });
      await call(c, req);
      const calls = Array.from({ length: 32 }, () => call(c, req).catch(() => undefined));
      let connecting = true;
      const connector = (async () => {
        while (connecting) {
          const extra = new FunctionRunnerServiceClient(own.address, mtlsCredentials(pki.ca, pki.client), { 'grpc.use_local_subchannel_pool': 1 });
          void call(extra, req, 3000).catch(() => undefined).finally(() => extra.close());
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const signalled = Date.now();
      own.child.kill('SIGTERM');
      const code = await own.exited;
      const took = Date.now() - signalled;
      connecting = false;
      await connector;
      await Promise.all(calls);
      c.close();
      session.destroy();
      expect({ run, code }).toEqual({ run, code: 0 });
      // Without the drain timeout the stalled call would hold it open for ever; the slack is for a loaded machine.
      expect(took).toBeLessThanOrEqual(drainSeconds * 1000 + 4000);
    }
  }, 60_000);

  test('idle connections are closed: TLS ones that never speak, HTTP/2 ones with no call, and handshakes that never finish', async () => {
    // Far-apart settings, so that a loaded machine cannot blur them: silent ones go after about 1 s, idle ones after 6 s.
    const own = await startFunction(['--tls-certs-dir', pki.serverDir, '--max-connection-idle', '6', '--handshake-timeout', '1']);
    const { port } = splitAddress(own.address);
    const closed = (socket: NodeJS.EventEmitter) => new Promise<number>((r) => { const t = Date.now(); socket.once('close', () => r(Date.now() - t)); });
    // Admitted (a valid client certificate), then silent: no HTTP/2 preface.
    const silent = Array.from({ length: 10 }, () => tls.connect({ host: '127.0.0.1', port, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, ALPNProtocols: ['h2'] }).on('error', () => {}).resume());
    // An HTTP/2 session with no call: closed for idleness, not cut off as silent.
    const session = http2.connect(`https://${own.address}`, { ca: pki.ca, cert: pki.client.cert, key: pki.client.key }).on('error', () => {});
    // A TCP connection that never starts the TLS handshake.
    const mute = net.connect(port, '127.0.0.1').on('error', () => {}).resume();
    const [h2, ...rest] = await Promise.all([closed(session), ...silent.map(closed), closed(mute)]);
    expect(Math.max(...rest)).toBeLessThan(5000);
    expect(h2).toBeGreaterThanOrEqual(5500);
    expect(h2).toBeLessThan(15_000);
    await own.stop();
  }, 30_000);

  test('a port already in use is a non-zero exit with a clear message', async () => {
    const busy = fn.address;
    const r = spawnSync(process.execPath, ['bin/aerogrid-function.js', '--address', busy, '--tls-certs-dir', pki.serverDir, '--metrics-address', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on ${busy.replace(/\./g, '\\.')}`));
  });

  test('a missing certificate directory is a start-up error, not a plaintext fallback', async () => {
    await expect(startFunction(['--tls-certs-dir', '/nonexistent/certs'])).rejects.toThrow(/cannot read \/nonexistent\/certs\/ca\.crt/);
    await expect(startFunction([])).rejects.toThrow(/no TLS certificates/);
  });
});
