// An object's age as kubectl prints it. Pure and free of Node, so the console's page uses it too.

/** kubectl's age: 45s, 12m, 5h, 3d. */
export function age(created: string | undefined, now: Date): string {
  const t = Date.parse(created ?? '');
  if (!Number.isFinite(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
