#!/usr/bin/env node
// The aerogrid CLI. The TypeScript sources run through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
