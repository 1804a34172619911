// aerogrid: the developer's CLI. Push a folder, watch it build and go live, get the URL.
// The App in the cluster is the single source of truth: the CLI only reads and applies it,
// so the CLI and GitOps never disagree about what an app is.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT } from './errors.js';
import { OUTPUTS, formatList, formatStatus, parseOutput } from './format.js';
import { init } from './init.js';
import { ManifestError, appManifest, appName } from './manifest.js';
import { Progress, short } from './progress.js';
import { DEFAULT_PLATFORM, formatRendered, platformInput, readDocuments, render } from './render.js';
import { SourceError, readSource } from './source.js';

type Obj = Record<string, any>;

const out = (s: string) => process.stdout.write(`${s}\n`);

/** The cluster layer loads @kubernetes/client-node; commands that need no cluster never load it. */
async function cluster(cmd: Command) {
  const { Cluster } = await import('./kube.js');
  const g = cmd.optsWithGlobals();
  return new Cluster({ kubeconfig: g.kubeconfig, context: g.context, namespace: g.namespace });
}

function duration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!m) throw new CliError(`--timeout ${value}: use a duration such as 90s, 10m or 1h`, EXIT.usage);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

const program = new Command('aerogrid')
  .description('Push a folder of source files, watch it build and go live behind Auth0, get the URL.')
  .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context to use')
  .option('-n, --namespace <namespace>', "your tenant's namespace (default: the context's namespace)")
  .showHelpAfterError()
  .exitOverride();

program
  .command('push')
  .description('create or update an App from a folder; with --wait, follow it to Ready')
  .argument('[dir]', 'the folder that holds app.py', '.')
  .option('--name <name>', 'App name (default: the folder name)')
  .addOption(new Option('--runtime <runtime>', 'language runtime (default: python3.12)'))
  .option('--public', 'serve without requiring a JWT (default: an Auth0 token from an allowed group is required)')
  .option('--wait', 'follow the build and rollout until the App is Ready (exit 0) or Failed (exit 1)')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 3)', '10m')
  .option('--force', 'take over fields another manager (say, Argo CD) owns')
  .action(async (dir: string, opts, cmd: Command) => {
    // Everything local is checked before the cluster is touched.
    const source = readSource(dir);
    const name = appName(dir, opts.name);
    const manifest = appManifest(name, source.files, { runtime: opts.runtime, public: opts.public });
    const timeout = duration(opts.timeout);
    const c = await cluster(cmd);
    manifest.metadata.namespace = c.namespace;
    const bytes = source.files.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
    const before = await c.getApp(name);
    out(`${before ? 'updating' : 'creating'} App ${name} in namespace ${c.namespace}: ${source.files.length} file(s), ${bytes} bytes`);
    const since = new Date();
    const applied = await c.apply(manifest, !!opts.force);
    const sameSource = !!before && JSON.stringify(before.spec?.files) === JSON.stringify(applied.spec?.files) && before.spec?.runtime === applied.spec?.runtime;
    if (before && applied.metadata.generation === before.metadata?.generation) {
      out(`nothing changed since the last push (source ${short(before.status?.sourceDigest, 'no digest yet')}): no build`);
    } else if (sameSource) {
      out(`source unchanged (${short(before!.status?.sourceDigest, 'no digest yet')}): no build; applying the other changes`);
    }
    if (!opts.wait) {
      out(`applied. Follow it with: aerogrid status ${name}${c.namespace ? ` -n ${c.namespace}` : ''} (or push with --wait)`);
      return;
    }
    const progress = new Progress(applied.metadata.generation, since, (line) => out(`  ${line}`));
    let verdict = progress.see(applied);
    if (!verdict.done) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeout);
      try {
        await c.watchApp(name, applied.metadata.resourceVersion, (app) => (verdict = progress.see(app)).done, abort.signal);
      } finally {
        clearTimeout(timer);
      }
      if (!verdict.done) throw new CliError(`timed out after ${opts.timeout} waiting for App ${name} to be Ready; it goes on in the cluster: aerogrid status ${name}`, EXIT.timeout);
    }
    if (verdict.done && !verdict.ok) throw new CliError(`App ${name} is not Ready: ${verdict.reason}`, EXIT.failed);
    if (verdict.done && verdict.ok) out(`App ${name} is Ready: ${verdict.url}`);
  });

program
  .command('list')
  .description('list the Apps in the namespace')
  .option('-A, --all-namespaces', 'list the Apps of every namespace you can read')
  .addOption(new Option('-o, --output <format>', 'json or yaml').choices(OUTPUTS.filter((o) => o !== 'table')))
  .action(async (opts, cmd: Command) => {
    const c = await cluster(cmd);
    out(formatList(await c.listApps(!!opts.allNamespaces), parseOutput(opts.output ?? 'table'), new Date(), !!opts.allNamespaces));
  });

program
  .command('status')
  .description("show an App: phase, URL, image, build and conditions")
  .argument('<name>', 'App name')
  .addOption(new Option('-o, --output <format>', 'json or yaml').choices(OUTPUTS.filter((o) => o !== 'table')))
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    out(formatStatus(await c.mustGetApp(name), parseOutput(opts.output ?? 'table'), new Date()));
  });

program
  .command('delete')
  .description('delete an App; the platform removes its Deployment, Service, routes and policies')
  .argument('<name>', 'App name')
  .action(async (name: string, _opts, cmd: Command) => {
    const c = await cluster(cmd);
    await c.deleteApp(name);
    out(`App ${name} deleted from namespace ${c.namespace}`);
  });

program
  .command('logs')
  .description("print the logs of an App's pods, or of its build with --build")
  .argument('<name>', 'App name')
  .option('--build', 'the Kaniko build Job of the current source instead of the app')
  .option('-f, --follow', 'keep streaming')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app: Obj = await c.mustGetApp(name);
    const job: string | undefined = app.status?.build?.job;
    if (opts.build && !job) throw new CliError(`App ${name} has no build: ${app.spec?.image ? `it runs the image ${app.spec.image}` : 'the platform has not started one yet'}`);
    const selector = opts.build ? `batch.kubernetes.io/job-name=${job}` : `platform.aerogrid.io/app=${name},app.kubernetes.io/name=${name}`;
    const container = opts.build ? 'kaniko' : 'app';
    const pods = await c.pods(selector);
    if (pods.length === 0) {
      throw new CliError(opts.build
        ? `no pods for build Job ${job} of App ${name} (build ${app.status?.build?.phase ?? 'not started'}); a finished build's Job is let go once the image serves`
        : `App ${name} has no pods yet (phase ${app.status?.phase ?? 'Pending'}${app.status?.message ? `: ${app.status.message}` : ''})`);
    }
    for (const pod of pods) {
      if (pods.length > 1) out(`==> ${pod.metadata.name} <==`);
      await c.logs(pod.metadata.name, container, process.stdout, !!opts.follow && pods.length === 1);
    }
  });

program
  .command('init')
  .description('scaffold a minimal app.py and requirements.txt that serve on port 8080')
  .argument('[dir]', 'where to write them', '.')
  .action((dir: string) => {
    const written = init(dir);
    out(`wrote ${written.join(', ')} in ${resolve(dir)}\nnext: aerogrid push ${dir === '.' ? '' : `${dir} `}--wait -n <your tenant namespace>`.replace('  ', ' '));
  });

program
  .command('render')
  .description('render Tenant and App YAML through the function, locally, with no cluster; prints the composed resources')
  .argument('<files...>', 'YAML files holding Tenants and Apps')
  .option('--platform <file>', "the platform's settings (platform.yaml)", DEFAULT_PLATFORM)
  .addOption(new Option('-o, --output <format>', 'yaml or json').choices(['yaml', 'json']).default('yaml'))
  .action((files: string[], opts) => {
    const results = render(readDocuments(files), platformInput(opts.platform));
    for (const r of results) {
      for (const w of r.warnings) process.stderr.write(`warning: ${r.xr}: ${w}\n`);
      if (r.fatal) process.stderr.write(`error: ${r.fatal}\n`);
    }
    out(formatRendered(results, opts.output));
    if (results.some((r) => r.fatal)) process.exitCode = EXIT.failed;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof ManifestError) {
    for (const p of err.problems) process.stderr.write(`error: ${p}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof SourceError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}${process.env.AEROGRID_DEBUG ? `\n${(err as Error).stack}` : ' (set AEROGRID_DEBUG=1 for details)'}\n`);
    process.exitCode = EXIT.failed;
  }
}
