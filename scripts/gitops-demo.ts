// make gitops-demo: aerogrid run by Argo CD from Git, from the first commit to a Healthy App and
// from a developer's commit to the new build serving, with real Argo CD v3.5.1 (built from source,
// out of cluster) and real Crossplane core on the local control plane.
//
// The Git repository is laid out as docs/gitops.md tells a platform team to lay theirs out. Only
// Argo CD's configuration (aerogrid's argocd-cm entries) and dist/argocd/root.yaml are applied by
// hand; everything else comes from Git. Each step is read from Argo CD's Application objects.
//
// A real node builds each commit with Kaniko (scripts/lib/node.ts), and its pods roll out.
// KEEP=1 (or a terminal) leaves everything running, with the repository to commit to.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { waitUntil } from './lib/crossplane.js';
import { acmeFolder, startGitOps, type GitOps } from './lib/gitops.js';
import { ROOT } from './lib/net.js';
import { ensureTools } from './lib/platform.js';

const started = Date.now();
const say = (msg: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
let g: GitOps | undefined;

/** Argo CD's view of every Application, as `argocd app list` would show it. */
function table(gitops: GitOps): string {
  return gitops.argo.applications().map((a) => {
    const v = gitops.view(a.metadata.name);
    return `    ${a.metadata.name.padEnd(18)} ${String(v.sync).padEnd(10)} ${String(v.health).padEnd(12)} ${v.resources.map((r) => `${r.kind}/${r.name}: ${r.health?.status ?? '-'}${r.health?.message ? ` (${r.health.message})` : ''}`).join('; ')}`;
  }).join('\n');
}

async function main(): Promise<void> {
  say('building or reusing the pinned control plane, Crossplane and Argo CD (scripts/tools.sh control-plane argocd)');
  ensureTools();
  const r = spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'argocd'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/tools.sh argocd failed');

  const files = acmeFolder();
  const hello = files['tenants/acme/apps/hello.yaml'];
  g = await startGitOps({ say, files });
  const gitops = g;
  const root = Date.now();
  await gitops.waitFor('aerogrid-platform', 'Healthy', { timeoutMs: 300_000 });
  say(`aerogrid-platform Synced/Healthy ${since(root)} after root.yaml: Function and Configuration installed by Crossplane, XRDs established`);
  await gitops.waitFor('tenant-acme', 'Healthy', { timeoutMs: 300_000 });
  await gitops.waitFor('aerogrid', 'Healthy', { timeoutMs: 120_000 });
  say(`every Application Synced/Healthy ${since(root)} after root.yaml. Argo CD's view:\n${table(gitops)}`);

  const before = gitops.p.builds().length;
  const commitAt = Date.now();
  // commit() then refreshes tenant-acme, as a Git webhook to argocd-server does.
  const sha = gitops.commit('tenant-acme', 'hello: app.py answers its health check differently', { 'tenants/acme/apps/hello.yaml': hello.replace('return "ok"', 'return "ok, from a Git commit"') });
  say(`committed ${sha.slice(0, 7)} (app.py edited) to ${gitops.repoURL}`);
  await waitUntil('Argo CD to report the new App Progressing', () => {
    const r0 = gitops.view('tenant-acme').resources.find((x) => x.kind === 'App');
    return r0?.health?.status === 'Progressing' ? r0 : undefined;
  }, 60_000).then((r1) => say(`App hello Progressing: ${r1.health.message}`)).catch(() => say('App hello went through Progressing faster than this script looks'));
  await waitUntil('the App to serve the new build', () => {
    const v = gitops.view('tenant-acme');
    const h = v.resources.find((x) => x.kind === 'App')?.health;
    return v.revision === sha && v.sync === 'Synced' && h?.status === 'Healthy' && gitops.p.builds().length > before;
  }, 180_000);
  say(`commit → App Healthy again in ${since(commitAt)}, with ${gitops.p.builds().length - before} build. Argo CD's view:\n${table(gitops)}`);
  const rss = gitops.argo.rss();
  say(`Argo CD's memory (RSS): ${Object.entries(rss).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);

  if ((process.env.KEEP || (process.stdin.isTTY && !process.env.CI)) && !process.exitCode) {
    say(`KEEP: everything stays up. KUBECONFIG=${gitops.p.cp.kubeconfig}\n  commit to ${gitops.repo} (then: kubectl -n argocd annotate application tenant-acme argocd.argoproj.io/refresh=normal)\n  Ctrl-C stops it`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
}

main().catch((err) => {
  console.error(`gitops-demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}).finally(async () => {
  await g?.stop();
});
