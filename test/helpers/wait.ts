// Polling until something is true, for tests that wait on a process, a
// database row or a timer they do not control. Nothing here starts anything.

/** Checks every 50 ms until `check` is true; throws naming `what` after timeoutMs. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
