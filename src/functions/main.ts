// aerogrid-function: the composition function's entry point.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { StartupError, startServer, type ServerOptions } from './server.js';

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const flag = (v: string | undefined) => v === 'true' || v === '1';
  const positive = (name: string, raw: string) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new StartupError(`--${name} must be a positive number, got ${raw}`);
    return n;
  };
  return {
    address: values.address ?? env.FUNCTION_ADDRESS ?? '0.0.0.0:9443',
    tlsCertsDir: values['tls-certs-dir'] ?? env.TLS_SERVER_CERTS_DIR,
    insecure: values.insecure ?? flag(env.FUNCTION_INSECURE),
    debug: values.debug ?? flag(env.FUNCTION_DEBUG),
    maxRecvMessageSize: positive('max-recv-message-size', values['max-recv-message-size'] ?? env.FUNCTION_MAX_RECV_MESSAGE_SIZE ?? '16') * MiB,
    maxSendMessageSize: positive('max-send-message-size', values['max-send-message-size'] ?? env.FUNCTION_MAX_SEND_MESSAGE_SIZE ?? '16') * MiB,
    metricsAddress: values['metrics-address'] ?? env.FUNCTION_METRICS_ADDRESS ?? '0.0.0.0:9102',
    drainTimeoutMs: positive('drain-timeout', values['drain-timeout'] ?? env.FUNCTION_DRAIN_TIMEOUT ?? '30') * 1000,
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
