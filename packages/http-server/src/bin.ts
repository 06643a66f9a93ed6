/**
 * `npm run dev`: serves the API from the TypeScript sources (the built `subshift serve` runs the
 * same program).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { serve } from "./cli/Serve.js"

NodeRuntime.runMain(serve, { disableErrorReporting: false, disablePrettyLogger: true })
