// Reading a process's Prometheus metrics (the function's, Crossplane's) in tests and benchmarks.

/** One scrape of http://127.0.0.1:PORT/metrics, on a connection of its own; '' when nothing answers. */
export async function scrape(port: number): Promise<string> {
  return scrapeUrl(`http://127.0.0.1:${port}/metrics`);
}

/** Prometheus text from a metrics URL (a pod's, say); '' when it does not answer. */
export async function scrapeUrl(url: string): Promise<string> {
  // A pooled connection may have been closed by the server's keep-alive timeout meanwhile.
  return fetch(url, { headers: { connection: 'close' } })
    .then((r) => (r.ok ? r.text() : ''))
    .catch(() => '');
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of one metric in Prometheus text format (a histogram's are `NAME_bucket`, `_sum`, `_count`). */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = SAMPLE.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k] = v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include all of `labels`; 0 when there is none. */
export function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return samples(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/** The sum of a metric's samples for each value of one label. */
export function totalBy(text: string, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples(text, name)) {
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}
