import type { RunEvent } from '../workflow/index.js';
import { ExitCode } from '../core/index.js';

/**
 * Watches a run for a stage that can never finish: its promise never settles and nothing else is left to run
 * (a plugin stage that forgot to resolve). Node would then end the process with code 13 and no word, the stage
 * neither done nor failed; this names the stages in flight and ends it as a fatal error instead. Returns the
 * event handler to feed the run's events to, and a function that stops watching.
 */
export function watchForStuckStages(say: (line: string) => void, beforeSaying: () => void = () => undefined): { onEvent: (e: RunEvent) => void; stop: () => void } {
  const inFlight = new Map<string, string>();
  const onEvent = (e: RunEvent) => {
    if (e.type !== 'stage-start' && e.type !== 'stage-end') return;
    const key = `${e.input.key}\u001f${e.stage}`;
    if (e.type === 'stage-start') inFlight.set(key, `${e.input.raw}: stage ${e.stage}`);
    else inFlight.delete(key);
  };
  const onBeforeExit = () => {
    const stuck = [...inFlight.values()];
    // (the progress bars first: they hide the cursor until stopped)
    beforeSaying();
    for (const s of stuck.length ? stuck : ['the run']) say(`videodex: ${s} never finished: its promise never settles and nothing is left running (a plugin stage that does not resolve?); stopping`);
    process.exit(ExitCode.Fatal);
  };
  process.once('beforeExit', onBeforeExit);
  return { onEvent, stop: () => process.off('beforeExit', onBeforeExit) };
}
