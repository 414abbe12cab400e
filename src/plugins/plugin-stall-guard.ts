/** What a plugin's promise was for, and how to fail it: called once nothing is left that could settle it. */
interface Waiting {
  fail: (err: Error) => void;
  stalled: () => Error;
}

const waiting = new Set<Waiting>();

/**
 * Node empties its event loop while a promise is still pending only when nothing can ever settle it: it then emits
 * `beforeExit` and, with no more work, ends the process with code 13 and no word. The plugin calls waited on fail
 * instead, so the caller reports them (naming the plugin) and goes on, or stops with a message.
 */
function onBeforeExit(): void {
  const all = [...waiting];
  waiting.clear();
  process.off('beforeExit', onBeforeExit);
  // failed from a new turn of the loop: what a caller does next in promise callbacks alone (the next record's tagger)
  // would not keep the loop alive, and a second stall would end the process as silently as the first
  setImmediate(() => {
    for (const w of all) w.fail(w.stalled());
  });
}

/**
 * `value` as a promise that also rejects with `stalled()` when the process runs out of work while it is pending (a
 * plugin's promise that never settles: a factory, a tagger or an exporter that forgot to resolve). A value that is
 * not a promise is returned as it is, at no cost (most taggers are synchronous).
 */
export function unlessStalled<T>(value: T | PromiseLike<T>, stalled: () => Error): T | Promise<T> {
  if (!value || (typeof value !== 'object' && typeof value !== 'function') || typeof (value as PromiseLike<T>).then !== 'function') return value as T;
  return new Promise<T>((resolve, reject) => {
    const entry: Waiting = { fail: reject, stalled };
    const done = () => {
      waiting.delete(entry);
      if (waiting.size === 0) process.off('beforeExit', onBeforeExit);
    };
    if (waiting.size === 0) process.on('beforeExit', onBeforeExit);
    waiting.add(entry);
    (value as PromiseLike<T>).then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
        reject(err);
      },
    );
  });
}
