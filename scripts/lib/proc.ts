// A process's memory as Linux reports it in /proc/PID/status, for the benchmarks and tests that
// measure the function, and for Argo CD's figures.
import { readFileSync } from 'node:fs';

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
