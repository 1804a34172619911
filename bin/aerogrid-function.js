#!/usr/bin/env node
// Starts the aerogrid composition function.
import { start } from './start.js';

await start('functions/main');
