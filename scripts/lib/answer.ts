// What an App answers over HTTP on the real node: make demo and the end-to-end tiers ask its pods, by
// their IPs on the node's bridge, as kubelet's probes do (no Istio gateway runs here).
import { waitUntil } from './crossplane.js';
import { must } from './install.js';
import type { Platform } from './platform.js';

type Obj = Record<string, any>;

/** The pods of an App's Deployment that are Ready and not being deleted (its builds' are not). */
export function readyPods(p: Platform, namespace: string, app: string): Obj[] {
  const pods: Obj[] = JSON.parse(must(p.cp.kubectl('get', 'pods', '-n', namespace, '-l', `platform.aerogrid.io/app=${app}`, '-o', 'json')).stdout).items;
  return pods.filter((pod) => !pod.metadata.labels['batch.kubernetes.io/job-name'] && !pod.metadata.deletionTimestamp
    && (pod.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'));
}

/**
 * GET `path` from every Ready pod of the App, at its port. They must all answer alike, with
 * status 200: the one answer is returned (an App mid-rollout answers with two, and throws).
 */
export async function answer(p: Platform, namespace: string, app: string, path = '/'): Promise<string> {
  const pods = readyPods(p, namespace, app);
  if (pods.length === 0) throw new Error(`App ${namespace}/${app} has no Ready pod`);
  const port = pods[0].spec.containers.find((c: Obj) => c.name === 'app').ports[0].containerPort;
  const answers = await Promise.all(pods.map(async (pod) => {
    const r = await p.node!.httpGet(pod.status.podIP, port, path);
    if (r.status !== 200) throw new Error(`pod ${pod.metadata.name} answered ${r.status}: ${r.body.slice(0, 200)}`);
    return r.body;
  }));
  const distinct = [...new Set(answers)];
  if (distinct.length !== 1) throw new Error(`the pods of App ${namespace}/${app} answer differently: ${distinct.join(' | ')}`);
  return distinct[0];
}

/** Waits until every Ready pod of the App answers `path` with what `wanted` accepts; returns the answer. */
export async function answerWhen(p: Platform, namespace: string, app: string, wanted: (body: string) => boolean, timeoutMs = 60_000, path = '/'): Promise<string> {
  let last = '';
  return waitUntil(`App ${namespace}/${app} to answer as expected`, async () => {
    // A failure (no Ready pod, pods mid-rollout answering differently) is never the answer, even
    // when its message quotes one that would be.
    const got = await answer(p, namespace, app, path).then((body) => ({ body }), (err: Error) => ({ error: `(${err.message})` }));
    last = 'body' in got ? got.body : got.error;
    return 'body' in got && wanted(got.body) ? got.body : undefined;
  }, timeoutMs, () => `last answer: ${last}`);
}
