#!/usr/bin/env node
// The appliance runs compiled JavaScript (built by `npm install`), so the shell starts fast.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
