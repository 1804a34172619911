#!/usr/bin/env node
// The aerogrid CLI.
import { start } from './start.js';

await start('cli/main');
