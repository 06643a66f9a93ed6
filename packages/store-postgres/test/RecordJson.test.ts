import { describe, expect, it } from "@effect/vitest"
import * as Event from "@subshift/core/domain/Event"
import { Subscription } from "@subshift/core/domain/Subscription"
import { Fixtures } from "@subshift/testing"
import * as Arbitrary from "effect/Arbitrary"
import * as Schema from "effect/Schema"
import { eventsJson, subscriptionJson } from "../src/internal/json.js"

const subscriptionViaSchema = Schema.encodeSync(Schema.parseJson(Subscription))
const eventsViaSchema = Schema.encodeSync(Schema.parseJson(Schema.Array(Event.Event)))

describe("subscription and event JSON", () => {
  // Compared as values: the column is jsonb, which keeps no key order.
  it("the direct serialisation of a subscription and of its events equals the Schema's encoding", () => {
    const plain = Fixtures.subscription()
    const full = Fixtures.subscription({ partnerOrg: "org-1", billGroupId: "bg-1", endDate: plain.currentPeriod.end })
    for (const subscription of [plain, full]) {
      expect(JSON.parse(subscriptionJson(subscription))).toEqual(JSON.parse(subscriptionViaSchema(subscription)))
      const events = [
        Fixtures.event(subscription),
        Event.imported({ id: "evt-1", occurredAt: subscription.updatedAt, actor: { kind: "operator", id: "key-1", name: "ops" }, reason: "sync", before: plain, after: subscription })
      ]
      expect(JSON.parse(eventsJson(events))).toEqual(JSON.parse(eventsViaSchema(events)))
    }
  })

  it.prop("the direct serialisation equals the Schema's encoding for generated subscriptions", [Arbitrary.make(Subscription)], ([subscription]) => {
    expect(JSON.parse(subscriptionJson(subscription))).toEqual(JSON.parse(subscriptionViaSchema(subscription)))
  }, { fastCheck: { numRuns: 100 } })

  it.prop("the direct serialisation equals the Schema's encoding for generated events", [Arbitrary.make(Schema.Array(Event.Event))], ([events]) => {
    expect(JSON.parse(eventsJson(events))).toEqual(JSON.parse(eventsViaSchema(events)))
  }, { fastCheck: { numRuns: 100 } })
})
