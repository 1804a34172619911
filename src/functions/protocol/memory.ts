// Keeps the process near its memory target when the inputs keep changing.
//
// The caches are bounded by bytes (--cache-size), but V8 lets its heap grow well past what is
// live before it collects: after a full collection under a stream of new Apps, 42 MiB were live
// in a 100 MiB heap. A V8 heap limit (--max-old-space-size=512) makes it collect earlier, and
// cost the warm App 19 to 25% of its throughput in a same-run A/B. This instead asks V8 for a
// full collection only when RSS is over the target, and at most once per interval, so the
// steady state (the same XRs polled again) never pays for it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()`, exposed at run time instead of by a command-line flag the image would need. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let forced = 0;
/** Full collections every guard of this process asked for (aerogrid_function_memory_collections_total). */
export const forcedCollections = () => forced;

export interface MemoryGuard {
  stop(): void;
}

/** What the guard reads and does; the process's own unless a test gives its own. */
export interface MemoryProbe {
  rss(): number;
  collect(): void;
}

/**
 * Checks RSS every `everyMs`; over `targetBytes`, runs a full collection. A collection does not
 * give pages back to the system at once (RSS read right after one was the same in every one of a
 * run's collections), so whether it helped shows at the next check: over the target again, what is
 * live is larger, and the next check waits twice as long, up to 10 s, so that a process that needs
 * more than its target is not collected over and over. Under the target, checks are every
 * `everyMs` again.
 */
export function guardMemory(targetBytes: number, everyMs = 250, probe?: MemoryProbe): MemoryGuard {
  const { rss, collect } = probe ?? { rss: () => process.memoryUsage.rss(), collect: exposeGc() };
  let wait = everyMs;
  let collectedLast = false;
  let timer: NodeJS.Timeout;
  const check = () => {
    if (rss() > targetBytes) {
      wait = collectedLast ? Math.min(wait * 2, 10_000) : everyMs;
      collect();
      forced++;
      collectedLast = true;
    } else {
      wait = everyMs;
      collectedLast = false;
    }
    timer = setTimeout(check, wait);
    timer.unref();
  };
  timer = setTimeout(check, wait);
  timer.unref();
  return { stop: () => clearTimeout(timer) };
}
