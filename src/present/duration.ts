// Durations as people type them on a command line, for the CLI's flags and the console's.

/** 30s, 10m, 1h or 500ms, in milliseconds; a bare number is seconds. Undefined when it is none of these. */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : undefined;
}

export const DURATION_HINT = 'use a duration such as 30s, 10m or 1h';
