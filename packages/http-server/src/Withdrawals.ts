/**
 * The handlers of the withdrawal routes: the subscriber (checkout API) or the partner that sold
 * the subscription (self-service API) takes back its scheduled change, through the core's one
 * withdrawal operation, as whoever the auth middleware says is calling.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { CurrentPrincipal } from "@subshift/core/domain/Principal"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const withdrawAs = (pendingChanges: PendingChanges) => ({ path }: { readonly path: { readonly id: string } }) =>
  Effect.flatMap(CurrentPrincipal, (by) => pendingChanges.withdraw(path.id, { by }))

/** The customer's withdrawal route. */
export const CheckoutPendingChangeLive = HttpApiBuilder.group(SubshiftApi, "checkoutPendingChange", (handlers) =>
  Effect.map(PendingChanges, (pendingChanges) => handlers.handle("withdraw", withdrawAs(pendingChanges))))

/** The partner's withdrawal route. */
export const PartnerPendingChangeLive = HttpApiBuilder.group(SubshiftApi, "partnerPendingChange", (handlers) =>
  Effect.map(PendingChanges, (pendingChanges) => handlers.handle("withdraw", withdrawAs(pendingChanges))))

/** Both withdrawal groups. */
export const layer = Layer.merge(CheckoutPendingChangeLive, PartnerPendingChangeLive)
