/**
 * The operator plane on the server: the admin middlewares and every admin group's handlers.
 * A new group's handlers go in their own file here and are added to `groups`; `Server.ts` only
 * provides `layer`.
 */
import * as Ids from "@subshift/core/ports/Ids"
import { OperatorRecords } from "@subshift/core/usecases/OperatorRecords"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import { SubscriptionImport } from "@subshift/core/usecases/SubscriptionImport"
import * as Layer from "effect/Layer"
import type { ServerConfig } from "../Config.js"
import * as Auth from "./Auth.js"
import { CatalogLive } from "./Catalog.js"
import { KeysLive } from "./Keys.js"
import { RecordsLive } from "./Records.js"
import { WebhooksLive } from "./Webhooks.js"

/** Every admin group's handlers. */
export const groups = Layer.mergeAll(KeysLive, RecordsLive, CatalogLive, WebhooksLive).pipe(
  Layer.provide([SubscriptionImport.Default, PendingChanges.Default]),
  Layer.provide(OperatorRecords.Default),
  Layer.provide(Ids.layerRandom)
)

/** The admin middlewares for the configured keys. */
export const middlewares = (config: Pick<ServerConfig, "apiKeys">) => Auth.layer(config)

/** Whether a request's body is left for its handler to stream (the NDJSON import): the guards do not read it. */
export { isImport as streamsBody } from "./Import.js"
