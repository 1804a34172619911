// jest's globalTeardown: once every test file has run, no process a test started may still run.
// One that does (an etcd a failed start left behind) holds its pipes open, and jest then never
// exits: CI ran out of time instead of reporting the failure. Such processes are named, killed,
// and the run fails.
const { readdirSync, readFileSync } = require('node:fs');

function processes() {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      // Field 4 of /proc/PID/stat, after the command's name in parentheses, is the parent's pid.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      return [{ pid: Number(pid), ppid, cmd }];
    } catch {
      return [];
    }
  });
}

/** This process's children, their children, and so on. */
function descendants(root) {
  const all = processes();
  const found = [];
  for (let parents = new Set([root]); parents.size;) {
    const next = all.filter((p) => parents.has(p.ppid));
    found.push(...next);
    parents = new Set(next.map((p) => p.pid));
  }
  return found;
}

module.exports = async function leftovers() {
  const left = descendants(process.pid);
  if (!left.length) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  throw new Error(`processes the tests started were still running after the last test (killed now):\n${left.map((p) => `  ${p.pid} ${p.cmd.slice(0, 200)}`).join('\n')}`);
};
