/** CPU and memory of a process from /proc (Linux), so the driver can measure the controller from outside. */
import { readFileSync } from 'node:fs';

export interface ProcStats {
  /** utime + stime in seconds. */
  cpuSeconds: number;
  /** The main (JS) thread's utime + stime; the rest is V8's GC/compiler helpers and libuv's pool. */
  mainThreadCpuSeconds: number;
  rssBytes: number;
  /** Peak RSS (VmHWM). */
  peakRssBytes: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function procStats(pid: number): ProcStats {
  try {
    const cpu = (file: string) => {
      const stat = readFileSync(file, 'utf8');
      // Fields after the ")" closing the command name: state is field 3; utime 14, stime 15.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
    };
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { cpuSeconds: cpu(`/proc/${pid}/stat`), mainThreadCpuSeconds: cpu(`/proc/${pid}/task/${pid}/stat`), rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return { cpuSeconds: NaN, mainThreadCpuSeconds: NaN, rssBytes: NaN, peakRssBytes: NaN };
  }
}
