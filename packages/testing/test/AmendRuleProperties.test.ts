import { describe, expect, it } from "@effect/vitest"
import * as AmendRules from "@subshift/core/rules/AmendRules"
import { AmendErrorCode } from "@subshift/core/domain/Errors"
import { AmendArbitraries } from "@subshift/testing"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

type Scenario = AmendArbitraries.AmendScenario

const runs = { fastCheck: { numRuns: 200 } }

const planOf = (s: Scenario) => AmendRules.plan(AmendArbitraries.contextOf(s), s.request, s.today)

const codeOf = (refusal: AmendRules.Refusal) => refusal._tag === "AmendRejected" ? refusal.errorCode : refusal._tag

describe("amend rule properties", () => {
  it.prop("a request within the catalog, the contract and the bill group is accepted", [AmendArbitraries.validScenario], ([s]) => {
    const plan = planOf(s)
    expect(Either.isRight(plan)).toBe(true)
    const steps = Either.getOrThrow(plan).steps
    const request = s.request
    expect(steps.length).toBe((request.subscriptionUpdates?.length ?? 0) + (request.subscriptionRemovals?.length ?? 0) + (request.offerings?.length ?? 0))
  }, runs)

  for (const code of Object.keys(AmendArbitraries.defects) as Array<AmendArbitraries.RuleCode>) {
    it.prop(`a request with one ${code} defect is refused with ${code}`, [
      AmendArbitraries.validScenario,
      AmendArbitraries.defects[code]
    ], ([s, spoil]) => {
      const plan = planOf(spoil(s))
      expect(Either.isLeft(plan) && codeOf(plan.left)).toBe(code)
    }, runs)
  }

  it.prop("a request with several defects is refused with the code of one of them", [
    AmendArbitraries.validScenario,
    FastCheck.array(AmendArbitraries.defect, { minLength: 1, maxLength: 3 })
  ], ([s, spoils]) => {
    const codes = spoils.map((x) => x.code)
    const spoilers = spoils.map((x) => x.spoil)
    const plan = planOf(spoilers.reduce((acc, spoil) => spoil(acc), s))
    expect(Either.isLeft(plan)).toBe(true)
    const code = codeOf(Either.getOrThrow(Either.flip(plan)))
    expect(codes).toContain(code)
    expect(AmendErrorCode.literals).toContain(code)
  }, runs)

  it.prop("effective dates never precede today", [AmendArbitraries.validScenario], ([s]) => {
    for (const step of Either.getOrThrow(planOf(s)).steps) {
      expect(step.effectiveDate >= s.today).toBe(true)
      for (const action of step.actions) {
        expect(action.effectiveDate).toBe(step.effectiveDate)
        expect(action.prorate && action.effectiveDate !== s.today).toBe(false)
      }
    }
  }, runs)

  it.prop("a plan is deterministic and does not depend on the order the store lists members in", [
    AmendArbitraries.validScenario,
    FastCheck.boolean()
  ], ([s, reverse]) => {
    const ctx = AmendArbitraries.contextOf(s)
    const first = AmendRules.plan(ctx, s.request, s.today)
    expect(AmendRules.plan(ctx, s.request, s.today)).toEqual(first)
    const reordered = { ...ctx, members: reverse ? [...ctx.members].reverse() : ctx.members.slice(1).concat(ctx.members.slice(0, 1)) }
    expect(AmendRules.plan(reordered, s.request, s.today)).toEqual(first)
  }, runs)

  it.prop("a removal takes off every line the subscription holds; creations bill the group's account in its currency", [
    AmendArbitraries.validScenario
  ], ([s]) => {
    for (const step of Either.getOrThrow(planOf(s)).steps) {
      if (step.kind === "removal") {
        const held = [...step.before.addOns, step.before.offer].map((l) => l.offerId)
        expect(step.actions.map((a) => [a.kind, a.offerId])).toEqual(held.map((id) => ["remove", id]))
      } else if (step.kind === "creation") {
        expect(step.draft).toMatchObject({ owner: s.billGroup.accountId, billGroupId: s.billGroup.id, currency: s.billGroup.currency })
        expect(step.actions.every((a) => a.kind === "add" && a.unitPrice.currency === s.billGroup.currency)).toBe(true)
      } else {
        expect(step.before.billGroupId).toBe(s.billGroup.id)
      }
    }
  }, runs)
})
