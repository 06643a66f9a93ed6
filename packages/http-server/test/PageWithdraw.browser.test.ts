/**
 * The change-plan page in Chromium: after scheduling a downgrade, a second checkout meets the 423
 * screen, which offers "Keep my current plan". Clicking it withdraws the scheduled change through
 * the API (the customer's route, or the partner's) and shows the plan as it now stands, unlocked.
 */
import { describe, expect, it } from "@effect/vitest"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Playwright from "playwright-core"
import * as Browser from "./PageBrowser.js"

const CHECKOUT = "/api/checkout/subscription"
const PARTNER_CHECKOUT = "/api/partner/checkout/subscription"

/** Waits for the answer of the API call `method path` that `action` leads to. */
const responseTo = (page: Playwright.Page, method: string, path: string) =>
  page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path)

describe.sequential("withdrawing a scheduled change from the change-plan page in Chromium", () => {
  const running = Browser.suiteWithServer()
  const open = () => Browser.open(running.browser.context, running.server.url)
  const stored = (id: string) => running.server.run(Effect.map(Effect.flatMap(Subscriptions, (s) => s.findById(id)), Option.getOrThrow))

  /**
   * Signs in as `identity`, schedules a downgrade on the first subscription listed, and meets the
   * 423 of a second checkout; answers the order and the 423.
   */
  const scheduleAndMeetTheLock = async (page: Playwright.Page, identity: string, checkout: string, order: string) => {
    await page.selectOption("#identity", identity)
    await page.click("#sign-in-form button[type=submit]")
    await page.waitForSelector("#subscriptions:not([hidden])")
    const opened = await Browser.answerTo(page, "POST", checkout, () => page.click("#subscription-form button[type=submit]"))
    expect(opened.status).toBe(200)
    const downgrade = opened.body.nextActions.downgrades.find((o: any) => o.timing === "NEXT_PERIOD_START")
    expect((await Browser.answerTo(page, "PUT", checkout, () => page.check(`#offer-${downgrade.offerId}`))).status).toBe(200)
    const ordered = await Browser.answerTo(page, "POST", order, () => page.click("#commit"))
    expect(ordered.status).toBe(200)
    const locked = await Browser.answerTo(page, "POST", checkout, () => page.click("#again"))
    expect(locked.status).toBe(423)
    return { opened: opened.body, ordered: ordered.body, locked: locked.body }
  }

  /** Clicks "Keep my current plan"; answers the withdrawal and the checkout opened after it, once the page shows it. */
  const keepCurrentPlan = async (page: Playwright.Page, withdrawal: string, checkout: string) => {
    const [withdrawn, reopened] = await Promise.all([
      responseTo(page, "DELETE", withdrawal),
      responseTo(page, "POST", checkout),
      page.click("#keep-plan")
    ])
    const basket = await reopened.json()
    await page.waitForSelector(`[data-version="${basket.checkoutId}.${basket.version}"]`)
    await page.waitForSelector("#checkout:not([hidden])")
    return { withdrawn: { status: withdrawn.status(), body: await withdrawn.json() }, reopened: { status: reopened.status(), body: basket } }
  }

  it("a customer keeps their current plan from the 423 screen: the downgrade is withdrawn and the plan shown unlocked", async () => {
    const page = await open()
    const { opened, ordered, locked } = await scheduleAndMeetTheLock(page, "erin", CHECKOUT, "/api/order")
    const id = opened.order.forSubscription.id
    expect(await page.locator("#alert").getAttribute("data-kind")).toBe("423")
    expect(await page.locator("#alert-text time").getAttribute("datetime")).toBe(locked.pendingChangeDate)
    expect(await page.locator("#keep-plan").textContent()).toBe("Keep my current plan")
    expect((await stored(id)).pendingChange?.amendmentId).toBe(ordered.id)
    await Browser.screenshot(page, "9-keep-plan")

    const { withdrawn, reopened } = await keepCurrentPlan(page, `/api/checkout/subscriptions/${id}/pending-change`, CHECKOUT)
    expect(withdrawn.status).toBe(200)
    expect(withdrawn.body.withdrawn.amendmentId).toBe(ordered.id)
    expect(reopened.status).toBe(200)
    expect(await page.locator("#alert").isHidden()).toBe(true)
    expect(await page.locator("#current .plan-now").textContent()).toContain(opened.forSubscriptionOffer.name)
    expect(reopened.body.forSubscriptionOffer).toEqual(opened.forSubscriptionOffer)
    expect(await page.locator("#status").textContent()).toContain(`You keep ${opened.forSubscriptionOffer.name}`)
    expect((await stored(id)).pendingChange).toBeUndefined()
    await Browser.screenshot(page, "10-plan-kept")
    await page.close()
  }, 90_000)

  it("a partner keeps the customer's current plan through its own route", async () => {
    const page = await open()
    const { opened, ordered } = await scheduleAndMeetTheLock(page, "telco", PARTNER_CHECKOUT, "/api/partner/order")
    const id = opened.order.forSubscription.id
    const { withdrawn, reopened } = await keepCurrentPlan(page, `/api/partner/mma/subscriptions/${id}/pending-change`, PARTNER_CHECKOUT)
    expect(withdrawn.status).toBe(200)
    expect(withdrawn.body.withdrawn.amendmentId).toBe(ordered.id)
    expect(reopened.body.forSubscriptionOffer.id).toBe(opened.forSubscriptionOffer.id)
    expect(await page.locator("#current .plan-now").textContent()).toContain(opened.forSubscriptionOffer.name)
    expect((await stored(id)).pendingChange).toBeUndefined()
    await page.close()
  }, 90_000)
})
