#!/usr/bin/env node
import { relaunchWithNodeFlags } from './node-flags.js';

// Batch commands run in a child Node with CLI_NODE_FLAGS; the CLI itself is loaded only where it runs.
await relaunchWithNodeFlags();
const { main } = await import('./program.js');
process.exitCode = await main(process.argv);
const { exitIfLingering } = await import('./linger-guard.js');
exitIfLingering();
