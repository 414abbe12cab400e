import cliProgress from 'cli-progress';
import type { RunEvent, RunSummary } from '../workflow/index.js';
import { listPlace, type InputItem } from '../sources/index.js';
import { scrubbed } from './shared-options.js';

export interface Reporter {
  onEvent(e: RunEvent): void;
  stop(): void;
}

/**
 * Control characters written as escapes: a newline in a file name split the line, and an escape sequence in
 * one would have been played by the terminal. Error messages need it as much as input names: they quote the
 * file name (`<name>: openai host: ...`), a server's answer or a tool's stderr.
 */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function name(raw: string): string {
  const shown = printable(raw);
  return shown.length > 60 ? `…${shown.slice(-59)}` : shown;
}

/** An input as a failure line names it: a list's entry by its list and row first, as input problems are named. */
function place(input: InputItem): string {
  return input.list ? `${listPlace(input.list)}: ${name(input.raw)}` : name(input.raw);
}

/**
 * Progress on stderr: one bar per stage on a terminal, plain lines otherwise (CI logs, pipes). Failures are
 * always printed as `videodex: <input>: <stage>: <message>`.
 */
export function createReporter(stream: NodeJS.WriteStream = process.stderr, quiet = false): Reporter {
  const tty = Boolean(stream.isTTY) && !quiet;
  let total = 0;
  let finished = 0;
  const line = (raw: string) => {
    const text = scrubbed(raw);
    if (tty && multibar) multibar.log(text + '\n');
    else stream.write(text + '\n');
  };
  let multibar: cliProgress.MultiBar | null = null;
  const skipNotes = new Set<string>();
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          total = e.inputs;
          if (tty) {
            multibar = new cliProgress.MultiBar(
              { stream, format: ' {stage} |{bar}| {value}/{total} {note}', hideCursor: true, clearOnComplete: false, autopadding: true },
              cliProgress.Presets.shades_grey,
            );
            for (const s of e.stages) bars.set(s, multibar.create(total, 0, { stage: s.padEnd(10), note: '' }));
            // The redraw timer must not keep the process alive by itself: a run whose work can never finish (a
            // stage that never settles) is told by the event loop going empty (see stuck-run.ts).
            const bar = multibar as unknown as { timer?: NodeJS.Timeout | null; on(event: string, fn: () => void): void };
            bar.on('update-post', () => bar.timer?.unref?.());
          } else if (!quiet) {
            stream.write(`videodex: ${total} input${total === 1 ? '' : 's'}, stages: ${e.stages.join(' → ')}\n`);
          }
          break;
        case 'input-problem':
          line(`videodex: ${name(e.raw)}: ${printable(e.message)}`);
          break;
        case 'replaced':
          // said even with --quiet: a record left the library (or moved) without being asked by name
          line(
            `videodex: ${place(e.input)}: the file was replaced by another video (${e.videoId}); ` +
              (e.repointedTo ? `the record of the one that was there (${e.replaced}) now points at its copy ${name(e.repointedTo)}` : `the record of the one that was there (${e.replaced}) is removed`),
          );
          break;
        case 'stage-end':
          // a stage run again for the same input (tagging after a hand edit) is one input on the bar, not two
          if (!e.repeat) bars.get(e.stage)?.increment(1, { note: e.outcome === 'failed' ? 'failed' : '' });
          else if (e.outcome === 'failed') bars.get(e.stage)?.update({ note: 'failed' });
          if (e.outcome === 'failed') line(`videodex: ${place(e.input)}: ${e.stage}: ${printable(e.error ?? 'failed')}`);
          // A stage skipped for a run-wide reason (no model endpoint) is said once, not per video.
          if (e.outcome === 'skipped' && e.error && !skipNotes.has(`${e.stage}\0${e.error}`)) {
            skipNotes.add(`${e.stage}\0${e.error}`);
            if (!quiet) line(`videodex: ${e.stage} skipped: ${printable(e.error)}`);
          }
          break;
        case 'plan':
          // a list's entry by its list and row, as failure lines name it: rows cutting clips of one video share its URL
          stream.write(`${place(e.input)}${e.videoId ? ` (${e.videoId})` : ''}: ${e.lines.length ? `would run ${printable(e.lines.join('; '))}` : 'up to date, nothing to run'}\n`);
          break;
        case 'input-end':
          finished++;
          if (!tty && !quiet && e.status !== 'planned') {
            stream.write(`[${finished}/${total}] ${place(e.input)}${e.videoId ? ` (${e.videoId})` : ''}: ${e.status}\n`);
          }
          break;
        default:
          break;
      }
    },
    stop() {
      if (!multibar) return;
      // the bars write the lines logged since their last redraw only with the next one, and stopping them draws
      // none: a failure of the run's last moments was never shown. One more redraw writes them.
      multibar.update();
      multibar.stop();
      // lines after this (a stuck run's notes) go straight to the stream
      multibar = null;
    },
  };
}

/** The end-of-run summary for stderr. */
export function formatSummary(s: RunSummary, dryRun = false): string {
  if (dryRun) {
    const tokens = s.estimatedTokens ? `; model requests would use ~${s.estimatedTokens} prompt tokens in total` : '';
    return `videodex: dry run: ${s.inputs} input(s), nothing was run${tokens}`;
  }
  const lines = [
    `videodex: ${s.inputs} input(s), ${s.videos.length} video(s): ${s.done} processed, ${s.unchanged} unchanged, ${s.failed} failed; ` +
      `${s.stagesRun} stage run(s), ${s.stagesUpToDate} up to date, ${s.stagesSkipped} skipped; ${(s.ms / 1000).toFixed(1)} s`,
  ];
  const fresh = s.failures.filter((f) => !f.earlier);
  const earlier = s.failures.filter((f) => f.earlier);
  const byCause = new Map<string, number>();
  for (const f of fresh) {
    // a message that starts with its video's name (describe's) is grouped without it: a refused key over a thousand
    // videos was a thousand "failed ×1" lines, one per name
    const own = f.videoName ? `${f.videoName}: ` : '';
    const cause = `${f.stage}: ${printable(own && f.error.startsWith(own) ? f.error.slice(own.length) : f.error)}`;
    byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
  }
  for (const [cause, n] of byCause) lines.push(`  failed ×${n}: ${cause}`);
  if (earlier.length) lines.push(`  ${earlier.length} failure(s) from earlier runs were not retried; use --retry-failed`);
  if (s.problems.length) lines.push(`  ${s.problems.length} input problem(s) (see above)`);
  const removed = s.replaced.filter((r) => !r.repointedTo).length;
  if (s.replaced.length) lines.push(`  ${s.replaced.length} file(s) replaced in place: ${removed} old record(s) removed, ${s.replaced.length - removed} re-pointed at a copy (see above)`);
  return lines.join('\n');
}
