// "A stage's dates changed": announced by the domain functions that change
// them (create, update, delete of a stage or its course), after the change is
// committed. The worker hands the news on to the leader (leader-link.ts),
// whose due-time trigger then looks again for the next boundary.
type Listener = () => void;

const listeners = new Set<Listener>();

/** Subscribes; returns the unsubscribe. */
export function onStagesChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function announceStagesChanged(): void {
  for (const listener of listeners) listener();
}
