#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
// The installed command: Node 22 runs the TypeScript sources directly (type stripping), no build step.
import { main } from "../src/cli.ts";

process.exit(await main(process.argv.slice(2)));
