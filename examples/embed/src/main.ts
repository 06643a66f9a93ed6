import * as Effect from "effect/Effect"
import * as Money from "@subshift/core/domain/Money"
import { program, render } from "./program.js"
import { seatProgram } from "./seats.js"
import { programWithWithdrawal } from "./withdraw.js"

const { basket, committed, picked } = await Effect.runPromise(program)
console.log(`Opened ${basket.id} on ${basket.subscriptionId} (${basket.forSubscriptionOffer.name}).`)
console.log(`Upgrades: ${basket.nextActions.upgrades.map((o) => `${o.name} ${Money.format(o.price)}`).join(", ")}`)
console.log(`Add-ons: ${basket.nextActions.crossSells.map((o) => `${o.name} ${Money.format(o.price)}`).join(", ")}`)
console.log("Picked the upgrade and an add-on; the quote:")
for (const line of render(picked.quote)) console.log(line)
for (const item of picked.systemItems) console.log(`  (automatic) ${item.action} ${item.offerId}: ${item.reason.message}`)
console.log(`Committed amendment ${committed.amendment.id}; the subscription is now on ${committed.subscription.offer.offerId} (version ${committed.subscription.version}).`)

// A seat change: 5 → 8 seats on Team, charged for the days left and applied today.
const seatChange = await Effect.runPromise(seatProgram)
console.log(`Seats on ${seatChange.seats.name}: ${seatChange.seats.quantity} held, ${seatChange.seats.minQuantity} to ${seatChange.seats.maxQuantity} allowed; going to 8:`)
for (const line of render(seatChange.priced.quote)) console.log(line)
console.log(`Committed amendment ${seatChange.committed.amendment.id}; the team now has ${seatChange.committed.subscription.offer.quantity} seats.`)

// Taking back a scheduled change (a fresh store: the walk again, then a downgrade withdrawn).
const [, { locked, reopened, scheduled, withdrawn }] = await Effect.runPromise(programWithWithdrawal)
console.log(`Scheduled a downgrade to ${scheduled.subscription.pendingChange?.actions.find((a) => a.type === "offer" && a.kind === "add")?.offerId} on ${scheduled.subscription.pendingChange?.effectiveDate}; a new basket is refused: ${locked?.message}.`)
console.log(`Withdrew it (amendment ${withdrawn.withdrawn.amendmentId}): still on ${withdrawn.subscription.offer.offerId} with ${withdrawn.subscription.addOns.map((l) => l.offerId).join(", ")}, and a new basket opens (${reopened.id}).`)
