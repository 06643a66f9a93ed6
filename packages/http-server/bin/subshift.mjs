#!/usr/bin/env node
// The `subshift` command line, from the built JavaScript: `subshift --help` lists the commands.
await import("../dist/cli/main.js")
