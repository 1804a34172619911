// `aerogrid-console`: the web console's own entry point (bin/aerogrid-console.js). People sign in
// with the company's identity provider (OIDC) and work on their Apps in the browser; the console
// passes each person's ID token to kube-apiserver and holds no credential of its own.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { VERSION } from '../meta.js';
import { DURATION_HINT, parseDuration } from '../present/duration.js';
import { startConsole } from './server.js';

/** Exit codes, as the CLI's: 2 for a mistake in how the console was started. */
const USAGE = 2;

class UsageError extends Error {}

const duration = (value: string) => {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(DURATION_HINT);
  return ms;
};

/** Where kube-apiserver is, and its CA: from the flags, or the kubeconfig's cluster (never its credentials). */
function kubeApiserver(opts: { kubeServer?: string; kubeCa?: string; kubeconfig?: string; context?: string }): { server: string; ca?: string } {
  const ca = opts.kubeCa ? readFileSync(opts.kubeCa, 'utf8') : undefined;
  if (opts.kubeServer) return { server: opts.kubeServer, ca };
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context) kc.setCurrentContext(opts.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError('no cluster in the kubeconfig: give --kube-server (and --kube-ca), or --kubeconfig');
  return {
    server: cluster.server,
    ca: ca ?? (cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined),
  };
}

const program = new Command('aerogrid-console')
  .description("serve the web console: people sign in with the company's identity provider (OIDC) and work on their Apps in the browser")
  .version(VERSION)
  .exitOverride()
  .option('--address <host:port>', 'where to listen', '127.0.0.1:8090')
  .option('--public-url <url>', 'the URL people open (default: http://<address>); the identity provider must allow <url>/auth/callback')
  .requiredOption('--issuer <url>', 'the OIDC issuer, e.g. https://acme.eu.auth0.com/ (kube-apiserver must trust its ID tokens)')
  .option('--client-id <id>', 'the console\'s OIDC client ID (the audience kube-apiserver expects)', 'aerogrid-console')
  .option('--issuer-ca <file>', "the CA of the issuer's certificate, when it is not a public one")
  .option('--kube-server <url>', "kube-apiserver's URL (default: the kubeconfig context's cluster)")
  .option('--kube-ca <file>', "kube-apiserver's CA (default: the kubeconfig context's)")
  .option('--kubeconfig <file>', 'where to find kube-apiserver when --kube-server is not given (default: $KUBECONFIG, then ~/.kube/config)')
  .option('--context <name>', 'the kubeconfig context to read')
  .option('--tls-cert <file>', 'serve HTTPS with this certificate (with --tls-key)')
  .option('--tls-key <file>', 'the key of --tls-cert')
  .option('--scope <scopes>', 'the OIDC scopes the console asks for', 'openid email profile groups')
  .option('--groups-claim <claim>', "the ID token claim with the person's groups (the one kube-apiserver maps)", 'https://aerogrid.io/groups')
  .option('--idle-timeout <duration>', 'a session ends after this long without a request', duration, 30 * 60_000)
  .option('--max-session <duration>', 'a session ends after this long in any case, or when its ID token expires', duration, 12 * 3_600_000)
  .action(async (opts) => {
    const secret = process.env.AEROGRID_CONSOLE_CLIENT_SECRET;
    if (!secret) throw new UsageError('set AEROGRID_CONSOLE_CLIENT_SECRET to the console\'s OIDC client secret (kept out of the command line)');
    if (!!opts.tlsCert !== !!opts.tlsKey) throw new UsageError('give both --tls-cert and --tls-key, or neither');
    const kube = kubeApiserver(opts);
    const running = await startConsole({
      address: opts.address, publicUrl: opts.publicUrl, issuer: opts.issuer, clientId: opts.clientId, clientSecret: secret,
      issuerCa: opts.issuerCa ? readFileSync(opts.issuerCa, 'utf8') : undefined, kubeServer: kube.server, kubeCa: kube.ca,
      tls: opts.tlsCert ? { cert: readFileSync(opts.tlsCert, 'utf8'), key: readFileSync(opts.tlsKey, 'utf8') } : undefined,
      scope: opts.scope, groupsClaim: opts.groupsClaim, idleTimeoutMs: opts.idleTimeout, maxSessionMs: opts.maxSession,
      log: (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`),
    });
    process.stdout.write(`console at ${running.url} (Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await running.stop();
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : USAGE;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? USAGE : 1;
  }
}
