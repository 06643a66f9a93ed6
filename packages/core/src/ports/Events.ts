/**
 * The `Events` port: the audit trail, read in write order from a cursor. Events are written by
 * the stores in the same transaction as the change they record.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { StoredEvent } from "../domain/Event.js"

/** A page query: events after a sequence number, optionally for one partner or subscription. */
export interface EventQuery {
  readonly after?: number | undefined
  readonly limit: number
  readonly partnerOrg?: string | undefined
  readonly subscriptionId?: string | undefined
}

/** The events port. */
export class Events extends Context.Tag("@subshift/core/Events")<
  Events,
  { readonly list: (query: EventQuery) => Effect.Effect<ReadonlyArray<StoredEvent>, StoreUnavailable> }
>() {}
