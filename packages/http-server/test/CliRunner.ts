/** Runs the `subshift` command line in the test's process, capturing what it prints. */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { root } from "@subshift/http-server/cli/index"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** Runs the command line with these arguments and environment; answers what it printed and how it ended. */
export const cli = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const out: Array<string> = []
  const console = {
    ...Effect.runSync(Console.consoleWith(Effect.succeed)),
    log: (...line: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(line.join(" "))),
    error: (...line: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(line.join(" ")))
  } as Console.Console
  const exit = await Effect.runPromiseExit(
    Command.run(root, { name: "subshift", version: "0.0.0" })(["node", "subshift", ...args]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer)
    )
  )
  return { out: out.join("\n"), exit }
}
