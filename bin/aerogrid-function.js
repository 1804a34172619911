#!/usr/bin/env node
// Starts the aerogrid composition function. The TypeScript sources run through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/functions/main.ts');
