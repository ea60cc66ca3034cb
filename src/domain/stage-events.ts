// "Stages changed": announced by the domain functions that change a stage's
// dates (create, update, delete of a stage or its course) and by the sweep
// that moves statuses, after the change is committed. The worker hands the
// news on (scheduler/leader-link.ts): open live pages look again, and a
// change of dates makes the leader look again for the next boundary.
/**
 * 'dates': a person changed when stages open or close; 'statuses': the sweep
 * moved some; 'members': someone left a course, so its open pages check who
 * may still see it.
 */
export type StageChange = 'dates' | 'statuses' | 'members';

type Listener = (change: StageChange) => void;

const listeners = new Set<Listener>();

/** Subscribes; returns the unsubscribe. */
export function onStagesChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function announceStagesChanged(change: StageChange = 'dates'): void {
  for (const listener of listeners) listener(change);
}
