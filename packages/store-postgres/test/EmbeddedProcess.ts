/**
 * A process that holds the embedded engine on the data directory named by its first argument and
 * prints the engine's port as a JSON line, until it is killed.
 */
import { Embedded } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const server = yield* Embedded.start({ dataDir: process.argv[2] })
  yield* Effect.sync(() => console.log(JSON.stringify({ pid: process.pid, port: server.port })))
  return yield* Effect.never
})))
