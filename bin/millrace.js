#!/usr/bin/env node
// The bin stays a tiny JS file so `npx millrace` works straight after `npm ci` (which builds dist/).
import('../dist/cli/main.js').then((cli) => cli.main(process.argv.slice(2)));
