// A process's memory and CPU time as Linux reports them in /proc, for the benchmarks and tests
// that measure the function, for Argo CD's figures and for the scale run.
import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory now (VmRSS) and its peak (VmHWM), in bytes. Throws when the process is gone. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const bytes = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rss: bytes('VmRSS'), hwm: bytes('VmHWM') };
}

const TICKS = 100; // USER_HZ: clock ticks per second in /proc/PID/stat on Linux

/** CPU time the process has used so far (user + system), in seconds. Throws when it is gone. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14 and 15)
}

/** Every process under `root` (children, grandchildren…), with its command line. */
export function descendantsOf(root: number): { pid: number; cmdline: string[] }[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(under).flatMap((pid) => {
    try {
      return [{ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) }];
    } catch {
      return [];
    }
  });
}
