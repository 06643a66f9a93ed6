#!/usr/bin/env node
// The `subshift` command. `subshift serve` starts the HTTP server from the built JavaScript; the
// configuration comes from the environment (see the package README).
const usage = `Usage: subshift <command>

Commands:
  serve     Start the HTTP server (configured by environment variables: PORT, HOST,
            SUBSHIFT_STORE, DATABASE_URL, NODE_ENV, ...)
  help      Show this message

Options:
  -h, --help     Show this message
  -v, --version  Print the version`

const [command, ...rest] = process.argv.slice(2)

if (command === "serve" && rest.length === 0) {
  await import("../dist/bin.js")
} else if (command === "-v" || command === "--version") {
  const { createRequire } = await import("node:module")
  console.log(createRequire(import.meta.url)("../package.json").version)
} else if (command === undefined || command === "help" || command === "-h" || command === "--help") {
  console.log(usage)
} else {
  console.error(command === "serve" ? `subshift serve takes no arguments, got: ${rest.join(" ")}` : `Unknown command: ${command}`)
  console.error(usage)
  process.exitCode = 2
}
