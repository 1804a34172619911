// What the pods of an App say about its build and its rollout: pip's error from a failed build,
// a new version that crashes at start, a probe that fails, an image that cannot be pulled, a pod
// that cannot be scheduled. Pure: the pods (and, for a failing probe, the events) that Crossplane
// fetched as required resources come in; short messages a person can act on go out.
import type { KubeObject } from './resources.js';

type Obj = Record<string, any>;

/** The most of a message that goes into the App's status from one pod. */
const MAX_DETAIL = 1200;
/** Log lines shown of a container that crashed. */
const LOG_LINES = 8;

const statuses = (pod: Obj): Obj[] => pod.status?.containerStatuses ?? [];
const created = (o: Obj) => String(o.metadata?.creationTimestamp ?? '');
const newestFirst = (a: Obj, b: Obj) => created(b).localeCompare(created(a)) || String(b.metadata?.name).localeCompare(String(a.metadata?.name));

/** A terminated container's end: exit code, reason and what its log ended with (FallbackToLogsOnError). */
function ending(state: Obj | undefined): { exitCode: number; reason?: string; message: string } | undefined {
  const t = state?.terminated;
  if (!t || t.exitCode === 0) return undefined;
  return { exitCode: t.exitCode, reason: t.reason, message: String(t.message ?? '') };
}

function lastLines(text: string, n: number): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '').slice(-n);
}

function bounded(s: string): string {
  return s.length <= MAX_DETAIL ? s : `…${s.slice(s.length - MAX_DETAIL + 1)}`;
}

/**
 * Why a build Job's pod failed, from the pods of the Job: pip's own ERROR lines when there are
 * any, else Kaniko's last lines. Undefined when no pod of the Job says.
 */
export function buildFailure(pods: KubeObject[], job: string): string | undefined {
  const mine = (pods as Obj[]).filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === job || p.metadata?.labels?.['job-name'] === job).sort(newestFirst);
  for (const pod of mine) {
    for (const c of statuses(pod)) {
      const end = ending(c.state) ?? ending(c.lastState);
      if (!end) continue;
      const pip = end.message.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('ERROR: '));
      const tail = lastLines(end.message, 3);
      const said = pip.length > 0 ? `pip: ${pip.join(' ')}` : tail.length > 0 ? tail.join(' ') : `exit code ${end.exitCode}${end.reason ? ` (${end.reason})` : ''}`;
      return bounded(`${c.name} failed: ${said}`);
    }
  }
  return undefined;
}

/** The pods that run an App's image (not its builds), newest first, leaving those being deleted. */
export function appPods(pods: KubeObject[], image: string): Obj[] {
  return (pods as Obj[])
    .filter((p) => !p.metadata?.labels?.['batch.kubernetes.io/job-name'] && !p.metadata?.deletionTimestamp)
    .filter((p) => (p.spec?.containers ?? []).some((c: Obj) => c.name === 'app' && c.image === image))
    .sort(newestFirst);
}

export interface RolloutProblem {
  /** True when the rollout cannot finish by itself: the new version crashes or cannot be pulled. */
  failed: boolean;
  reason: 'CrashLoopBackOff' | 'ImagePullBackOff' | 'Unschedulable' | 'ProbeFailing' | 'NotReady';
  message: string;
}

/**
 * What stops the pods of a new image from becoming ready, if anything does; `events` are the
 * namespace's events, when fetched (for a failing probe, whose message only an event carries).
 */
export function rolloutProblem(pods: Obj[], events: KubeObject[] | undefined): RolloutProblem | undefined {
  for (const pod of pods) {
    const name = pod.metadata?.name;
    for (const c of statuses(pod)) {
      const waiting = c.state?.waiting;
      if (waiting?.reason === 'CrashLoopBackOff' || (c.restartCount > 0 && ending(c.lastState) && !c.ready)) {
        const end = ending(c.lastState) ?? ending(c.state);
        const lines = lastLines(end?.message ?? '', LOG_LINES);
        const crashed = `${end ? `exit code ${end.exitCode}` : 'it exits'}, restarted ${c.restartCount} time${c.restartCount === 1 ? '' : 's'}`;
        return {
          failed: waiting?.reason === 'CrashLoopBackOff',
          reason: 'CrashLoopBackOff',
          message: bounded(`container ${c.name} of pod ${name} crashes at start (${waiting?.reason ?? 'restarting'}: ${crashed})${lines.length ? `; its last log lines: ${lines.join(' | ')}` : ''}`),
        };
      }
      if (waiting?.reason === 'ImagePullBackOff' || waiting?.reason === 'ErrImagePull' || waiting?.reason === 'InvalidImageName') {
        return { failed: waiting.reason !== 'ErrImagePull', reason: 'ImagePullBackOff', message: bounded(`pod ${name} cannot pull its image (${waiting.reason}): ${waiting.message ?? ''}`.trimEnd()) };
      }
    }
    const scheduled = (pod.status?.conditions ?? []).find((c: Obj) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return { failed: false, reason: 'Unschedulable', message: bounded(`pod ${name} cannot be scheduled: ${scheduled.message ?? ''}`) };
    }
  }
  const running = pods.filter((p) => statuses(p).some((c) => c.name === 'app' && c.state?.running && !c.ready));
  if (running.length === 0) return undefined;
  const names = new Set(running.map((p) => p.metadata?.name));
  const probe = ((events ?? []) as Obj[])
    .filter((e) => e.reason === 'Unhealthy' && e.involvedObject?.kind === 'Pod' && names.has(e.involvedObject?.name) && /^Readiness probe failed/.test(e.message ?? ''))
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')))[0];
  if (probe) {
    return { failed: false, reason: 'ProbeFailing', message: bounded(`pod ${probe.involvedObject.name} is not ready: ${String(probe.message).trim()}`) };
  }
  return { failed: false, reason: 'NotReady', message: `${running.length} new pod${running.length === 1 ? ' runs' : 's run'} but ${running.length === 1 ? 'is' : 'are'} not ready yet` };
}
