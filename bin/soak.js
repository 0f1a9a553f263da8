#!/usr/bin/env node
// Entry of the `soak` command: runs the TypeScript CLI through tsx, so the package
// needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./soak.ts');
