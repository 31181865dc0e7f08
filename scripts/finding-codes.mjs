#!/usr/bin/env node
// Rewrites the finding-code list in README.md from the catalogue in dist/ (`npm run finding-codes` builds first).
import { readFileSync, writeFileSync } from 'node:fs';
import { withFindingCodes } from '../dist/oauth/finding-codes.js';

const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withFindingCodes(readFileSync(readme, 'utf8')));
