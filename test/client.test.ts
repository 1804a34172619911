// aerogrid/client (src/client): errors as typed values, field ownership, the request timeout and
// the watch's resumption. The client against the real control plane is exercised by the CLI's
// end-to-end tests (cli.e2e.test.ts), which use it for every command.
//
// The watch tests below serve the API's watch protocol from a local HTTP server: a real
// kube-apiserver answers 410 Gone only once etcd has compacted the revision asked for (every
// 5 minutes by default), which no test can wait for. The server says what kube-apiserver says
// (an ERROR event with a Status of code 410, then the end of the stream).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { AerogridClient, ClientError, ownedBy, ownersOf, type App } from '../src/client/index.js';
import { classify } from '../src/client/errors.js';

type Obj = Record<string, any>;
const server = 'https://127.0.0.1:6443';
const status = (code: number, body: Obj) => new ApiException(code, `HTTP ${code}`, JSON.stringify({ kind: 'Status', code, ...body }), {});

describe('errors come back as typed values', () => {
  test('a server-side apply conflict names the managers and the fields', () => {
    const e = classify(status(409, {
      message: 'Apply failed with 1 conflict: conflict with "argocd-controller" using platform.aerogrid.io/v1alpha1: .spec.files',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "argocd-controller" using platform.aerogrid.io/v1alpha1', field: '.spec.files' }] },
    }), 'apply App shop', server);
    expect([e.kind, e.managers, e.fields.map((f) => f.path), e.details.doing]).toEqual(['conflict', ['argocd-controller'], ['.spec.files'], 'apply App shop']);
  });

  test('an object the schema refuses names each field', () => {
    const e = classify(status(422, {
      message: 'App.platform.aerogrid.io "shop" is invalid: spec.port: Invalid value: 80: spec.port must be 1024 or above',
      details: { name: 'shop', causes: [{ field: 'spec.port', message: 'Invalid value: 80: spec.port must be 1024 or above' }] },
    }), 'apply App shop', server);
    expect(e.kind).toBe('invalid');
    expect(e.fields).toEqual([{ path: 'spec.port', message: 'Invalid value: 80: spec.port must be 1024 or above' }]);
  });

  test('forbidden, not found, a missing API, unreachable and timed out are told apart', () => {
    expect(classify(status(403, { message: 'apps is forbidden: User "dana" cannot list', details: { kind: 'apps' } }), 'list', server).kind).toBe('forbidden');
    expect(classify(status(404, { message: 'apps "x" not found', details: { name: 'x', kind: 'apps' } }), 'read', server).kind).toBe('notFound');
    expect(classify(new ApiException(404, 'HTTP 404', '404 page not found', {}), 'read', server).kind).toBe('missingApi');
    // Discovery goes first: its 404 is a missing API, but its 401 is a token the server no longer takes.
    const discovery = (code: number, body: string) => new ApiException(code, `Failed to fetch resource metadata for platform.aerogrid.io/v1alpha1/App: HTTP-Code: ${code}`, body, {});
    expect(classify(discovery(404, '404 page not found'), 'list', server).kind).toBe('missingApi');
    expect(classify(discovery(401, JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' })), 'list', server)).toMatchObject({ kind: 'unauthorized', message: 'Unauthorized' });
    expect(classify(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }), 'read', server).kind).toBe('unreachable');
    expect(classify(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), 'read', server).kind).toBe('timeout');
    expect(classify(new Error('self-signed certificate in certificate chain'), 'read', server).message).toMatch(/^TLS failed/);
  });

  test('a kubeconfig that is not there is a config error that says what to do', () => {
    expect(() => AerogridClient.fromKubeconfig({ kubeconfig: '/no/such/file' })).toThrow(new ClientError('config', '--kubeconfig /no/such/file: no such file'));
  });
});

describe('field ownership, from managedFields', () => {
  const app = {
    metadata: {
      name: 'shop',
      managedFields: [
        { manager: 'aerogrid', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:files': {}, 'f:access': { 'f:public': {} } } } },
        { manager: 'aerogrid-env', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:env': { 'k:{"name":"A"}': {} } } } },
        { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:spec': { 'f:env': { 'k:{"name":"B"}': {} } } } },
      ],
    },
  } as unknown as App;
  test('ownedBy reads one manager\'s applied fields; ownersOf every manager of a field', () => {
    expect(ownedBy(app, 'aerogrid', ['spec', 'access', 'public'])).toBe(true);
    expect(ownedBy(app, 'aerogrid', ['spec', 'port'])).toBe(false);
    expect(ownedBy(app, 'aerogrid-env', ['spec', 'env', 'k:{"name":"A"}'])).toBe(true);
    expect(ownersOf(app, ['spec', 'env', 'k:{"name":"B"}'])).toEqual(['kubectl-edit']);
    expect(ownersOf(app, ['spec', 'env'])).toEqual(['aerogrid-env', 'kubectl-edit']);
  });
});

describe('against a local HTTP server that plays the API (see the note at the top)', () => {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const http = createServer((req, res) => handler(req, res));
  let client: AerogridClient;
  const app = (rv: string, phase: string) => ({ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'shop', namespace: 'acme-dev', resourceVersion: rv }, status: { phase } });

  beforeAll(async () => {
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'acme-dev' }],
      currentContext: 'x',
    });
    client = new AerogridClient(kc, { requestTimeoutMs: 1500 });
  });
  afterAll(() => http.close());
  const discovery = (res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'APIResourceList', groupVersion: 'platform.aerogrid.io/v1alpha1', resources: [{ name: 'apps', namespaced: true, kind: 'App', verbs: ['get', 'list', 'watch'] }] }));
  };

  test('a watch resumes where it was after the server ends it, and reads afresh after a 410', async () => {
    const asked: string[] = [];
    handler = (req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/apis/platform.aerogrid.io/v1alpha1') return discovery(res);
      const rv = url.searchParams.get('resourceVersion') ?? '';
      asked.push(url.searchParams.has('watch') ? `watch@${rv}` : 'get');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (!url.searchParams.has('watch')) return res.end(JSON.stringify(app('20', 'Deploying')));
      if (rv === '1') return res.end(`${JSON.stringify({ type: 'MODIFIED', object: app('5', 'Building') })}\n`);
      if (rv === '5') return res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 5 (12)' } })}\n`);
      res.end(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '21' } } })}\n${JSON.stringify({ type: 'MODIFIED', object: app('22', 'Ready') })}\n`);
    };
    const seen: string[] = [];
    await client.apps.watch({ namespace: 'acme-dev', name: 'shop', resourceVersion: '1', signal: new AbortController().signal }, (e) => {
      seen.push(`${e.type} ${e.object.status?.phase}`);
      return e.object.status?.phase === 'Ready';
    });
    expect(seen).toEqual(['MODIFIED Building', 'ADDED Deploying', 'MODIFIED Ready']);
    expect(asked).toEqual(['watch@1', 'watch@5', 'get', 'watch@20']);
  });

  test('a server that never answers: every request ends at the timeout, as a timeout', async () => {
    handler = (req, res) => {
      if (req.url === '/apis/platform.aerogrid.io/v1alpha1') discovery(res);
    };
    for (const call of [() => client.apps.get('shop'), () => client.apps.list(), () => client.apps.watch({ signal: new AbortController().signal }, () => true)]) {
      const started = Date.now();
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });
});

// That the package exports the client as aerogrid/client is tested where it is exported from: the
// packed and installed package (package.test.ts), with plain Node and a TypeScript consumer.
