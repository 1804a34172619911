// aerogrid-function: the composition function's entry point.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_CACHE_BYTES, setCacheBudget } from '../api/memo.js';
import { guardMemory } from './protocol/memory.js';
import { StartupError, startServer, type ServerOptions } from './protocol/server.js';

const MiB = 1024 * 1024;

const HELP = `Usage: aerogrid-function [flags]

Serves Crossplane's FunctionRunnerService (v1 and v1beta1) for aerogrid Tenants and Apps.

Flags (each has an environment twin):
  --address ADDR                 gRPC address (FUNCTION_ADDRESS, default 0.0.0.0:9443)
  --tls-certs-dir DIR            tls.crt, tls.key and ca.crt; client certificates are required
                                 (TLS_SERVER_CERTS_DIR)
  --insecure                     serve plaintext, for local development only (FUNCTION_INSECURE)
  --debug                        debug logs (FUNCTION_DEBUG)
  --max-recv-message-size MIB    largest request (FUNCTION_MAX_RECV_MESSAGE_SIZE, default 16)
  --max-send-message-size MIB    largest response (FUNCTION_MAX_SEND_MESSAGE_SIZE, default 16)
  --metrics-address ADDR         Prometheus /metrics (FUNCTION_METRICS_ADDRESS, default 0.0.0.0:9102)
  --drain-timeout SECONDS        SIGTERM waits this long for in-flight calls (FUNCTION_DRAIN_TIMEOUT, default 30)
  --cache-size MIB               what all the caches may hold together: decoded objects, validated
                                 specs, composed objects and their encoded bytes, each within its
                                 share (FUNCTION_CACHE_SIZE, default 64)
  --memory-target MIB            over this RSS, ask V8 for a full collection (at most every 250 ms,
                                 backing off while it does not help) (FUNCTION_MEMORY_TARGET,
                                 default the cache size + 112)

Connection limits (the server's; a client cannot lift them):
  --max-connection-idle SECONDS  close a connection with no call for this long
                                 (FUNCTION_MAX_CONNECTION_IDLE, default 300)
  --max-connection-age SECONDS   ask a client to reconnect after this long, so load spreads over
                                 new replicas (FUNCTION_MAX_CONNECTION_AGE, default 300)
  --max-connection-age-grace SECONDS
                                 then give its calls this long before closing
                                 (FUNCTION_MAX_CONNECTION_AGE_GRACE, default 60)
  --keepalive-time SECONDS       ping a connection with no traffic this often
                                 (FUNCTION_KEEPALIVE_TIME, default 120)
  --keepalive-timeout SECONDS    and close it when the ping is not answered in this long
                                 (FUNCTION_KEEPALIVE_TIMEOUT, default 20)
  --max-concurrent-streams N     calls in flight on one connection (FUNCTION_MAX_CONCURRENT_STREAMS,
                                 default 256)
  --handshake-timeout SECONDS    a TLS handshake must finish in this long
                                 (FUNCTION_HANDSHAKE_TIMEOUT, default 10)
  -h, --help                     this text
`;

function optionsFrom(argv: string[], env: NodeJS.ProcessEnv): ServerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      address: { type: 'string' },
      'tls-certs-dir': { type: 'string' },
      insecure: { type: 'boolean' },
      debug: { type: 'boolean' },
      'max-recv-message-size': { type: 'string' },
      'max-send-message-size': { type: 'string' },
      'metrics-address': { type: 'string' },
      'drain-timeout': { type: 'string' },
      'cache-size': { type: 'string' },
      'memory-target': { type: 'string' },
      'max-connection-idle': { type: 'string' },
      'max-connection-age': { type: 'string' },
      'max-connection-age-grace': { type: 'string' },
      'keepalive-time': { type: 'string' },
      'keepalive-timeout': { type: 'string' },
      'max-concurrent-streams': { type: 'string' },
      'handshake-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const flag = (v: string | undefined) => v === 'true' || v === '1';
  /** A positive number from --NAME, else its environment twin FUNCTION_NAME, else the fallback. */
  const number = (name: keyof typeof values, fallback: number) => {
    const raw = (values[name] as string | undefined) ?? env[`FUNCTION_${name.toUpperCase().replaceAll('-', '_')}`] ?? String(fallback);
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new StartupError(`--${name} must be a positive number, got ${raw}`);
    return n;
  };
  const cacheMiB = number('cache-size', 64);
  return {
    address: values.address ?? env.FUNCTION_ADDRESS ?? '0.0.0.0:9443',
    tlsCertsDir: values['tls-certs-dir'] ?? env.TLS_SERVER_CERTS_DIR,
    insecure: values.insecure ?? flag(env.FUNCTION_INSECURE),
    debug: values.debug ?? flag(env.FUNCTION_DEBUG),
    maxRecvMessageSize: number('max-recv-message-size', 16) * MiB,
    maxSendMessageSize: number('max-send-message-size', 16) * MiB,
    metricsAddress: values['metrics-address'] ?? env.FUNCTION_METRICS_ADDRESS ?? '0.0.0.0:9102',
    drainTimeoutMs: number('drain-timeout', 30) * 1000,
    cacheBytes: cacheMiB * MiB,
    memoryTargetBytes: number('memory-target', cacheMiB + 112) * MiB,
    limits: {
      maxConnectionIdleMs: number('max-connection-idle', 300) * 1000,
      maxConnectionAgeMs: number('max-connection-age', 300) * 1000,
      maxConnectionAgeGraceMs: number('max-connection-age-grace', 60) * 1000,
      keepaliveTimeMs: number('keepalive-time', 120) * 1000,
      keepaliveTimeoutMs: number('keepalive-timeout', 20) * 1000,
      maxConcurrentStreams: Math.floor(number('max-concurrent-streams', 256)),
      handshakeTimeoutMs: number('handshake-timeout', 10) * 1000,
    },
  };
}

async function main(): Promise<void> {
  let opts: ServerOptions | 'help';
  try {
    opts = optionsFrom(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`aerogrid-function: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(HELP);
    return;
  }
  // Logs go out asynchronously, in writes of at least 4 KiB and at least every 250 ms: a
  // write per call cost about 7% of a call's CPU. What is buffered is flushed before the
  // process exits; past 16 MiB unwritten (stdout not read), lines are dropped rather than
  // calls blocked.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250, maxLength: 16 << 20 });
  destination.on('error', () => {}); // stdout gone (EPIPE): logs are lost, calls are still answered
  const log = pino({ level: opts.debug ? 'debug' : 'info', base: { component: 'aerogrid-function' } }, destination);
  const exit = (code: number) => {
    try {
      destination.flushSync();
    } catch {
      // Nowhere left to write to.
    }
    process.exit(code);
  };
  try {
    setCacheBudget(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    if (opts.memoryTargetBytes) guardMemory(opts.memoryTargetBytes);
    const server = await startServer(opts, log);
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        log.info({ signal }, 'draining in-flight calls');
        server.shutdown().then(() => {
          log.info('stopped');
          exit(0);
        });
      });
    }
  } catch (err) {
    const message = err instanceof StartupError ? err.message : `cannot start: ${(err as Error).message}`;
    log.error({ err: message }, 'startup failed');
    process.stderr.write(`aerogrid-function: ${message}\n`);
    exit(1);
  }
}

await main();
