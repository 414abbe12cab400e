/**
 * Node flags the `videodex` launcher starts with (its shebang: `#!/usr/bin/env -S node <flags>`; a test keeps
 * the two the same). Re-tagging, processing and exports parse and build many short-lived objects per record; a
 * 64 MB young generation (16 MB by default) lets most of them die before a collection copies them. Re-tagging
 * after a rule edit ran 1.4x faster (1.6x less CPU) for 20-40 MB more memory; 128 MB gained nothing more. V8
 * reads it only at start-up, so it has to be a flag, not a runtime setting.
 */
export const CLI_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

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
