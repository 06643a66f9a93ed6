import * as Effect from "effect/Effect"
import * as Money from "@subshift/core/domain/Money"
import { program, render } from "./program.js"

const { basket, committed, picked } = await Effect.runPromise(program)
console.log(`Opened ${basket.id} on ${basket.subscriptionId} (${basket.forSubscriptionOffer.name}).`)
console.log(`Upgrades: ${basket.nextActions.upgrades.map((o) => `${o.name} ${Money.format(o.price)}`).join(", ")}`)
console.log(`Add-ons: ${basket.nextActions.crossSells.map((o) => `${o.name} ${Money.format(o.price)}`).join(", ")}`)
console.log("Picked the upgrade and an add-on; the quote:")
for (const line of render(picked.quote)) console.log(line)
for (const item of picked.systemItems) console.log(`  (automatic) ${item.action} ${item.offerId}: ${item.reason.message}`)
console.log(`Committed amendment ${committed.amendment.id}; the subscription is now on ${committed.subscription.offer.offerId} (version ${committed.subscription.version}).`)
