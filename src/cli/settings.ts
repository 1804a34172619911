// `aerogrid env` and `aerogrid scale`: the change each applies, worked out from the App as the
// cluster has it. Each command is a field manager of its own (aerogrid-env, aerogrid-scale) and
// server-side apply keeps what it applies, so a change sends every field that manager owns,
// updated: a field it stopped sending would be removed. Fields other managers own (Git, through
// Argo CD; kubectl) are left alone, and named when the developer tries to remove them.
// Pure, so the unit tests pin the rules down without a cluster.
import { AppSpec } from '../api/app.js';
import { parseAt } from '../api/validate.js';
import { ownedBy, ownersOf } from '../client/fields.js';
import type { App } from '../client/index.js';
import { CliError, EXIT } from './errors.js';

type Obj = Record<string, any>;
const ENV_MANAGER = 'aerogrid-env';
const SCALE_MANAGER = 'aerogrid-scale';

const key = (name: string) => `k:${JSON.stringify({ name })}`;

/** Checks the App as it would be after the change, with the schema the XRD and the function use. */
function check(app: App, patch: Obj): void {
  const parsed = parseAt(AppSpec, { ...app.spec, ...patch }, 'spec');
  if (!parsed.ok) throw new CliError(parsed.problems.join('; '), EXIT.usage);
}

export function envChange(app: App, req: { set?: string[]; secrets?: string[]; unset?: string[]; unsetSecrets?: string[] }): { spec: Obj; summary: string } {
  const env: { name: string; value: string }[] = app.spec.env ?? [];
  const secrets: { name: string; namespace?: string }[] = app.spec.envFromSecrets ?? [];
  const vars = new Map(env.filter((e) => ownedBy(app, ENV_MANAGER, ['spec', 'env', key(e.name)])).map((e) => [e.name, e.value]));
  const froms = new Set(secrets.filter((s) => ownedBy(app, ENV_MANAGER, ['spec', 'envFromSecrets', key(s.name)])).map((s) => s.name));
  const said: string[] = [];
  for (const pair of req.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`${pair}: give KEY=VALUE (an empty value is KEY=)`, EXIT.usage);
    const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (name === 'PORT') throw new CliError('PORT is set by the platform from spec.port: use aerogrid push --port', EXIT.usage);
    vars.set(name, value);
    said.push(`set ${name}`);
  }
  for (const s of req.secrets ?? []) {
    froms.add(s);
    said.push(`reads Secret ${s}`);
  }
  for (const name of req.unset ?? []) {
    if (vars.delete(name)) {
      said.push(`unset ${name}`);
      continue;
    }
    if (env.some((e) => e.name === name)) {
      throw new CliError(`${name} is set by ${ownersOf(app, ['spec', 'env', key(name)]).join(', ') || 'another manager'}, not by aerogrid env; change it where it is managed (for Argo CD: in Git)`);
    }
    throw new CliError(`App ${app.metadata.name} has no variable ${name}`, EXIT.usage);
  }
  for (const s of req.unsetSecrets ?? []) {
    if (froms.delete(s)) {
      said.push(`no longer reads Secret ${s}`);
      continue;
    }
    if (secrets.some((x) => x.name === s)) {
      throw new CliError(`Secret ${s} was added by ${ownersOf(app, ['spec', 'envFromSecrets', key(s)]).join(', ') || 'another manager'}, not by aerogrid env; change it where it is managed`);
    }
    throw new CliError(`App ${app.metadata.name} does not read Secret ${s}`, EXIT.usage);
  }
  const spec = { env: [...vars].map(([name, value]) => ({ name, value })), envFromSecrets: [...froms].map((name) => ({ name })) };
  // Validate what the App will hold: ours merged over everyone else's.
  const others = env.filter((e) => !vars.has(e.name) && !(req.unset ?? []).includes(e.name));
  const otherSecrets = secrets.filter((s) => !froms.has(s.name) && !(req.unsetSecrets ?? []).includes(s.name));
  check(app, { env: [...others, ...spec.env], envFromSecrets: [...otherSecrets, ...spec.envFromSecrets] });
  return { spec, summary: said.join(', ') };
}

export function scaleChange(app: App, opts: { replicas?: number; min?: number; max?: number; cpuPercent?: number }): { spec: Obj; summary: string; warnings: string[] } {
  const autoscale = opts.min !== undefined || opts.max !== undefined || opts.cpuPercent !== undefined;
  if (opts.replicas !== undefined && autoscale) throw new CliError('give --replicas, or --min/--max/--cpu-percent to autoscale, not both', EXIT.usage);
  if (opts.replicas === undefined && !autoscale) throw new CliError('give --replicas N, or --max N (with --min and --cpu-percent) to autoscale', EXIT.usage);
  const warnings: string[] = [];
  if (opts.replicas !== undefined) {
    const spec = { replicas: opts.replicas };
    if (app.spec.autoscaling && !ownedBy(app, SCALE_MANAGER, ['spec', 'autoscaling'])) {
      warnings.push(`spec.autoscaling is set by ${ownersOf(app, ['spec', 'autoscaling']).join(', ')}: while it is, spec.replicas is ignored`);
    }
    check(app, { ...spec, autoscaling: undefined });
    return { spec, summary: opts.replicas === 0 ? 'scaled to 0 replicas (stopped)' : `scaled to ${opts.replicas} replica(s)`, warnings };
  }
  const current: Obj = app.spec.autoscaling ?? {};
  const autoscaling = {
    minReplicas: opts.min ?? current.minReplicas ?? 1,
    maxReplicas: opts.max ?? current.maxReplicas,
    targetCPUUtilizationPercentage: opts.cpuPercent ?? current.targetCPUUtilizationPercentage ?? 80,
  };
  if (autoscaling.maxReplicas === undefined) throw new CliError('autoscaling needs --max', EXIT.usage);
  check(app, { autoscaling });
  return { spec: { autoscaling }, summary: `autoscaling between ${autoscaling.minReplicas} and ${autoscaling.maxReplicas} replicas at ${autoscaling.targetCPUUtilizationPercentage}% CPU`, warnings };
}
