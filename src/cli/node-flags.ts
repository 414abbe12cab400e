import { spawn } from 'node:child_process';
import { releaseHungUpTerminal } from './hangup.js';

/**
 * Node flags the batch commands run with. Re-tagging, processing and exports parse and build many short-lived
 * objects per record; a 64 MB young generation (16 MB by default) lets most of them die before a collection
 * copies them. Re-tagging after a rule edit ran 1.4x faster (1.6x less CPU) for 20-40 MB more memory; 128 MB
 * gained nothing more. V8 reads it only at start-up (`v8.setFlagsFromString` later changed nothing, measured), and
 * a shebang cannot pass it portably (`env -S` is missing from BusyBox, so Alpine images could not start the
 * command), so the launcher starts Node again with it (`relaunchWithNodeFlags`).
 */
export const CLI_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** Commands whose run is long enough, and allocation-heavy enough, to pay for a second Node start (~50 ms). */
export const BATCH_COMMANDS: ReadonlySet<string> = new Set(['process', 'retag', 'export', 'dataset', 'db', 'worker', 'serve']);

/** Set in the relaunched process: never relaunch twice, whatever its flags say. */
const RELAUNCHED = 'VIDEODEX_NODE_RELAUNCHED';

/** The young generation's semi-space this process started with, in MB, or null when Node's default is used. */
export function semiSpaceMb(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): number | null {
  // NODE_OPTIONS first: options on the command line take precedence
  const all = [...nodeOptions.split(/\s+/), ...execArgv];
  let mb: number | null = null;
  for (const a of all) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(a);
    if (m) mb = Number(m[1]);
  }
  return mb;
}

/**
 * For a batch command started without CLI_NODE_FLAGS: runs it in a child Node with them (`runWithNodeFlags`).
 * Resolves with null when this process should run the command itself: not a batch command, the young generation
 * already set (by the user too), already relaunched, or a debugger attached (`--inspect*`, whose port the child
 * could not take).
 */
export async function relaunchWithNodeFlags(argv: readonly string[] = process.argv, batch: ReadonlySet<string> = BATCH_COMMANDS): Promise<null> {
  if (process.env[RELAUNCHED]) stopWithLauncher();
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (!command || !batch.has(command) || semiSpaceMb() !== null || process.env[RELAUNCHED] || process.execArgv.some((a) => a.startsWith('--inspect'))) return null;
  return runWithNodeFlags(argv);
}

/**
 * In the relaunched child: stops as on SIGTERM when the launcher is gone. A launcher killed outright (SIGKILL, an
 * OOM kill) cannot pass anything on, and its child, the one doing the work, went on alone; the channel the
 * launcher opened closes with it whatever killed it. The channel does not keep the child alive.
 */
function stopWithLauncher(): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  takeInterruptsFromLauncher();
}

/** What the launcher sends when it got a SIGINT (see takeInterruptsFromLauncher). */
const INTERRUPT_MESSAGE = 'videodex:SIGINT';

/**
 * In the relaunched child: a SIGINT the launcher got is this process's too, once. Ctrl-C in a terminal reaches
 * both processes (one process group), but `kill -INT <pid>` from a supervisor or a script reaches the launcher
 * alone, which used to ignore it: the work went on. A second SIGINT means "quit now" to the commands that stop
 * gracefully, so the launcher's word counts only when this process did not get one itself just then.
 */
function takeInterruptsFromLauncher(): void {
  let own = 0;
  // SIGINTs this process sent itself for the launcher: not the terminal's, so they do not hide the next message
  let forwarded = 0;
  const mark = () => {
    if (forwarded > 0) forwarded--;
    else own = Date.now();
  };
  // Seen only while the command listens for SIGINT itself: a listener of ours alone would take away Node's
  // default (exit at once), which the other commands rely on.
  process.on('newListener', (event, fn) => {
    if (event === 'SIGINT' && fn !== mark && !process.listeners('SIGINT').includes(mark)) process.prependListener('SIGINT', mark);
  });
  process.on('removeListener', (event) => {
    if (event === 'SIGINT' && process.listeners('SIGINT').every((l) => l === mark)) process.off('SIGINT', mark);
  });
  process.on('message', (m) => {
    if (m !== INTERRUPT_MESSAGE) return;
    const sent = Date.now();
    // the terminal's own SIGINT to this process may be handled just after the message
    setTimeout(() => {
      if (own >= sent - 500) return;
      // counted only while a listener of ours will see it (without one, the default ends the process)
      if (process.listeners('SIGINT').includes(mark)) forwarded++;
      process.kill(process.pid, 'SIGINT');
    }, 100);
  });
}

/**
 * Runs the same script again in a child Node with CLI_NODE_FLAGS (stdio shared, so pipes and the terminal work as
 * before), forwards SIGTERM/SIGHUP to it and SIGINT as a message (Ctrl-C in a terminal reaches both processes),
 * and ends as the child ended: its exit code, or the same signal. Never returns.
 */
export async function runWithNodeFlags(argv: readonly string[] = process.argv): Promise<never> {
  // (the channel tells the child when this process is gone: see stopWithLauncher)
  const child = spawn(process.execPath, [...CLI_NODE_FLAGS, ...process.execArgv, ...argv.slice(1)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [RELAUNCHED]: '1' } });
  const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    // passed as a message: the child takes it unless the terminal gave it the same SIGINT (takeInterruptsFromLauncher)
    ['SIGINT', () => void (child.connected && child.send(INTERRUPT_MESSAGE, () => undefined))],
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGHUP')],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  for (const [sig, fn] of handlers) process.off(sig, fn);
  if (signal) process.kill(process.pid, signal);
  // the child outlived a closed terminal (worker, serve): so must this process's exit (see releaseHungUpTerminal)
  releaseHungUpTerminal();
  process.exit(code ?? 1);
}
