import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds a process tree has used: utime+stime of each process under `root` (by parent links in
 * /proc) plus cutime+cstime, the children it has reaped, so short-lived processes (Postfix's smtpd,
 * cleanup, local) count as well as long-lived ones (mxgate's engine and listener workers).
 */
export function treeCpuSeconds(root: number): number {
  const procs = processes();
  const parent = new Map(procs.map((x) => [x.pid, Number(x.f[1])]));
  const inTree = (pid: number) => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops += 1) if (p === root) return true;
    return false;
  };
  // Fields after "pid (comm)": 11-14 are utime, stime, cutime, cstime (clock ticks, 100 per second on Linux).
  return procs.filter((x) => inTree(x.pid)).reduce((sum, x) => sum + [11, 12, 13, 14].reduce((t, i) => t + Number(x.f[i]), 0), 0) / 100;
}

/** CPU seconds of one process alone (all its threads, not its children). */
export function processCpuSeconds(pid: number): number {
  const f = stat(String(pid));
  if (!f) throw new Error(`process ${pid} is gone`);
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return processes()
    .filter((x) => Number(x.f[1]) === pid)
    .map((x) => x.pid);
}

/** Every process with the fields of its /proc/PID/stat after "pid (comm)" (1 is the parent's pid). */
function processes(): { pid: number; f: string[] }[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      const f = stat(p);
      return f ? [{ pid: Number(p), f }] : [];
    });
}

function stat(pid: string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Wait until the tree stops using CPU (the queue has drained), at most 15 s; its CPU seconds then. */
export async function settledCpu(root: number): Promise<number> {
  let last = treeCpuSeconds(root);
  for (let i = 0; i < 75; i += 1) {
    await new Promise((r) => setTimeout(r, 200));
    const now = treeCpuSeconds(root);
    if (now - last < 0.01) return now;
    last = now;
  }
  return last;
}
