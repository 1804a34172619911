// The console's page: the Apps across the person's tenants, one App's files in an editor, Save,
// and a live timeline of the build and rollout. Everything that came from the cluster is put in
// the page as text (textContent), never as HTML. Validation is the same zod schema the XRD and
// the function enforce; the timeline is the CLI's own reading of an App's status (Progress).
import { python } from '@codemirror/lang-python';
import { EditorState } from '@codemirror/state';
import { EditorView, basicSetup } from 'codemirror';
import { APP_NAME_MAX, AppSpec, problemFile } from '../../api/app.js';
import { DNS_LABEL_PATTERN, nameProblems } from '../../api/rules.js';
import { parseAt } from '../../api/validate.js';
import { age } from '../../present/age.js';
import { Progress, functionMessage, short } from '../../present/progress.js';

type Obj = Record<string, any>;
interface File { path: string; content: string }

const root = document.getElementById('root')!;
const styleNonce = document.querySelector<HTMLMetaElement>('meta[name="aerogrid-style-nonce"]')?.content ?? '';
let session: { user: string; groups: string[]; csrf: string; expiresAt: number } | undefined;
/** Set by the App page: what must survive a new sign-in. */
let unsaved: (() => { key: string; files: File[] } | undefined) | undefined;

// ---------- DOM, by construction: text is always text ----------

type Child = Node | string | number | null | undefined | false;
function h(tag: string, props: Record<string, string | boolean | EventListener | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'object' ? c : String(c));
  return el;
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(readonly status: number, readonly body: Obj) {
    super(body.message ?? `HTTP ${status}`);
  }
}

async function call<T = Obj>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api${path}`, {
    method,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(method !== 'GET' && session ? { 'X-CSRF-Token': session.csrf } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = (await res.json().catch(() => ({}))) as Obj;
  if (res.status === 401) {
    sessionEnded();
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data as T;
}

/** The session is gone (expired, or signed out elsewhere): keep unsaved edits, and offer to sign in again. */
function sessionEnded(): void {
  const draft = unsaved?.();
  if (draft) sessionStorage.setItem(draft.key, JSON.stringify(draft.files));
  if (document.getElementById('expired')) return;
  const back = location.pathname + location.search;
  document.body.prepend(h('div', { id: 'expired', class: 'banner', role: 'alert' },
    'Your session has ended.', draft ? ' Your unsaved edits are kept in this tab.' : '', ' ',
    h('a', { href: `/auth/login?return=${encodeURIComponent(back)}`, id: 'sign-in-again' }, 'Sign in again')));
}

// ---------- namespaces the person works in ----------

const KNOWN = 'aerogrid.namespaces';
/** The namespaces this browser remembers: names only, and a few (a long link must not fill the storage or the next request's URL). */
const MAX_KNOWN = 20;
const NAMESPACE = new RegExp(DNS_LABEL_PATTERN);
const namesOnly = (ns: unknown): string[] => (Array.isArray(ns) ? ns.filter((n): n is string => typeof n === 'string' && n.length <= 63 && NAMESPACE.test(n)) : []);
const known = (): string[] => {
  try {
    return namesOnly(JSON.parse(localStorage.getItem(KNOWN) ?? '[]')).slice(0, MAX_KNOWN);
  } catch {
    return [];
  }
};
const remember = (ns: string[]) => localStorage.setItem(KNOWN, JSON.stringify([...new Set([...namesOnly(ns), ...known()])].slice(0, MAX_KNOWN).sort()));
/** A link only for an https URL: anything else the cluster says is shown as text. */
const link = (url: string | undefined) => (url && /^https:\/\//.test(url) ? h('a', { href: url, rel: 'noreferrer', target: '_blank' }, url) : url ?? '');

interface Across { namespaces: string[]; scope: string; apps: Obj[]; refused: { namespace: string; message: string }[] }

/** The namespaces the person works in, and the Apps in them, read once. */
async function namespaces(): Promise<Across> {
  const fromUrl = new URLSearchParams(location.search).get('ns');
  if (fromUrl) remember(fromUrl.split(',').filter(Boolean));
  const r = await call<Across>('GET', `/namespaces?known=${encodeURIComponent(known().join(','))}`);
  remember(r.namespaces);
  return r;
}

// ---------- layout ----------

function frame(title: string, ...content: Child[]): void {
  root.replaceChildren(
    h('header', {},
      h('a', { href: '/', class: 'brand' }, 'aerogrid'),
      h('span', { class: 'title' }, title),
      h('span', { class: 'who' }, session ? `${session.user} (${session.groups.join(', ') || 'no groups'})` : ''),
      session ? h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out') : null),
    h('main', {}, ...content));
}

/** Ends the console's session, then the identity provider's, where the console sends the page. */
async function signOut(): Promise<void> {
  const res = await fetch('/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': session?.csrf ?? '' }, credentials: 'same-origin' });
  const { to } = (await res.json().catch(() => ({}))) as { to?: string };
  location.href = to ?? '/';
}

function phaseBadge(phase: string | undefined): HTMLElement {
  return h('span', { class: `phase phase-${(phase ?? 'Pending').toLowerCase()}` }, phase ?? 'Pending');
}

// ---------- the App list ----------

async function listPage(): Promise<void> {
  const ns = await namespaces();
  const rows = new Map<string, Obj>();
  const body = h('tbody', { id: 'apps' });
  const note = h('p', { class: 'note' });
  const render = () => {
    const apps = [...rows.values()].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    body.replaceChildren(...apps.map((a) => h('tr', { 'data-app': `${a.metadata.namespace}/${a.metadata.name}` },
      h('td', {}, h('a', { href: `/apps/${a.metadata.namespace}/${a.metadata.name}` }, a.metadata.name)),
      h('td', {}, a.metadata.namespace),
      h('td', {}, phaseBadge(a.status?.phase)),
      h('td', {}, link(a.status?.url)),
      h('td', {}, a.status?.revision ?? ''),
      h('td', {}, age(a.metadata.creationTimestamp, new Date())))));
    if (apps.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No Apps yet in these namespaces.')));
  };
  const form = h('form', { class: 'inline', onsubmit: (e: Event) => {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('namespace') as HTMLInputElement;
    remember([input.value.trim()]);
    void listPage();
  } }, h('label', { for: 'namespace' }, 'Add a namespace of your tenant'), h('input', { id: 'namespace', name: 'namespace', required: true, pattern: '[a-z0-9]([-a-z0-9]*[a-z0-9])?', placeholder: 'acme-dev' }), h('button', { type: 'submit' }, 'Add'));
  frame('Apps',
    h('div', { class: 'toolbar' }, h('a', { href: '/new', class: 'button', id: 'new-app' }, 'New App'), form),
    note,
    h('table', { class: 'apps' }, h('thead', {}, h('tr', {}, ...['Name', 'Namespace', 'Phase', 'URL', 'Revision', 'Age'].map((t) => h('th', {}, t)))), body));
  note.textContent = ns.namespaces.length === 0
    ? 'You may not list Apps across the cluster. Add a namespace of your tenant (say, acme-dev) to see its Apps and those of its other namespaces.'
    : `Namespaces: ${ns.namespaces.join(', ')}${ns.scope === 'cluster' ? ' (all you can read)' : ''}`;
  if (ns.namespaces.length === 0) {
    render();
    return;
  }
  for (const a of ns.apps) rows.set(`${a.metadata.namespace}/${a.metadata.name}`, a);
  for (const r of ns.refused) note.append(h('span', { class: 'error' }, ` You may not see Apps in namespace ${r.namespace}: ${r.message}`));
  render();
  live(ns.scope === 'cluster' ? ['*'] : ns.namespaces.slice(0, MAX_KNOWN), undefined, (type, a) => {
    const key = `${a.metadata.namespace}/${a.metadata.name}`;
    if (type === 'DELETED') rows.delete(key);
    else rows.set(key, a);
    render();
  });
}

let stream: EventSource | undefined;
/** Live updates from the server's Kubernetes watches (Server-Sent Events). */
function live(ns: string[], name: string | undefined, onApp: (type: string, app: Obj) => void, onFailure?: (f: Obj) => void): void {
  stream?.close();
  if (ns.length === 0) return;
  stream = new EventSource(`/api/events?ns=${ns.join(',')}${name ? `&name=${encodeURIComponent(name)}` : ''}`);
  stream.addEventListener('app', (e) => {
    const { type, app } = JSON.parse((e as MessageEvent).data);
    onApp(type, app);
  });
  stream.addEventListener('failure', (e) => onFailure?.(JSON.parse((e as MessageEvent).data)));
  // A stream that fails may be a session that ended: ask, and stop retrying if so.
  stream.addEventListener('error', () => {
    void call('GET', '/session').catch(() => stream?.close());
  });
}

// ---------- one App ----------

interface Problem { path?: string; line?: number; message: string }

/** sha256 over [path, content] pairs, as the server computes it (filesDigest in server.ts). */
async function filesDigest(files: File[]): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(files.map((f) => [f.path, f.content]))));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The schema's problems, by file and line, as the person knows them. */
function problemsOf(spec: Obj, files: File[]): Problem[] {
  const parsed = parseAt(AppSpec, { ...spec, files }, 'spec');
  if (parsed.ok) return [];
  return parsed.problems.map((p) => {
    const about = problemFile(p, files);
    if (!about) return { message: p };
    const { file } = about;
    let line: number | undefined;
    if (about.field === 'content') {
      const bad = [...file.content].findIndex((ch) => ch === '\u0000' || ch === '\uFFFD');
      line = bad >= 0 ? file.content.slice(0, bad).split('\n').length : file.content.split('\n').length;
    }
    return { path: file.path, line, message: about.message };
  });
}

async function appPage(namespace: string, name: string): Promise<void> {
  let app: Obj;
  try {
    app = await call('GET', `/apps/${namespace}/${name}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      frame(name, h('p', { class: 'error', role: 'alert', id: 'forbidden' }, `You may not open App ${name} in namespace ${namespace}: the cluster said "${err.body.message}". Ask the tenant's admins for access.`));
      return;
    }
    if (err instanceof ApiError && err.status === 404) {
      frame(name, h('p', { class: 'error', role: 'alert' }, `App ${name} is not in namespace ${namespace}.`), h('p', {}, h('a', { href: '/' }, 'Back to the Apps')));
      return;
    }
    throw err;
  }
  remember([namespace]);
  const draftKey = `aerogrid.unsaved:${namespace}/${name}`;
  let files: File[] = (app.spec.files ?? []).map((f: File) => ({ path: f.path, content: f.content }));
  let saved = JSON.stringify(files);
  const restored = sessionStorage.getItem(draftKey);
  if (restored) {
    files = JSON.parse(restored);
    sessionStorage.removeItem(draftKey);
  }
  let current = files.find((f) => f.path === 'app.py')?.path ?? files[0]?.path;
  /** The files as the cluster had them when the page loaded or saved them: the base of this edit. */
  let base = await filesDigest(app.spec.files ?? []);
  const dirty = () => JSON.stringify(files) !== saved;
  unsaved = () => (dirty() ? { key: draftKey, files } : undefined);

  const tree = h('ul', { class: 'files', id: 'files' });
  const editorHost = h('div', { class: 'editor', id: 'editor' });
  const problemsBox = h('ul', { class: 'problems', id: 'problems', role: 'alert' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const statusBox = h('dl', { class: 'status', id: 'status' });
  const conflictBox = h('div', { id: 'conflict' });
  const saveButton = h('button', { type: 'button', id: 'save', class: 'primary' }, 'Save') as HTMLButtonElement;
  const dirtyMark = h('span', { id: 'dirty', class: 'dirty' });

  const view = new EditorView({ parent: editorHost, extensions: [] });
  const stateFor = (f: File) => EditorState.create({
    doc: f.content,
    extensions: [basicSetup, python(), EditorView.cspNonce.of(styleNonce), EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      const file = files.find((x) => x.path === current);
      if (file) file.content = u.state.doc.toString();
      showDirty();
    })],
  });
  const open = (path: string, line?: number) => {
    current = path;
    const f = files.find((x) => x.path === path);
    if (f) view.setState(stateFor(f));
    if (f && line) {
      const pos = view.state.doc.line(Math.min(line, view.state.doc.lines)).from;
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    }
    drawTree();
    view.focus();
  };
  const showDirty = () => {
    dirtyMark.textContent = dirty() ? 'unsaved changes' : '';
  };
  const drawTree = (bad: Set<string> = new Set()) => {
    tree.replaceChildren(...files.map((f) => h('li', { class: `${f.path === current ? 'current' : ''} ${bad.has(f.path) ? 'bad' : ''}`.trim(), 'data-path': f.path },
      h('button', { type: 'button', class: 'link file', onclick: () => open(f.path) }, f.path),
      h('button', { type: 'button', class: 'small', title: `Rename ${f.path}`, 'aria-label': `Rename ${f.path}`, onclick: () => rename(f.path) }, 'Rename'),
      h('button', { type: 'button', class: 'small', title: `Delete ${f.path}`, 'aria-label': `Delete ${f.path}`, onclick: () => remove(f.path) }, 'Delete'))));
  };
  const rename = (path: string) => {
    const to = prompt(`Rename ${path} to`, path);
    if (!to || to === path) return;
    const f = files.find((x) => x.path === path)!;
    f.path = to.trim();
    if (current === path) current = f.path;
    drawTree();
    showDirty();
  };
  const remove = (path: string) => {
    if (!confirm(`Delete ${path}?`)) return;
    files = files.filter((x) => x.path !== path);
    if (current === path) current = files[0]?.path;
    if (current) open(current);
    else drawTree();
    showDirty();
  };
  const add = () => {
    const path = prompt('New file (a path such as util.py or pkg/models.py)');
    if (!path) return;
    files.push({ path: path.trim(), content: '' });
    open(path.trim());
    showDirty();
  };

  const say = (line: string, cls = '') => {
    const now = new Date();
    timeline.append(h('li', { class: cls }, h('time', { datetime: now.toISOString() }, now.toTimeString().slice(0, 8)), ' ', line));
  };
  let progress: Progress | undefined;
  const drawStatus = (a: Obj) => {
    const s = a.status ?? {};
    const rows: [string, Child][] = [
      ['Phase', phaseBadge(s.phase)],
      ['Message', s.message],
      ['URL', link(s.url)],
      ['Revision', s.revision ?? ''],
      ['Image', s.image],
      ['Source', s.sourceDigest ? short(s.sourceDigest) : ''],
      ['Build Job', s.build ? `${s.build.job ?? ''} (${s.build.phase ?? 'Pending'})${s.build.message ? `: ${s.build.message}` : ''}` : ''],
    ];
    const conditions = (s.conditions ?? []).map((c: Obj) => h('li', { class: c.status === 'True' ? 'ok' : 'not-ok' }, `${c.type}: ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? ` ${functionMessage(c.message)}` : ''}`));
    statusBox.replaceChildren(...rows.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k.toLowerCase() }, v)]),
      h('dt', {}, 'Conditions'), h('dd', {}, h('ul', { class: 'conditions' }, ...conditions)));
  };
  // The logs: the App's own, or its build's (Kaniko's output). Read again when the phase changes.
  const logsBox = h('div', { class: 'logs', id: 'logs' });
  let logSource: 'app' | 'build' = 'app';
  const logButtons = (['app', 'build'] as const).map((source) => h('button', { type: 'button', class: 'small', id: `logs-${source}`, onclick: () => { logSource = source; void showLogs(); } },
    source === 'app' ? 'App log' : 'Build log'));
  const showLogs = async () => {
    logButtons.forEach((b) => b.classList.toggle('current', b.id === `logs-${logSource}`));
    try {
      const got = await call<{ pods: { pod: string; restarts: number; previous: string; text: string }[]; message?: string }>('GET', `/apps/${namespace}/${name}/logs?source=${logSource}`);
      logsBox.replaceChildren(...(got.message ? [h('p', { class: 'muted' }, got.message)] : []), ...got.pods.map((p) => h('div', { class: 'log', 'data-pod': p.pod },
        h('h3', {}, `${p.pod}${p.restarts ? ` (restarted ${p.restarts} time${p.restarts === 1 ? '' : 's'})` : ''}`),
        p.previous ? h('pre', { class: 'previous' }, p.previous) : null,
        h('pre', {}, p.text || '(nothing yet)'))));
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) logsBox.replaceChildren(h('p', { class: 'error' }, `No logs: ${err.body.message ?? err.message}`));
    }
  };
  let lastPhase = app.status?.phase;
  // The newest App the watch delivered. Its event can beat the Save's own response (a refusal
  // comes within a second), so a new push's progress starts from it too, or it would wait for an
  // event that has already come.
  let latest: Obj | undefined;
  const follow = (a: Obj) => {
    // The status is live; the files stay those the page loaded or saved (`base`), so that a
    // change made elsewhere meanwhile is a conflict on Save, never overwritten.
    drawStatus(a);
    if (a.status?.phase !== lastPhase) {
      lastPhase = a.status?.phase;
      logSource = lastPhase === 'Building' || a.status?.build?.phase === 'Failed' ? 'build' : 'app';
      void showLogs();
    }
    if (!progress) return;
    const v = progress.see(a);
    if (v.done) progress = undefined;
  };

  const save = async (force = false) => {
    conflictBox.replaceChildren();
    const problems = problemsOf(app.spec, files);
    drawTree(new Set(problems.map((p) => p.path).filter((p): p is string => !!p)));
    problemsBox.replaceChildren(...problems.map((p) => h('li', {},
      p.path ? h('button', { type: 'button', class: 'link', onclick: () => open(p.path!, p.line) }, `${p.path}${p.line ? `, line ${p.line}` : ''}`) : null,
      p.path ? ': ' : '', p.message)));
    if (problems.length > 0) return;
    saveButton.disabled = true;
    const since = new Date();
    try {
      const applied = await call<Obj>('PUT', `/apps/${namespace}/${name}`, { files, base, force });
      saved = JSON.stringify(files);
      base = await filesDigest(files);
      app = applied;
      showDirty();
      timeline.replaceChildren();
      say(`saved: generation ${applied.metadata.generation}`);
      if (applied.leftRollback !== undefined) say(`left the rollback to revision ${applied.leftRollback}: building from source again`);
      progress = new Progress(applied.metadata.generation, since, (line) => say(line, /^(failed|the platform refused|build failed)/.test(line) ? 'bad' : /^ready/.test(line) ? 'good' : ''));
      follow(applied);
      if (latest && progress && progress.see(latest).done) progress = undefined;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 409) {
        const who = (err.body.changedBy ?? []) as { manager: string; time?: string }[];
        const names = who.length ? who.map((w) => `${w.manager}${w.time ? ` at ${new Date(w.time).toLocaleTimeString()}` : ''}`).join(', ') : (err.body.managers ?? []).join(', ') || 'someone else';
        const owned = err.body.reason === 'owned';
        conflictBox.replaceChildren(h('div', { class: 'conflict', role: 'alert' },
          h('p', {}, owned
            ? `These files are managed by ${(err.body.managers ?? []).join(', ')} (last written by ${names}), not by the console. Saving takes them over, and writes over their version${(err.body.managers ?? []).includes('aerogrid') ? '; the next aerogrid push will then need --force' : ''}.`
            : `Someone else changed this App since you opened it: its files were last written by ${names}. Saving now would overwrite their change.`),
          h('button', { type: 'button', id: 'overwrite', onclick: () => void save(true) }, owned ? 'Take them over and save' : 'Overwrite with my version'), ' ',
          h('button', { type: 'button', id: 'load-theirs', onclick: () => { sessionStorage.removeItem(draftKey); void appPage(namespace, name); } }, 'Discard mine and load theirs')));
      } else if (err.status === 422) {
        problemsBox.replaceChildren(...((err.body.fields ?? []) as Obj[]).map((f) => h('li', {}, `${f.path}: ${f.message}`)), h('li', {}, err.body.message));
      } else if (err.status === 403) {
        problemsBox.replaceChildren(h('li', {}, `You may not change this App: ${err.body.message}`));
      } else if (err.status !== 401) {
        problemsBox.replaceChildren(h('li', {}, `Saving failed: ${err.body.message ?? err.message}`));
      }
    } finally {
      saveButton.disabled = false;
    }
  };
  saveButton.addEventListener('click', () => void save());

  frame(`${namespace}/${name}`,
    restored ? h('p', { class: 'banner', id: 'restored' }, 'Your unsaved edits from before you signed in again are back. Save them when you are ready.') : null,
    h('div', { class: 'app-layout' },
      h('section', { class: 'sidebar' }, h('h2', {}, 'Files'), tree, h('button', { type: 'button', id: 'add-file', onclick: add }, 'Add a file')),
      h('section', { class: 'work' }, h('div', { class: 'toolbar' }, saveButton, dirtyMark), conflictBox, problemsBox, editorHost,
        h('h2', {}, 'Logs ', ...logButtons), logsBox),
      h('section', { class: 'side' }, h('h2', {}, 'Status'), statusBox, h('h2', {}, 'Timeline'), timeline)));
  if (current) open(current);
  drawTree();
  showDirty();
  drawStatus(app);
  say(`opened: ${app.status?.phase ?? 'Pending'}${app.status?.message ? `: ${app.status.message}` : ''}`);
  void showLogs();
  live([namespace], name, (type, a) => {
    if (type === 'DELETED') say('the App was deleted', 'bad');
    else {
      latest = a;
      follow(a);
    }
  });
}

// ---------- a new App ----------

async function newPage(): Promise<void> {
  const ns = await namespaces();
  const errors = h('p', { class: 'error', id: 'new-error', role: 'alert' });
  const form = h('form', { id: 'new-form', onsubmit: (e: Event) => {
    e.preventDefault();
    void (async () => {
      const f = e.target as HTMLFormElement;
      const name = (f.elements.namedItem('name') as HTMLInputElement).value.trim();
      const namespace = (f.elements.namedItem('ns') as HTMLSelectElement | HTMLInputElement).value.trim();
      const problems = nameProblems('an App', name, APP_NAME_MAX, 'so that its build Job and image names stay valid');
      if (problems.length > 0) {
        errors.textContent = problems.join('; ');
        return;
      }
      const template = await call<{ files: File[] }>('GET', '/template');
      try {
        await call('PUT', `/apps/${namespace}/${name}`, { files: template.files });
        history.pushState(null, '', `/apps/${namespace}/${name}`);
        await route();
      } catch (err) {
        if (err instanceof ApiError) errors.textContent = err.body.message ?? err.message;
        else throw err;
      }
    })();
  } },
  h('label', { for: 'name' }, 'Name'), h('input', { id: 'name', name: 'name', required: true, placeholder: 'shop' }),
  h('label', { for: 'ns' }, 'Namespace'),
  ns.namespaces.length > 0
    ? h('select', { id: 'ns', name: 'ns' }, ...ns.namespaces.map((n) => h('option', { value: n }, n)))
    : h('input', { id: 'ns', name: 'ns', required: true, placeholder: 'acme-dev' }),
  h('p', { class: 'note' }, 'It starts from the same app.py and requirements.txt as aerogrid init: an HTTP server on $PORT.'),
  h('button', { type: 'submit', class: 'primary' }, 'Create'));
  frame('New App', form, errors);
}

// ---------- routing ----------

async function route(): Promise<void> {
  unsaved = undefined;
  stream?.close();
  if (!session) {
    try {
      session = await call('GET', '/session');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        document.getElementById('expired')?.remove();
        location.href = `/auth/login?return=${encodeURIComponent(location.pathname + location.search)}`;
        return;
      }
      throw err;
    }
  }
  const m = /^\/apps\/([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(location.pathname);
  if (m) return appPage(m[1], m[2]);
  if (location.pathname === '/new') return newPage();
  return listPage();
}

document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a');
  if (!a || a.target || a.origin !== location.origin || a.pathname.startsWith('/auth/') || e.ctrlKey || e.metaKey) return;
  if (unsaved?.() && !confirm('Leave this App? Your unsaved edits will be lost.')) {
    e.preventDefault();
    return;
  }
  e.preventDefault();
  history.pushState(null, '', a.pathname + a.search);
  void route();
});
window.addEventListener('popstate', () => void route());
window.addEventListener('beforeunload', (e) => {
  if (unsaved?.() && !document.getElementById('expired')) e.preventDefault();
});

route().catch((err: unknown) => {
  root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Something went wrong: ${(err as Error).message}`));
});
