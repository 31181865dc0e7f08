#!/usr/bin/env node
// Prints the Markdown list of finding codes from the catalogue in dist/ (run `npm run build` first),
// so README and docs/finding-codes.md are generated, not written twice:
//   node scripts/finding-codes.mjs > docs/finding-codes.md
import { renderFindingCodes } from '../dist/oauth/finding-codes.js';

process.stdout.write(renderFindingCodes());
