// The gRPC server: Crossplane's FunctionRunnerService (v1 and v1beta1) over mTLS that
// requires and verifies client certificates, the gRPC health service, Prometheus
// metrics over HTTP, JSON logs that name the XR, and a drain on SIGTERM.
//
// The official SDK's runtime serves with client certificates optional; this server
// builds on the SDK's generated service definition and messages, and not on its runtime.
//
// The server owns its listener (a TLS server, or a plain TCP one with --insecure) and hands each
// admitted connection to grpc-js through a connection injector. That is how Crossplane's own
// client certificates get verified (mtls.ts: OpenSSL refuses them), how every refused handshake
// is logged with its reason, and how a drain can close every connection it accepted.
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FunctionRunnerServiceService, RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { HealthImplementation } from 'grpc-health-check';
import { pino, type Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { forcedCollections } from './memory.js';
import { decodeRequest } from './decode.js';
import { COMPOSED_KINDS, fatalResponse, runFunction } from '../render/fn.js';
import { parseCertificates, refusal } from './mtls.js';
import { encodeResponse } from './wire.js';

export const V1_SERVICE = 'apiextensions.fn.proto.v1.FunctionRunnerService';
export const V1BETA1_SERVICE = 'apiextensions.fn.proto.v1beta1.FunctionRunnerService';

/** A request the generated decoder refused; answered with a FATAL result instead of a bare gRPC error. */
interface Undecodable {
  undecodable: string;
  meta: RunFunctionRequest['meta'];
}

/**
 * The SDK's generated decoder, and ours after it (decode.ts), stop at 100 nested messages (Go's
 * default is 10,000): each level of a JSON object is three of them, so an object nested about 30
 * levels deep cannot be decoded here. Such a request still gets an answer:
 * a FATAL result that says so, with the tag recovered from the top-level meta field.
 */
function deserialize(bytes: Buffer): RunFunctionRequest | Undecodable {
  try {
    return decodeRequest(bytes);
  } catch (err) {
    let meta: RunFunctionRequest['meta'];
    try {
      const reader = new BinaryReader(bytes);
      while (reader.pos < reader.len && !meta) {
        const [field, wireType] = reader.tag();
        if (field === 1 && wireType === WireType.LengthDelimited) {
          // A request holding only field 1 (meta) decodes shallowly.
          meta = RunFunctionRequest.decode(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(reader.bytes()).finish()).meta;
        } else {
          reader.skip(wireType);
        }
      }
    } catch {
      // No readable meta: the answer carries no tag.
    }
    return { undecodable: (err as Error).message, meta };
  }
}

/** What to tell the caller about a request that could not be decoded, by what went wrong. */
export function undecodableMessage(error: string): string {
  if (/recursion limit/.test(error)) {
    return `request: cannot decode RunFunctionRequest: it nests more than 100 protobuf messages (${error}); an object nested more than about 30 levels deep cannot be rendered`;
  }
  return `request: cannot decode RunFunctionRequest: the bytes are not a valid protobuf message of that type (${error})`;
}

/** A response on its way out, with what the metrics need once it is encoded. */
interface Sent {
  response: RunFunctionResponse;
  /** When the request's bytes arrived (before decoding). */
  received: bigint;
  kind: string;
  xr: string;
}

/** When each decoded request's bytes arrived (the request duration covers decoding too), and how many. */
const receivedAt = new WeakMap<object, { at: bigint; bytes: number }>();

function deserializeTimed(bytes: Buffer): RunFunctionRequest | Undecodable {
  const received = process.hrtime.bigint();
  const req = deserialize(bytes);
  receivedAt.set(req, { at: received, bytes: bytes.length });
  return req;
}

/** The service definitions (v1, and v1beta1, wire-identical but for the path) with this server's serializer. */
function definitions(serialize: (sent: Sent) => Buffer) {
  const v1 = { runFunction: { ...FunctionRunnerServiceService.runFunction, requestDeserialize: deserializeTimed, responseSerialize: serialize } };
  return { v1, v1beta1: { runFunction: { ...v1.runFunction, path: `/${V1BETA1_SERVICE}/RunFunction` } } };
}

export interface ServerOptions {
  address: string;
  tlsCertsDir?: string;
  insecure: boolean;
  debug: boolean;
  maxRecvMessageSize: number;
  maxSendMessageSize: number;
  metricsAddress: string;
  /** How long SIGTERM waits for in-flight calls before cutting them off. */
  drainTimeoutMs: number;
  /** What all the caches may hold together (main.ts sets it process-wide, src/api/memo.ts). */
  cacheBytes?: number;
  /** Over this RSS, main.ts asks V8 for a full collection (memory.ts). */
  memoryTargetBytes?: number;
  limits?: ConnectionLimits;
}

/** Server-side limits on connections (main.ts documents each flag). */
export interface ConnectionLimits {
  maxConnectionIdleMs: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxConcurrentStreams: number;
  handshakeTimeoutMs: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConnectionIdleMs: 300_000,
  maxConnectionAgeMs: 300_000,
  maxConnectionAgeGraceMs: 60_000,
  keepaliveTimeMs: 120_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 256,
  handshakeTimeoutMs: 10_000,
};

export class StartupError extends Error {}

export interface RunningServer {
  grpcPort: number;
  metricsPort: number;
  shutdown(): Promise<void>;
}

export interface ServerTls {
  /** The CAs client certificates must be signed by. */
  cas: X509Certificate[];
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The TLS material from --tls-certs-dir, or undefined with --insecure. */
export function serverTls(opts: Pick<ServerOptions, 'insecure' | 'tlsCertsDir'>): ServerTls | undefined {
  if (opts.insecure) return undefined;
  if (!opts.tlsCertsDir) {
    throw new StartupError('no TLS certificates: set --tls-certs-dir or TLS_SERVER_CERTS_DIR (tls.crt, tls.key, ca.crt), or pass --insecure for local development');
  }
  const read = (file: string) => {
    try {
      return readFileSync(join(opts.tlsCertsDir!, file));
    } catch (err) {
      throw new StartupError(`cannot read ${join(opts.tlsCertsDir!, file)}: ${(err as Error).message}`);
    }
  };
  const [ca, cert, key] = [read('ca.crt'), read('tls.crt'), read('tls.key')];
  let cas: X509Certificate[];
  try {
    cas = parseCertificates(ca);
  } catch (err) {
    throw new StartupError(`cannot read ${join(opts.tlsCertsDir, 'ca.crt')}: ${(err as Error).message}`);
  }
  if (cas.length === 0) throw new StartupError(`${join(opts.tlsCertsDir, 'ca.crt')} holds no PEM certificate`);
  return { cas, ca, cert, key };
}

/**
 * The listener: TLS that asks every client for a certificate and admits only those mtls.ts
 * accepts, or plain TCP with --insecure. Admitted connections go to `admit`; every socket it
 * accepted is in `sockets` until it closes.
 */
function listener(tls: ServerTls | undefined, admit: (socket: Socket) => void, log: Logger, limits: ConnectionLimits): { server: NetServer; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  // grpc-js closes an idle HTTP/2 session, but not a connection that never starts one: a client
  // must send its HTTP/2 preface within the handshake timeout of being admitted.
  const admitIdle = (socket: Socket) => {
    const before = socket.bytesRead;
    setTimeout(() => {
      if (socket.bytesRead === before && !socket.destroyed) {
        log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: `no HTTP/2 preface within ${limits.handshakeTimeoutMs} ms` }, 'closed a silent connection');
        socket.destroy();
      }
    }, limits.handshakeTimeoutMs).unref();
    admit(socket);
  };
  if (!tls) {
    const server = createTcpServer((socket) => {
      track(socket);
      admitIdle(socket);
    });
    return { server, sockets };
  }
  const server = createTlsServer({
    ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ALPNProtocols: ['h2'],
    // Asked for, and judged by refusal() below rather than by OpenSSL, which refuses
    // Crossplane's own certificates (see mtls.ts).
    requestCert: true, rejectUnauthorized: false, handshakeTimeout: limits.handshakeTimeoutMs,
  }, (socket: TLSSocket) => {
    const reason = socket.authorized ? undefined : refusal(socket.getPeerCertificate(true)?.raw, tls.cas);
    if (reason) {
      log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason }, 'refused a TLS connection');
      socket.destroy();
      return;
    }
    admitIdle(socket);
  });
  server.on('connection', track);
  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.message }, 'refused a TLS handshake');
    socket.destroy(); // a handshake that timed out is not closed otherwise
  });
  return { server, sockets };
}

/**
 * The kind label of every metric: a kind aerogrid composes, or `other`. The request names the
 * kind, and a label value per name would be a new series per name, for as long as the process lives.
 */
const METRIC_KINDS = new Set(COMPOSED_KINDS);
const EVENT_LOOP_SAMPLE_MS = 100;
const metricKind = (kind: string) => (METRIC_KINDS.has(kind) ? kind : 'other');

function metricsFor(registry: Registry) {
  let counted = 0;
  // The event loop lag is sampled every 100 ms, not prom-client's default 10 ms: that timer alone
  // kept an idle process at 1.1% of a core, against 0.1% without it (20 s of /proc ticks each),
  // which is most of what the function costs in a quiet cluster (bench/RESULTS.md, scale).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return {
    memoryCollections: new Counter({
      name: 'aerogrid_function_memory_collections_total',
      help: 'Full collections asked of V8 because RSS was over --memory-target.',
      registers: [registry],
      collect() {
        this.inc(forcedCollections() - counted);
        counted = forcedCollections();
      },
    }),
    requests: new Counter({ name: 'aerogrid_function_requests_total', help: 'RunFunction calls, by XR kind (other: one aerogrid does not compose) and API version.', labelNames: ['kind', 'api'], registers: [registry] }),
    results: new Counter({ name: 'aerogrid_function_results_total', help: 'RunFunction outcomes, by XR kind and the most severe result.', labelNames: ['kind', 'severity'], registers: [registry] }),
    latency: new Histogram({
      name: 'aerogrid_function_request_duration_seconds',
      help: 'RunFunction calls, from the request\'s bytes received to the response encoded and handed to HTTP/2 (decoding, validation, rendering, encoding), by XR kind.',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      registers: [registry],
    }),
    render: new Histogram({
      name: 'aerogrid_function_render_duration_seconds',
      help: 'The rendering step of RunFunction alone (validation and composition, no decoding or encoding), by XR kind.',
      labelNames: ['kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
      registers: [registry],
    }),
    // What a call costs grows with what Crossplane sends: every observed and required object, whole.
    requestBytes: new Counter({ name: 'aerogrid_function_request_bytes_total', help: 'Bytes of the RunFunction requests received, by XR kind.', labelNames: ['kind'], registers: [registry] }),
    responseBytes: new Counter({ name: 'aerogrid_function_response_bytes_total', help: 'Bytes of the RunFunction responses encoded, by XR kind.', labelNames: ['kind'], registers: [registry] }),
    sendFailures: new Counter({
      name: 'aerogrid_function_send_failures_total',
      help: 'Responses that could not be sent, by XR kind and reason (too_large: over --max-send-message-size).',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
  };
}

export async function startServer(opts: ServerOptions, log: Logger = pino({ level: opts.debug ? 'debug' : 'info' })): Promise<RunningServer> {
  const tls = serverTls(opts);
  const registry = new Registry();
  const metrics = metricsFor(registry);

  const handler = (api: string) => (call: grpc.ServerUnaryCall<RunFunctionRequest | Undecodable, Sent>, callback: grpc.sendUnaryData<Sent>) => {
    const started = process.hrtime.bigint();
    const req = call.request;
    let outcome;
    try {
      outcome = 'undecodable' in req
        ? { response: fatalResponse({ meta: req.meta } as RunFunctionRequest, undecodableMessage(req.undecodable)), kind: 'unknown', xr: 'request', severity: 'Fatal' as const }
        : runFunction(req);
    } catch (err) {
      // runFunction turns every error into FATAL; this is the last line of defence.
      outcome = { response: fatalResponse(req as RunFunctionRequest, `internal error: ${(err as Error).message}`), kind: 'unknown', xr: 'request', severity: 'Fatal' as const };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const kind = metricKind(outcome.kind);
    metrics.requests.inc({ kind, api });
    metrics.requestBytes.inc({ kind }, receivedAt.get(req)?.bytes ?? 0);
    metrics.results.inc({ kind, severity: outcome.severity });
    metrics.render.observe({ kind }, seconds);
    const fields = { xr: outcome.xr, kind: outcome.kind, api, tag: req.meta?.tag, severity: outcome.severity, ms: Math.round(seconds * 1e6) / 1e3 };
    if (outcome.severity === 'Fatal') log.warn({ ...fields, message: outcome.response.results[0]?.message }, 'rendered with a fatal result');
    else log.info(fields, 'rendered');
    callback(null, { response: outcome.response, received: receivedAt.get(req)?.at ?? started, kind, xr: outcome.xr });
  };

  // Encodes a response and closes its timing; grpc-js refuses one over the send limit after
  // this returns (RESOURCE_EXHAUSTED to the client), so that is counted and logged here.
  const serialize = (sent: Sent): Buffer => {
    const bytes = encodeResponse(sent.response);
    metrics.responseBytes.inc({ kind: sent.kind }, bytes.length);
    if (bytes.length > opts.maxSendMessageSize) {
      metrics.sendFailures.inc({ kind: sent.kind, reason: 'too_large' });
      log.error({ xr: sent.xr, kind: sent.kind, bytes: bytes.length, maxSendMessageSize: opts.maxSendMessageSize },
        'response not sent: larger than --max-send-message-size; raise it, or compose less for this XR');
    }
    metrics.latency.observe({ kind: sent.kind }, Number(process.hrtime.bigint() - sent.received) / 1e9);
    return bytes;
  };
  const services = definitions(serialize);

  const limits = opts.limits ?? DEFAULT_LIMITS;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxRecvMessageSize,
    'grpc.max_send_message_length': opts.maxSendMessageSize,
    // Idle and old connections are closed (an old one after a GOAWAY and a grace period for its
    // calls); a silent peer is pinged and dropped when it does not answer. grpc-js enforces no
    // minimum ping interval from clients; Node's HTTP/2 (nghttp2) drops a session that floods.
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    // Channelz keeps per-call statistics for a debugging service this server does not offer;
    // it cost about 3% of a call's CPU.
    'grpc.enable_channelz': 0,
  });
  server.addService(services.v1, { runFunction: handler('v1') });
  server.addService(services.v1beta1, { runFunction: handler('v1beta1') });
  const health = new HealthImplementation({ '': 'SERVING', [V1_SERVICE]: 'SERVING', [V1BETA1_SERVICE]: 'SERVING' });
  health.addToServer(server);

  // The connection is already TLS (or plain with --insecure): grpc-js speaks HTTP/2 on it.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const { server: listening, sockets } = listener(tls, (socket) => injector.injectConnection(socket), log, limits);
  const grpcPort = await listen(listening, opts.address, 'listen');

  const metricsServer = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(body);
      }, (err) => {
        res.writeHead(500);
        res.end(String(err));
      });
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else {
      res.writeHead(404).end();
    }
  });
  const metricsPort = await listen(metricsServer, opts.metricsAddress, 'serve metrics').catch((err) => {
    listening.close();
    server.forceShutdown();
    throw err;
  });
  log.info({ address: opts.address, grpcPort, metricsPort, tls: !opts.insecure, clientCertificates: opts.insecure ? 'none' : 'required' }, 'serving');

  // SIGTERM: no new connection (the listener closes) and no new call (GOAWAY on every
  // session); calls in flight finish. At --drain-timeout whatever is left is cut off, every
  // socket this server accepted is destroyed, and the metrics server closes, so shutdown
  // always ends by then whatever the clients do.
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= new Promise<void>((resolve) => {
      health.setStatus('', 'NOT_SERVING');
      listening.close();
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        metricsServer.close(() => resolve());
        metricsServer.closeAllConnections();
      };
      timer = setTimeout(() => {
        log.warn({ timeoutMs: opts.drainTimeoutMs, connections: sockets.size }, 'drain timed out; closing remaining calls');
        injector.destroy();
        server.forceShutdown();
        for (const socket of sockets) socket.destroy();
        finish();
      }, opts.drainTimeoutMs);
      server.tryShutdown(finish);
    });
    return stopping;
  };
  return { grpcPort, metricsPort, shutdown };
}

function listen(server: HttpServer | NetServer, address: string, what: string): Promise<number> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new StartupError(`cannot ${what} on ${address}: ${err.message}`)));
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new StartupError(`invalid address ${address}: want host:port`);
  return { host, port };
}
