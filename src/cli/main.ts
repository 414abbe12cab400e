#!/usr/bin/env -S node --max-semi-space-size=64
import { main } from './program.js';

process.exitCode = await main(process.argv);
