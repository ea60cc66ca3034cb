// Is the process a lock names still the one that took it? A pid alone cannot
// say: after a crash the pid may be reused by an unrelated process, which
// would then count as the old leader "alive" forever. A process's start time
// (field 22 of /proc/<pid>/stat, in clock ticks since boot) tells instances
// apart. Where /proc cannot be read the answer is "unknown", and callers fall
// back to the lock's staleness.
import fs from 'node:fs';

/** Field 22 of /proc/<pid>/stat, or null where it cannot be read. */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')':
  // the fields after the last ')' start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3] ?? null;
}

/** True when pid is a live process on this host (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * 'dead' when no process has the pid, or one does but started at another
 * time than recorded (the pid was reused); 'alive' when it matches or no
 * start time could be compared.
 */
export function processState(pid: number, recordedStartTime: string | null | undefined): 'alive' | 'dead' {
  if (!isAlive(pid)) return 'dead';
  if (!recordedStartTime) return 'alive';
  const now = processStartTime(pid);
  return now !== null && now !== recordedStartTime ? 'dead' : 'alive';
}
