/** Runs the `subshift` command line: a command's failure is printed and exits with code 1. */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { createRequire } from "node:module"
import { root } from "./index.js"
import { CommandFailed } from "./Remote.js"

// By the package's own name, so that the bundle (`npm run bundle`) finds it too.
const version: string = createRequire(import.meta.url)("@subshift/http-server/package.json").version

const run = Command.run(root, { name: "subshift", version })

run(process.argv).pipe(
  Effect.catchIf((e): e is CommandFailed => e instanceof CommandFailed, (e) =>
    Effect.zipRight(Console.error(`subshift: ${e.message}`), Effect.sync(() => void (process.exitCode = 1)))),
  // The command line has printed what was wrong with the arguments already.
  Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => void (process.exitCode = 2))),
  Effect.provide(NodeContext.layer),
  (program) => NodeRuntime.runMain(program as Effect.Effect<void, unknown>, { disableErrorReporting: false, disablePrettyLogger: true })
)
