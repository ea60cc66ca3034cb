// What a composition root has started, as a list of releasers pushed as each
// part starts and run in reverse on stop. Every releaser runs even when one
// before it failed; the failures are collected and thrown together at the end.
export type Releaser = () => void | Promise<void>;

export class Releasers {
  private readonly releasers: { name: string; release: Releaser }[] = [];
  private releasing: Promise<void> | undefined;

  push(name: string, release: Releaser): void {
    this.releasers.push({ name, release });
  }

  /** Runs every releaser, newest first; a second call returns the same promise. */
  releaseAll(): Promise<void> {
    return (this.releasing ??= (async () => {
      const failures: unknown[] = [];
      for (const { name, release } of this.releasers.reverse()) {
        try {
          await release();
        } catch (err) {
          failures.push(err instanceof Error ? Object.assign(err, { releaser: name }) : err);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `${failures.length} parts failed to stop`);
    })());
  }
}
