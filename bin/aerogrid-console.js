#!/usr/bin/env node
// Starts the aerogrid web console.
import { start } from './start.js';

await start('console/main');
