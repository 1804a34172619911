// aerogrid: the developer's CLI. Push a folder, watch it build and go live, get the URL; then
// live with it: environment, scale, rebuilds, releases and rollback.
// The App in the cluster is the single source of truth: the CLI only reads it and applies the
// fields each command owns (one field manager per command), so the CLI, the console and GitOps
// can share an App without fighting.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { REBUILD_MAX } from '../api/app.js';
import { ownedBy, ownersOf } from '../client/fields.js';
import type { App } from '../client/index.js';
import { completion, SHELLS } from './completion.js';
import { CliError, EXIT } from './errors.js';
import { OUTPUTS, formatEnv, formatList, formatReleases, formatStatus, parseOutput } from './format.js';
import { init } from './init.js';
import { API_VERSION, ManifestError, appManifest, appName, parseCommand, type PushOptions } from './manifest.js';
import { VERSION } from '../meta.js';
import { DURATION_HINT, parseDuration } from '../present/duration.js';
import { Progress, short } from '../present/progress.js';
import { DEFAULT_PLATFORM, formatRendered, platformInput, readDocuments, render } from './render.js';
import { SourceError, readSource } from './source.js';
import { envChange, scaleChange } from './settings.js';
import { Spinner, colourful, paint } from './term.js';
import type { Cluster } from './kube.js';

type Obj = Record<string, any>;

const out = (s: string) => process.stdout.write(`${s}\n`);
const colour = paint(colourful());
const errColour = paint(colourful(process.stderr));
const warn = (s: string) => process.stderr.write(`${errColour.yellow(s)}\n`);

/** The cluster layer loads @kubernetes/client-node; commands that need no cluster never load it. */
async function cluster(cmd: Command): Promise<Cluster> {
  const { Cluster } = await import('./kube.js');
  const g = cmd.optsWithGlobals();
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  const flags = [
    g.namespace ? ` -n ${quote(g.namespace)}` : '',
    g.context ? ` --context ${quote(g.context)}` : '',
    g.kubeconfig ? ` --kubeconfig ${quote(g.kubeconfig)}` : '',
  ].join('');
  const timeout = duration(g.requestTimeout, '--request-timeout');
  return new Cluster({ kubeconfig: g.kubeconfig, context: g.context, namespace: g.namespace, requestTimeoutMs: timeout === 0 ? 2 ** 31 - 1 : timeout, flags });
}

function duration(value: string, flag = '--timeout'): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new CliError(`${flag} ${value}: ${DURATION_HINT}`, EXIT.usage);
  return ms;
}

function integer(flag: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new CliError(`${flag} ${value}: give a whole number`, EXIT.usage);
    return Number(value);
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** -o json|yaml, as list, status, releases and env list take it (a table without it). */
const outputOption = () => new Option('-o, --output <format>', 'json or yaml').choices(OUTPUTS.filter((o) => o !== 'table'));

/**
 * Follows an App after a change to generation `generation` until Ready (exit 0), Failed or
 * refused (exit 1), or the timeout (exit 3). A spinner shows it is alive, on a terminal only.
 */
async function follow(c: Cluster, name: string, applied: App, since: Date, timeout: string): Promise<void> {
  const spinner = new Spinner();
  const progress = new Progress(applied.metadata.generation ?? 0, since, (line) => {
    spinner.clear();
    out(`  ${line}`);
  });
  let verdict = progress.see(applied);
  if (!verdict.done) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), duration(timeout));
    spinner.start(`waiting for App ${name}`);
    try {
      await c.watchApp(name, applied.metadata.resourceVersion, (app) => (verdict = progress.see(app)).done, abort.signal);
    } finally {
      clearTimeout(timer);
      spinner.stop();
    }
    if (!verdict.done) throw new CliError(`timed out after ${timeout} waiting for App ${name} to be Ready; it goes on in the cluster: ${c.hint(`status ${name}`)}`, EXIT.timeout);
  }
  if (!verdict.ok) throw new CliError(`App ${name} is not Ready: ${verdict.reason}`, EXIT.failed);
  out(colour.green(`App ${name} is Ready: ${verdict.url}`));
}

const program = new Command('aerogrid')
  .description('Push a folder of source files, watch it build and go live behind Auth0, get the URL.')
  .version(VERSION, '--version', 'print the version of aerogrid')
  .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context to use')
  .option('-n, --namespace <namespace>', "your tenant's namespace (default: the context's namespace)")
  .option('--request-timeout <duration>', 'give up on any request to the cluster after this long (0: never)', '30s')
  .showHelpAfterError()
  .exitOverride();

program
  .command('push')
  .description('create or update an App from a folder (or an image); with --wait, follow it to Ready')
  .argument('[dir]', 'the folder that holds app.py', '.')
  .option('--name <name>', 'App name (default: the folder name)')
  .addOption(new Option('--runtime <runtime>', "language runtime, one the platform offers (default: the platform's; kept until changed)"))
  .option('--public', 'serve without requiring a JWT (kept until --no-public)')
  .option('--no-public', 'require an Auth0 token from an allowed group again (the default)')
  .option('--image <ref>', 'run this prebuilt image instead of building a folder (the folder is not read)')
  .option('--command <command>', 'how the app starts, e.g. "gunicorn -b 0.0.0.0:8080 app:app" or a JSON array (kept until changed)')
  .option('--port <port>', 'the port the app listens on (default 8080; kept until changed)', integer('--port'))
  .option('--health-path <path>', 'HTTP path for the readiness and liveness probes (kept until changed)')
  .option('--rebuild', 'build the source again even if it was built (after a flaky failure, say)')
  .option('--wait', 'follow the build and rollout until the App is Ready (exit 0) or Failed (exit 1)')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 3)', '10m')
  .option('--force', 'take over fields another manager (say, Argo CD) owns')
  .action(async (dir: string, opts, cmd: Command) => {
    // Everything local is checked before the cluster is touched.
    if (opts.rebuild && opts.image) throw new CliError('--rebuild builds the folder again; with --image there is nothing to build', EXIT.usage);
    const source = opts.image ? undefined : readSource(dir);
    const name = appName(dir, opts.name);
    const given: PushOptions = {
      runtime: opts.runtime,
      public: opts.public,
      image: opts.image,
      command: opts.command === undefined ? undefined : parseCommand(opts.command),
      port: opts.port,
      healthPath: opts.healthPath,
    };
    appManifest(name, source?.files, given);
    duration(opts.timeout);
    const c = await cluster(cmd);
    if (given.runtime !== undefined) await offered(c, given.runtime);
    const before = await c.getApp(name);
    if (before) guardGitOps(before, !!opts.force);
    // What this command set before and is not told now, it keeps: a field manager that stops
    // sending a field gives it up, and the App would fall back to the default behind your back.
    const mine = (...path: string[]) => ownedBy(before, 'aerogrid', ['spec', ...path]);
    const spec: Obj = before?.spec ?? {};
    const kept: PushOptions = {
      ...given,
      runtime: given.runtime ?? (mine('runtime') ? spec.runtime : undefined),
      public: given.public ?? (mine('access', 'public') ? spec.access?.public : undefined),
      command: given.command ?? (mine('command') ? spec.command : undefined),
      port: given.port ?? (mine('port') ? spec.port : undefined),
      healthPath: given.healthPath ?? (mine('healthPath') ? spec.healthPath : undefined),
    };
    const manifest = appManifest(name, source?.files, kept);
    const bytes = (source?.files ?? []).reduce((n, f) => n + Buffer.byteLength(f.content), 0);
    out(`${before ? 'updating' : 'creating'} App ${name} in namespace ${c.namespace}: ${source ? `${source.files.length} file(s), ${bytes} bytes` : `image ${opts.image}`}`);
    sayAccess(name, before, given.public);
    if (before && spec.image && !opts.image && mine('image')) out(`switching from the image ${spec.image} to building the folder`);
    if (before && spec.image && !opts.image && !mine('image')) warn(`warning: spec.image ${spec.image} is set by ${ownersOf(before, ['spec', 'image']).join(', ')}; the files are not built while it is set`);
    if (before && opts.image && mine('files')) out(`switching from building the folder to the image ${opts.image}`);

    const since = new Date();
    let applied = await c.apply(manifest as App, 'aerogrid', !!opts.force);
    if (applied.spec.rollback) {
      out(`leaving the rollback to revision ${applied.spec.rollback.revision}: back to ${opts.image ? 'the image' : 'building from source'}`);
      applied = await c.removeFields(name, { rollback: null }, 'aerogrid');
    }
    if (opts.rebuild) applied = await raiseRebuild(c, applied);
    const sameSource = !!before && JSON.stringify(before.spec?.files) === JSON.stringify(applied.spec?.files) && before.spec?.runtime === applied.spec?.runtime;
    if (before && applied.metadata.generation === before.metadata.generation) {
      out(`nothing changed since the last push (source ${short(before.status?.sourceDigest, 'no digest yet')}): no build`);
      if (before.status?.build?.phase === 'Failed') out(`the last build of this source failed; build it again with: ${c.hint(`rebuild ${name}`)}`);
    } else if (sameSource && !opts.rebuild) {
      out(`source unchanged (${short(before!.status?.sourceDigest, 'no digest yet')}): no build; applying the other changes`);
    }
    if (!opts.wait) {
      out(`applied. Follow it with: ${c.hint(`status ${name}`)} (or push with --wait)`);
      return;
    }
    await follow(c, name, applied, since, opts.timeout);
  });

/** The platform decides which runtimes exist: the tenant directory of the namespace lists them. */
async function offered(c: Cluster, runtime: string): Promise<void> {
  const dir = await c.client.tenantDirectory(c.namespace).catch(() => undefined);
  if (dir && dir.runtimes.length > 0 && !dir.runtimes.includes(runtime)) {
    throw new CliError(`--runtime ${runtime}: not a runtime this platform offers; use one of ${dir.runtimes.join(', ')}${dir.defaultRuntime ? ` (default ${dir.defaultRuntime})` : ''}`, EXIT.usage);
  }
}

/** Says loudly when a push changes who may call the App; access is kept between pushes otherwise. */
function sayAccess(name: string, before: App | undefined, wanted: boolean | undefined): void {
  if (wanted === undefined) return;
  const was = before?.spec?.access?.public === true;
  if (before && was === wanted) return;
  if (wanted) warn(`ACCESS: App ${name} ${before ? 'switches from jwt to public' : 'is public'}: anyone who can reach its URL can call it, with no token`);
  else if (before) warn(`ACCESS: App ${name} switches from public to jwt: callers now need a valid Auth0 token from an allowed group`);
}

/** Argo CD owns Apps it syncs from Git: a push would fight it (see docs/gitops.md). */
function guardGitOps(app: App, force: boolean): void {
  const tracked = app.metadata.annotations?.['argocd.argoproj.io/tracking-id'] ?? app.metadata.labels?.['app.kubernetes.io/instance'];
  if (!tracked || force) return;
  // The tracking id is <application>:<group>/<kind>:<namespace>/<name>; the label, the Application.
  const application = tracked.split(':')[0];
  throw new CliError(`App ${app.metadata.name} is managed by Argo CD Application ${application}: change it in Git, or push with --force and expect Argo CD to put Git's version back`);
}

async function raiseRebuild(c: Cluster, app: App): Promise<App> {
  const next = (app.spec.rebuild ?? 0) + 1;
  if (next > REBUILD_MAX) throw new CliError(`App ${app.metadata.name} has been rebuilt ${REBUILD_MAX} times; change the source instead`);
  out(`rebuilding the same source (spec.rebuild ${next}): a new build Job and image`);
  return c.apply({ apiVersion: API_VERSION, kind: 'App', metadata: { name: app.metadata.name }, spec: { rebuild: next } }, 'aerogrid-rebuild');
}

program
  .command('rebuild')
  .description('build the same source again, on purpose (after a flaky registry, say); nothing else changes')
  .argument('<name>', 'App name')
  .option('--wait', 'follow the build and rollout until Ready')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 3)', '10m')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    if (app.spec.image) throw new CliError(`App ${name} runs the image ${app.spec.image}: there is nothing to build`);
    if (app.spec.rollback) throw new CliError(`App ${name} is rolled back to revision ${app.spec.rollback.revision}; ${c.hint(`push DIR --name ${name} --rebuild`)} builds from source again`);
    const since = new Date();
    const applied = await raiseRebuild(c, app);
    if (!opts.wait) {
      out(`applied. Follow it with: ${c.hint(`status ${name}`)}`);
      return;
    }
    await follow(c, name, applied, since, opts.timeout);
  });

program
  .command('list')
  .description('list the Apps in the namespace')
  .option('-A, --all-namespaces', "list the Apps of every namespace you can read: your tenants' namespaces, or all of them for a cluster-wide reader")
  .addOption(outputOption())
  .action(async (opts, cmd: Command) => {
    const c = await cluster(cmd);
    if (!opts.allNamespaces) {
      out(formatList(await c.listApps(), parseOutput(opts.output ?? 'table'), new Date(), false));
      return;
    }
    const all = await c.listAppsEverywhere();
    if (all.scope === 'tenants' && !opts.output) process.stderr.write(`(your tenants' namespaces: ${all.namespaces.join(', ')})\n`);
    for (const ns of all.unreadable) warn(`warning: you may not list Apps in namespace ${ns}; left out`);
    out(formatList(all.apps, parseOutput(opts.output ?? 'table'), new Date(), true));
  });

program
  .command('status')
  .description('show an App: phase, URL, revision, image, build, configuration and conditions')
  .argument('<name>', 'App name')
  .addOption(outputOption())
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    out(formatStatus(await c.mustGetApp(name), parseOutput(opts.output ?? 'table'), new Date()));
  });

program
  .command('releases')
  .description('the images that reached Ready, newest last; * marks the one serving')
  .argument('<name>', 'App name')
  .addOption(outputOption())
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    out(formatReleases(await c.mustGetApp(name), parseOutput(opts.output ?? 'table'), new Date()));
  });

program
  .command('rollback')
  .description('serve an earlier release again, without a build (default: the one before the current); a later push builds from source again')
  .argument('<name>', 'App name')
  .argument('[revision]', 'the release to go back to (see aerogrid releases)', integer('revision'))
  .option('--cancel', 'stop serving the pinned release: back to the App\'s source (or image), as a push does, for an App that Git manages')
  .option('--wait', 'follow the rollout until Ready')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 3)', '10m')
  .action(async (name: string, revision: number | undefined, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    if (opts.cancel) {
      if (revision !== undefined) throw new CliError('--cancel takes no revision', EXIT.usage);
      if (!app.spec.rollback) throw new CliError(`App ${name} is not rolled back`);
      out(`leaving the rollback to revision ${app.spec.rollback.revision}: back to ${app.spec.image ? 'the image' : 'the source'}`);
      const since = new Date();
      const applied = await c.removeFields(name, { rollback: null }, 'aerogrid-rollback');
      if (opts.wait) await follow(c, name, applied, since, opts.timeout);
      return;
    }
    if (app.spec.image) throw new CliError(`App ${name} runs the image ${app.spec.image} it was given; change it with ${c.hint(`push --name ${name} --image REF`)}`);
    const releases = app.status?.releases ?? [];
    const current = app.status?.revision;
    const target = revision !== undefined
      ? releases.find((r) => r.revision === revision)
      : [...releases].reverse().find((r) => current === undefined || r.revision < current);
    if (!target) {
      const known = releases.map((r) => r.revision).join(', ');
      throw new CliError(revision !== undefined
        ? `App ${name} has no release ${revision} (it has: ${known || 'none yet'}); see ${c.hint(`releases ${name}`)}`
        : `App ${name} has no release before revision ${current ?? '(none)'} to go back to (releases: ${known || 'none yet'})`);
    }
    if (target.revision === current && !app.spec.rollback) {
      out(`App ${name} already serves revision ${current}`);
      return;
    }
    out(`rolling back App ${name} to revision ${target.revision} (${short(target.sourceDigest, target.image)}): no build`);
    const since = new Date();
    const applied = await c.apply({ apiVersion: API_VERSION, kind: 'App', metadata: { name }, spec: { rollback: { revision: target.revision, image: target.image } } }, 'aerogrid-rollback', true);
    if (!opts.wait) {
      out(`applied. Follow it with: ${c.hint(`status ${name}`)}; ${c.hint(`push`)} builds from source again`);
      return;
    }
    await follow(c, name, applied, since, opts.timeout);
  });

const env = program.command('env').description("an App's environment variables: list, set, unset (no build: the pods restart with them)");

env
  .command('list')
  .description('the variables and Secrets an App gets, and who set each')
  .argument('<name>', 'App name')
  .addOption(outputOption())
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    out(formatEnv(await c.mustGetApp(name), parseOutput(opts.output ?? 'table')));
  });

env
  .command('set')
  .description('set variables (KEY=VALUE ...) and Secrets whose keys become variables (--from-secret)')
  .argument('<name>', 'App name')
  .argument('[pairs...]', 'KEY=VALUE')
  .option('--from-secret <secret>', "a Secret in the App's namespace (repeatable)", collect, [])
  .option('--force', 'take over variables another manager set')
  .action(async (name: string, pairs: string[], opts, cmd: Command) => {
    if (pairs.length === 0 && opts.fromSecret.length === 0) throw new CliError('give KEY=VALUE pairs or --from-secret SECRET', EXIT.usage);
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    const change = envChange(app, { set: pairs, secrets: opts.fromSecret });
    await c.apply({ apiVersion: API_VERSION, kind: 'App', metadata: { name }, spec: change.spec }, 'aerogrid-env', !!opts.force);
    out(`App ${name}: ${change.summary}; no build, the pods restart with the new environment`);
  });

env
  .command('unset')
  .description('remove variables (KEY ...) and Secrets (--from-secret) that aerogrid env set')
  .argument('<name>', 'App name')
  .argument('[keys...]', 'KEY')
  .option('--from-secret <secret>', 'a Secret to stop reading (repeatable)', collect, [])
  .action(async (name: string, keys: string[], opts, cmd: Command) => {
    if (keys.length === 0 && opts.fromSecret.length === 0) throw new CliError('give the KEYs to remove, or --from-secret SECRET', EXIT.usage);
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    const change = envChange(app, { unset: keys, unsetSecrets: opts.fromSecret });
    await c.apply({ apiVersion: API_VERSION, kind: 'App', metadata: { name }, spec: change.spec }, 'aerogrid-env');
    out(`App ${name}: ${change.summary}; no build, the pods restart with the new environment`);
  });

program
  .command('scale')
  .description('set the number of pods (--replicas), or autoscale on CPU (--min, --max, --cpu-percent)')
  .argument('<name>', 'App name')
  .option('--replicas <n>', 'a fixed number of pods (0 stops the app; turns autoscaling off)', integer('--replicas'))
  .option('--min <n>', 'autoscaling: the fewest pods', integer('--min'))
  .option('--max <n>', 'autoscaling: the most pods', integer('--max'))
  .option('--cpu-percent <p>', 'autoscaling: the average CPU to aim for (default 80)', integer('--cpu-percent'))
  .option('--force', 'take over fields another manager set')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    const change = scaleChange(app, opts);
    for (const w of change.warnings) warn(`warning: ${w}`);
    await c.apply({ apiVersion: API_VERSION, kind: 'App', metadata: { name }, spec: change.spec }, 'aerogrid-scale', !!opts.force);
    out(`App ${name}: ${change.summary}; no build`);
  });

program
  .command('open')
  .description("open the App's URL in a browser (on a terminal with one), or print it")
  .argument('<name>', 'App name')
  .option('--print', 'only print the URL')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    const url = app.status?.url;
    if (!url) throw new CliError(`App ${name} has no URL yet (phase ${app.status?.phase ?? 'Pending'}); ${c.hint(`status ${name}`)}`);
    const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
    if (opts.print || !process.stdout.isTTY || spawnSync('sh', ['-c', `command -v ${opener}`]).status !== 0) {
      out(url);
      return;
    }
    spawn(opener, [url], { detached: true, stdio: 'ignore' }).unref();
    out(`opening ${url}${app.status?.access === 'public' ? '' : ' (it asks for an Auth0 token from an allowed group)'}`);
  });

program
  .command('delete')
  .description('delete an App; the platform removes its Deployment, Service, routes and policies')
  .argument('<name>', 'App name')
  .option('-y, --yes', 'do not ask for confirmation (never asked without a terminal)')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    if (!opts.yes && process.stdin.isTTY && process.stdout.isTTY) {
      await c.mustGetApp(name);
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(`Delete App ${name} in namespace ${c.namespace}, with its Deployment, Service, routes and policies? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) throw new CliError(`App ${name} not deleted`);
    }
    await c.deleteApp(name);
    out(`App ${name} deleted from namespace ${c.namespace}`);
  });

program
  .command('logs')
  .description("print the logs of an App's pods, or of its build (Kaniko's output) with --build")
  .argument('<name>', 'App name')
  .option('--build', "the Kaniko build of the current source instead of the app (kept while that source serves)")
  .option('-p, --previous', "the container's previous run (after a crash, what it said before it died)")
  .option('-f, --follow', 'keep streaming (one pod)')
  .action(async (name: string, opts, cmd: Command) => {
    const c = await cluster(cmd);
    const app = await c.mustGetApp(name);
    const job: string | undefined = app.status?.build?.job;
    if (opts.build && !job) throw new CliError(`App ${name} has no build: ${app.spec?.image ? `it runs the image ${app.spec.image}` : 'the platform has not started one yet'}`);
    const pods = await c.appPods(name, opts.build ? job : undefined);
    if (pods.length === 0) {
      throw new CliError(opts.build
        ? `no pods for build Job ${job} of App ${name} (build ${app.status?.build?.phase ?? 'not started'}); the build of an earlier source is let go once a new one serves`
        : `App ${name} has no pods yet (phase ${app.status?.phase ?? 'Pending'}${app.status?.message ? `: ${app.status.message}` : ''})`);
    }
    for (const pod of pods) {
      if (pods.length > 1) out(`==> ${pod.metadata.name} <==`);
      await c.logs(pod.metadata.name, opts.build ? 'kaniko' : 'app', process.stdout, { follow: !!opts.follow && pods.length === 1, previous: !!opts.previous });
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

program
  .command('completion')
  .description('print a shell completion script: source <(aerogrid completion bash), or see the README for zsh and fish')
  .addArgument(new (await import('commander')).Argument('<shell>', 'the shell').choices(SHELLS))
  .action((shell: (typeof SHELLS)[number]) => {
    out(completion(program, shell));
  });

try {
  // Bare `aerogrid`: the help, on stdout, as a successful answer to "what can this do?".
  if (process.argv.length <= 2) program.outputHelp();
  else await program.parseAsync(process.argv);
} catch (err) {
  const say = (message: string) => process.stderr.write(`${errColour.red('error:')} ${message}\n`);
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof ManifestError) {
    for (const p of err.problems) say(p);
    process.exitCode = EXIT.usage;
  } else if (err instanceof SourceError) {
    say(err.message);
    process.exitCode = EXIT.usage;
  } else if (err instanceof CliError) {
    say(err.message);
    process.exitCode = err.exitCode;
  } else {
    say(`${err instanceof Error ? err.message : String(err)}${process.env.AEROGRID_DEBUG ? `\n${(err as Error).stack}` : ' (set AEROGRID_DEBUG=1 for details)'}`);
    process.exitCode = EXIT.failed;
  }
}
