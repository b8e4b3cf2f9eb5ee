// CPU time from /proc, for the profiling harnesses (prof-cluster.ts, prof-drain.ts): the
// machine's, and each kind of process's (server, workers, PostgreSQL, the bench itself).
import { readdirSync, readFileSync } from 'node:fs';

/** The machine's busy CPU time so far, ms (all processes: server, workers, PostgreSQL, this one). */
export function machineBusyMs(): number {
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq) * 10; // clock ticks of 10 ms
}

/** CPU time so far by kind of process (server, worker, postgres, this bench), ms. */
export function busyByKind(): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const kind = /millrace\.js server /.test(cmd)
        ? 'server'
        : /millrace\.js worker /.test(cmd)
          ? 'workers'
          : cmd.startsWith('postgres')
            ? 'postgres'
            : Number(pid) === process.pid
              ? 'bench'
              : undefined;
      if (!kind) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      kinds.set(kind, (kinds.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The process ended meanwhile.
    }
  }
  return kinds;
}
