// aerogrid under Argo CD, as a platform team runs it: the local platform (real Crossplane core
// with the packages published to its registry and nothing installed), real Argo CD out of cluster
// (argocd.ts), and a Git repository laid out as docs/gitops.md tells a platform team to lay theirs
// out. Its dist/ is written by `make build`'s synthesis from the repository's own platform.yaml,
// whose `gitops.repoURL` names the repository (file://, which Argo CD's repo-server clones).
//
// After start, the only objects applied by hand are the argocd-cm entries (Argo CD's
// configuration) and dist/argocd/root.yaml: everything else comes from Git.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { platformFileOf, synthesize } from '../../src/compositions/synth.js';
import { ARGOCD_NAMESPACE, startArgoCD, type ArgoCD } from './argocd.js';
import { waitUntil } from './crossplane.js';
import { must } from './install.js';
import { ROOT } from './net.js';
import { startPlatform, type Platform } from './platform.js';

type Obj = Record<string, any>;

/** Argo CD's view of one Application. */
export interface AppView {
  sync?: string;
  health?: string;
  message?: string;
  revision?: string;
  operation?: string;
  operationMessage?: string;
  conditions: string[];
  resources: Obj[];
}

export interface GitOps {
  p: Platform;
  argo: ArgoCD;
  /** The repository's work tree; Argo CD clones it from repoURL. */
  repo: string;
  repoURL: string;
  /**
   * Writes (string) or removes (null) files in the work tree, commits them, and tells the
   * Application, as a Git webhook would (refresh); returns the commit.
   */
  commit(application: string, message: string, changes: Record<string, string | null>): string;
  /** What a Git webhook does: asks Argo CD to look at Git again for these Applications now. */
  refresh(...apps: string[]): void;
  view(app: string): AppView;
  /** Waits until Argo CD reports the Application Synced (at `revision`, if given) and with this health. */
  waitFor(app: string, health: string, opts?: { revision?: string; sync?: string; timeoutMs?: number }): Promise<AppView>;
  stop(): Promise<void>;
}

export interface GitOpsOptions {
  say?: (msg: string) => void;
  /** Files of the first commit, besides platform.yaml and dist/ (say, tenants/acme/tenant.yaml). */
  files: Record<string, string>;
}

/** A file of this repository (examples/...) as text. */
export const exampleText = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** A tenant's file as docs/gitops.md shows it: the Tenant syncs (wave -1) before its Apps. */
export function tenantFile(yamlText: string): string {
  const tenant = parseYaml(yamlText) as Obj;
  tenant.metadata.annotations = { ...tenant.metadata.annotations, 'argocd.argoproj.io/sync-wave': '-1' };
  return stringify(tenant, { lineWidth: 0 });
}

/** The example tenant's folder: tenants/acme/tenant.yaml and its App, tenants/acme/apps/hello.yaml. */
export function acmeFolder(): Record<string, string> {
  return { 'tenants/acme/tenant.yaml': tenantFile(exampleText('examples/tenant.yaml')), 'tenants/acme/apps/hello.yaml': exampleText('examples/app.yaml') };
}

export function viewOf(app: Obj | undefined): AppView {
  const st = app?.status ?? {};
  return {
    sync: st.sync?.status,
    health: st.health?.status,
    message: st.health?.message,
    revision: st.sync?.revision,
    operation: st.operationState?.phase,
    operationMessage: st.operationState?.message,
    conditions: (st.conditions ?? []).map((c: Obj) => `${c.type}: ${c.message}`),
    resources: st.resources ?? [],
  };
}

export async function startGitOps(opts: GitOpsOptions): Promise<GitOps> {
  const say = opts.say ?? (() => {});
  const p = await startPlatform({ say, publishOnly: true });
  let argo: ArgoCD | undefined;
  try {
    const repo = join(p.cp.dir, 'git', 'aerogrid');
    const repoURL = `file://${repo}`;
    mkdirSync(repo, { recursive: true });
    const git = (...args: string[]) => {
      const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed:\n${r.stderr}`);
      return r.stdout.trim();
    };
    git('init', '--quiet', '--initial-branch=main');
    git('config', 'user.name', 'Platform Team');
    git('config', 'user.email', 'platform@example.com');

    // The team's platform.yaml, naming their repository; `make build` writes dist/ from it.
    const platformText = readFileSync(join(ROOT, 'platform.yaml'), 'utf8')
      .replace(/^(\s*repoURL:).*$/m, `$1 ${repoURL}`);
    const files: Record<string, string> = { 'platform.yaml': platformText, ...opts.files };
    for (const [path, content] of synthesize(platformFileOf(parseYaml(platformText)))) files[`dist/${path}`] = content;

    const commitFiles = (message: string, changes: Record<string, string | null>) => {
      for (const [path, content] of Object.entries(changes)) {
        const file = join(repo, path);
        if (content === null) rmSync(file, { force: true });
        else {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
        }
      }
      git('add', '--all');
      git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    };
    const first = commitFiles('aerogrid platform and the first tenants', files);
    say(`Git repository ${repoURL}: platform.yaml, dist/ and ${Object.keys(opts.files).join(', ')} (${first.slice(0, 7)})`);

    argo = await startArgoCD(p.cp, { say });
    // Installing aerogrid into Argo CD (docs/gitops.md): merge aerogrid's argocd-cm entries, apply root.yaml.
    must(p.cp.kubectl('apply', '--server-side', '--field-manager', 'platform-engineer', '-f', join(repo, 'dist/argocd/argocd-cm.yaml')));
    must(p.cp.kubectl('apply', '--server-side', '--field-manager', 'platform-engineer', '-f', join(repo, 'dist/argocd/root.yaml')));
    say('applied dist/argocd/argocd-cm.yaml (merged into argocd-cm) and dist/argocd/root.yaml; everything else comes from Git');

    const view = (app: string) => viewOf(argo!.application(app));
    const refresh = (...apps: string[]) => {
      for (const app of apps) must(p.cp.kubectl('annotate', 'applications.argoproj.io', app, '-n', ARGOCD_NAMESPACE, '--overwrite', 'argocd.argoproj.io/refresh=normal'));
    };
    return {
      p,
      argo,
      repo,
      repoURL,
      commit(application, message, changes) {
        const sha = commitFiles(message, changes);
        refresh(application);
        return sha;
      },
      refresh,
      view,
      async waitFor(app, health, { revision, sync = 'Synced', timeoutMs = 180_000 } = {}) {
        let last: AppView | undefined;
        return waitUntil(`Argo CD to report Application ${app} ${sync}/${health}${revision ? ` at ${revision.slice(0, 7)}` : ''}`, () => {
          last = view(app);
          return last.sync === sync && last.health === health && (!revision || last.revision === revision) ? last : undefined;
        }, timeoutMs, () => `last: ${JSON.stringify(last ? { ...last, resources: last.resources.map((r) => `${r.kind}/${r.name} ${r.status} ${r.health?.status ?? ''} ${r.health?.message ?? ''}`) } : null)}\n${argo!.logs().slice(-2500)}`);
      },
      async stop() {
        await argo?.stop();
        await p.stop();
      },
    };
  } catch (err) {
    await argo?.stop();
    await p.stop();
    throw err;
  }
}
