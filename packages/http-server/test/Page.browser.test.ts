import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type * as Playwright from "playwright-core"
import * as Harness from "./Harness.js"
import * as Browser from "./PageBrowser.js"

const CHECKOUT = "/api/checkout/subscription"
const PARTNER_CHECKOUT = "/api/partner/checkout/subscription"

/** What the page shows of a money element: its raw minor units. */
const minorUnits = (page: Playwright.Page, selector: string) =>
  page.locator(`${selector} data.money`).first().getAttribute("value").then(Number)

/** The `datetime` of every date inside `selector`. */
const datesIn = (page: Playwright.Page, selector: string) =>
  page.locator(`${selector} time`).evaluateAll((times) => times.map((t) => t.getAttribute("datetime")))

/** Signs in as a demo identity with the mouse and opens a checkout on the first subscription listed. */
const signInAndStart = async (page: Playwright.Page, identity: string, path = CHECKOUT) => {
  await page.selectOption("#identity", identity)
  await page.click("#sign-in-form button[type=submit]")
  await page.waitForSelector("#subscriptions:not([hidden])")
  return Browser.answerTo(page, "POST", path, () => page.click("#subscription-form button[type=submit]"))
}

/** Checks that the quote on the page is the API's, line by line, with every automatic removal's reason. */
const expectQuoteOf = async (page: Playwright.Page, basket: any) => {
  const rows = page.locator("#quote-lines tbody tr")
  expect(await rows.count()).toBe(basket.quote.lines.length)
  for (const [index, line] of basket.quote.lines.entries()) {
    const row = rows.nth(index)
    await expect(row.locator("th").textContent()).resolves.toContain(line.description)
    expect(await row.locator("td").first().locator("time").getAttribute("datetime")).toBe(line.effectiveDate)
    expect(Number(await row.locator("td.num data.money").first().getAttribute("value"))).toBe(Math.abs(line.amount.amount))
    const days = await row.locator("td.days").textContent()
    if (line.proration) expect(days).toContain(`${line.proration.days} of ${line.proration.periodDays} days`)
    else expect(days).toBe("not prorated")
  }
  for (const item of basket.order.orderItems.filter((i: any) => i.auto)) {
    const row = page.locator(`#quote-lines tbody tr[data-offer="${item.offer.id}"]`)
    expect(await row.locator(".reason").textContent()).toContain(item.reason.message)
  }
  expect(await minorUnits(page, "#due-now")).toBe(basket.quote.dueNow.amount)
  expect(await minorUnits(page, "#next-recurring")).toBe(basket.quote.nextRecurring.amount)
  expect(await datesIn(page, "#effective-dates")).toEqual(basket.quote.effectiveDates)
}

describe.sequential("the change-plan page in Chromium", () => {
  let server: Harness.TestServer
  let browser: Awaited<ReturnType<typeof Browser.launch>>
  beforeAll(async () => {
    server = await Harness.start()
    browser = await Browser.launch()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it("upgrades with an add-on end to end: offers, each re-priced quote with its removals and proration, confirmation", async () => {
    const page = await Browser.open(browser.context, server.url)
    await Browser.screenshot(page, "1-sign-in")
    const opened = await signInAndStart(page, "alice")
    expect(opened.status).toBe(200)
    expect(await page.locator("#current .plan-now").textContent()).toContain(opened.body.forSubscriptionOffer.name)
    const upgrades = opened.body.nextActions.upgrades
    expect(upgrades.length).toBeGreaterThan(0)
    for (const option of upgrades) {
      const label = page.locator(`label:has(#offer-${option.offerId})`)
      expect(await label.textContent()).toContain(option.name)
      expect(Number(await label.locator("data.money").getAttribute("value"))).toBe(option.price.amount)
      expect(await label.locator("time").getAttribute("datetime")).toBe(option.effectiveDate)
    }
    for (const owned of opened.body.nextActions.subscriptionAddOns) {
      expect(await page.locator(`#keep-${owned.offerId}`).isChecked()).toBe(true)
    }
    await Browser.screenshot(page, "2-offers")

    const premium = upgrades.find((o: any) => o.name === "Premium")
    const priced = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.check(`#offer-${premium.offerId}`))
    expect(priced.status).toBe(200)
    await expectQuoteOf(page, priced.body)
    const reasons = priced.body.order.orderItems.filter((i: any) => i.auto).map((i: any) => i.reason.message)
    expect(reasons).toEqual(expect.arrayContaining(["replaced by Premium", "not available on Premium"]))
    for (const item of priced.body.order.orderItems.filter((i: any) => i.auto && i.type === "add_on")) {
      const keep = page.locator(`#keep-${item.offer.id}`)
      expect(await keep.isDisabled()).toBe(true)
      expect(await page.locator(`label:has(#keep-${item.offer.id}) .reason`).textContent()).toContain(item.reason.message)
    }

    const addOn = priced.body.nextActions.crossSells[0]
    const withAddOn = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.check(`#addon-${addOn.offerId}`))
    expect(withAddOn.status).toBe(200)
    expect(withAddOn.body.order.orderItems.some((i: any) => i.offer.id === addOn.offerId && !i.auto)).toBe(true)
    await expectQuoteOf(page, withAddOn.body)
    expect(await page.locator(`#addon-${addOn.offerId}`).isChecked()).toBe(true)
    expect(await page.locator(`#offer-${premium.offerId}`).isChecked()).toBe(true)
    await Browser.screenshot(page, "3-quote")

    const order = await Browser.answerTo(page, "POST", "/api/order", () => page.click("#commit"))
    expect(order.status).toBe(200)
    expect(await page.locator("#amendment-id").textContent()).toBe(order.body.id)
    expect(await page.locator("#confirmed-actions li").count()).toBe(order.body.actions.length)
    expect(await minorUnits(page, "#confirmed-quote #due-now")).toBe(order.body.quote.dueNow.amount)
    expect(await page.locator("#done-title").evaluate((h) => h === document.activeElement)).toBe(true)
    await Browser.screenshot(page, "4-confirmed")
    await page.close()
  }, 90_000)

  it("downgrades for the next period, shows that date, and then the 423 of a second attempt with its date", async () => {
    const page = await Browser.open(browser.context, server.url)
    const opened = await signInAndStart(page, "bob")
    const downgrade = opened.body.nextActions.downgrades.find((o: any) => o.timing === "NEXT_PERIOD_START")
    expect(downgrade.effectiveDate).toBe(opened.body.quote.nextBillingDate)
    const label = page.locator(`label:has(#offer-${downgrade.offerId})`)
    expect(await label.locator("time").getAttribute("datetime")).toBe(downgrade.effectiveDate)
    expect(await label.textContent()).toContain("next billing period")

    const priced = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.check(`#offer-${downgrade.offerId}`))
    expect(priced.status).toBe(200)
    await expectQuoteOf(page, priced.body)
    expect(priced.body.quote.effectiveDates).toEqual([downgrade.effectiveDate])
    await Browser.screenshot(page, "5-downgrade")

    const order = await Browser.answerTo(page, "POST", "/api/order", () => page.click("#commit"))
    expect(order.status).toBe(200)
    expect(await page.locator("#pending time").getAttribute("datetime")).toBe(order.body.pendingChangeDate)

    const again = await Browser.answerTo(page, "POST", CHECKOUT, () => page.click("#again"))
    expect(again.status).toBe(423)
    expect(await page.locator("#alert").getAttribute("data-kind")).toBe("423")
    expect(await page.locator("#alert-text").textContent()).toContain("already scheduled for")
    expect(await page.locator("#alert-text time").getAttribute("datetime")).toBe(again.body.pendingChangeDate)
    expect(again.body.pendingChangeDate).toBe(order.body.pendingChangeDate)
    await Browser.screenshot(page, "6-locked")
    await page.close()
  }, 90_000)

  it("survives a refresh in the middle of the flow: the basket comes back from the cookie, picks and quote intact", async () => {
    const page = await Browser.open(browser.context, server.url)
    const opened = await signInAndStart(page, "erin")
    const upgrade = opened.body.nextActions.upgrades[0]
    const first = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.check(`#offer-${upgrade.offerId}`))
    const addOn = first.body.nextActions.crossSells[0]
    const second = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.check(`#addon-${addOn.offerId}`))
    expect(second.status).toBe(200)

    const reread = await Browser.answerTo(page, "GET", CHECKOUT, () => page.reload())
    expect(reread.status).toBe(200)
    expect(reread.body.checkoutId).toBe(second.body.checkoutId)
    expect(reread.body.version).toBe(second.body.version)
    expect(await page.locator(`#offer-${upgrade.offerId}`).isChecked()).toBe(true)
    expect(await page.locator(`#addon-${addOn.offerId}`).isChecked()).toBe(true)
    await expectQuoteOf(page, reread.body)

    const order = await Browser.answerTo(page, "POST", "/api/order", () => page.click("#commit"))
    expect(order.status).toBe(200)
    expect(order.body.checkoutId).toBe(second.body.checkoutId)
    await page.close()
  }, 90_000)

  it("completes a partner's change for a customer with the keyboard alone, focus always visible", async () => {
    const page = await Browser.open(browser.context, server.url)
    await Browser.tabTo(page, "#identity")
    const options = await page.locator("#identity option").evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value))
    for (let i = 0; i < options.indexOf("telco"); i++) await page.keyboard.press("ArrowDown")
    expect(await page.locator("#identity").inputValue()).toBe("telco")
    await Browser.tabTo(page, "#sign-in-form button[type=submit]")
    const listed = await Browser.answerTo(page, "GET", "/api/partner/mma/subscriptions", () => page.keyboard.press("Enter"))
    expect(listed.status).toBe(200)
    await page.waitForSelector("#subscriptions:not([hidden])")
    const subscription = listed.body.items[0].id
    expect(await page.locator(`input[name=subscription][value="${subscription}"]`).isChecked()).toBe(true)

    await Browser.tabTo(page, "#subscription-form button[type=submit]")
    const opened = await Browser.answerTo(page, "POST", PARTNER_CHECKOUT, () => page.keyboard.press("Enter"))
    expect(opened.status).toBe(200)
    expect(opened.body.order.forSubscription.id).toBe(subscription)

    // Arrow keys move through a radio group: the first press leaves "keep" for the first other plan.
    await Browser.tabTo(page, "input[name=offer]:checked")
    const next = [...opened.body.nextActions.upgrades, ...opened.body.nextActions.downgrades][0]
    const priced = await Browser.answerTo(page, "PUT", PARTNER_CHECKOUT, () => page.keyboard.press("ArrowDown"))
    expect(priced.status).toBe(200)
    expect(await page.locator(`#offer-${next.offerId}`).isChecked()).toBe(true)
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`offer-${next.offerId}`)

    const addOn = priced.body.nextActions.crossSells[0]
    await Browser.tabTo(page, `#addon-${addOn.offerId}`)
    const withAddOn = await Browser.answerTo(page, "PUT", PARTNER_CHECKOUT, () => page.keyboard.press("Space"))
    expect(withAddOn.status).toBe(200)
    await expectQuoteOf(page, withAddOn.body)

    await Browser.tabTo(page, "#commit")
    const order = await Browser.answerTo(page, "POST", "/api/partner/order", () => page.keyboard.press("Enter"))
    expect(order.status).toBe(200)
    expect(await page.locator("#amendment-id").textContent()).toBe(order.body.id)
    await page.close()
  }, 90_000)

  it("tells the user when the change was updated in another tab (409) and shows the latest version", async () => {
    const first = await Browser.open(browser.context, server.url)
    const opened = await signInAndStart(first, "acme")
    const second = await Browser.open(browser.context, server.url)
    await second.selectOption("#identity", "acme")
    const resumed = await Browser.answerTo(second, "GET", CHECKOUT, () => second.click("#sign-in-form button[type=submit]"))
    expect(resumed.body.checkoutId).toBe(opened.body.checkoutId)
    const elsewhere = opened.body.nextActions.upgrades[0]
    await Browser.answerTo(second, "PUT", CHECKOUT, () => second.check(`#offer-${elsewhere.offerId}`))

    const addOn = opened.body.nextActions.crossSells[0] ?? opened.body.nextActions.downgrades[0]
    // One click, as a user makes it: `check` would click again when the page, having shown the
    // latest version, no longer shows the box ticked, and that second pick would be a new change.
    const stale = await Browser.answerTo(first, "PUT", CHECKOUT, () =>
      first.click(addOn.kind === "add_on" ? `#addon-${addOn.offerId}` : `#offer-${addOn.offerId}`))
    expect(stale.status).toBe(409)
    expect(stale.body.error.code).toBe("VersionConflict")
    expect(await first.locator("#alert-text").textContent()).toContain("updated somewhere else")
    await first.waitForFunction((id) => (document.getElementById(`offer-${id}`) as HTMLInputElement | null)?.checked === true, elsewhere.offerId)
    await Browser.screenshot(first, "7-conflict")
    await first.close()
    await second.close()
  }, 90_000)

  it("when a newly picked plan does not allow a picked add-on, drops it as the API's 422 says and tells why", async () => {
    const page = await Browser.open(browser.context, server.url)
    await page.selectOption("#identity", "telco")
    await page.click("#sign-in-form button[type=submit]")
    await page.waitForSelector("#subscriptions:not([hidden])")
    await page.check(`input[name=subscription][value="sub-dave"]`)
    const opened = await Browser.answerTo(page, "POST", PARTNER_CHECKOUT, () => page.click("#subscription-form button[type=submit]"))
    // An add-on offered with the current plan but not with the target one, as the API lists them.
    const target = opened.body.nextActions.downgrades.at(-1)
    const onTarget = await Browser.answerTo(page, "PUT", PARTNER_CHECKOUT, () => page.check(`#offer-${target.offerId}`))
    await Browser.answerTo(page, "PUT", PARTNER_CHECKOUT, () => page.check("#offer-current"))
    const addOn = opened.body.nextActions.crossSells.find((o: any) =>
      !onTarget.body.nextActions.crossSells.some((t: any) => t.offerId === o.offerId))
    await Browser.answerTo(page, "PUT", PARTNER_CHECKOUT, () => page.check(`#addon-${addOn.offerId}`))

    const refusals: Array<any> = []
    page.on("response", async (r) => {
      if (r.request().method() === "PUT" && r.status() === 422) refusals.push(await r.json())
    })
    const [, repriced] = await Promise.all([
      page.check(`#offer-${target.offerId}`),
      page.waitForResponse((r) => r.request().method() === "PUT" && r.status() === 200)
    ])
    const basket = await repriced.json()
    await page.waitForSelector(`[data-version="${basket.checkoutId}.${basket.version}"]`)
    expect(refusals.map((r) => r.error.details.offerId)).toEqual([addOn.offerId])
    expect(basket.order.orderItems.some((i: any) => i.offer.id === addOn.offerId && i.orderItemActionType === "add")).toBe(false)
    expect(await page.locator(`#offer-${target.offerId}`).isChecked()).toBe(true)
    expect(await page.locator("#alert-text").textContent()).toContain(`${addOn.name} was taken out`)
    await expectQuoteOf(page, basket)
    await page.close()
  }, 90_000)
})

describe.sequential("the change-plan page when the checkout has expired", () => {
  it("shows the 410 alone with a way to start again, the stale form hidden, and starting again opens a fresh checkout", async () => {
    const server = await Harness.start()
    const browser = await Browser.launch()
    try {
      const page = await Browser.open(browser.context, server.url)
      // A token of its own, pasted: the demo ones would expire with the basket once the clock moves.
      const token = await server.token({ subject: "cus-alice", scopes: ["checkout"], ttlSeconds: 60 * 86_400 })
      await page.click("#own-token summary")
      await page.fill("#token", token)
      await page.click("#sign-in-form button[type=submit]")
      await page.waitForSelector("#subscriptions:not([hidden])")
      await page.fill("#subscription-other", "sub-alice")
      const opened = await Browser.answerTo(page, "POST", CHECKOUT, () => page.click("#subscription-form button[type=submit]"))
      expect(opened.status).toBe(200)

      server.clock.advance(15 * 86_400_000)
      const upgrade = opened.body.nextActions.upgrades[0]
      // One click: `check` clicks again when the box is not ticked afterwards, and the page hides it.
      const expired = await Browser.answerTo(page, "PUT", CHECKOUT, () => page.click(`#offer-${upgrade.offerId}`))
      expect(expired.status).toBe(410)
      expect(await page.locator("#alert").getAttribute("data-kind")).toBe("410")
      expect(await page.locator("#alert-text").textContent()).toContain("expired")
      // Nothing of the expired basket stays on show: no picks, no quote, no confirm button.
      for (const stale of ["#checkout", "#change-form", "#quote", "#commit", `#offer-${upgrade.offerId}`]) {
        expect(await page.locator(stale).isVisible(), stale).toBe(false)
      }
      const startAgain = page.locator("#alert-actions button")
      expect(await startAgain.textContent()).toBe("Start again")
      expect(await startAgain.evaluate((b) => b === document.activeElement)).toBe(true)
      await Browser.screenshot(page, "8-expired")

      const fresh = await Browser.answerTo(page, "POST", CHECKOUT, () => page.click("#alert-actions button"))
      expect(fresh.status).toBe(200)
      expect(fresh.body.checkoutId).not.toBe(opened.body.checkoutId)
      expect(await page.locator("#alert").isHidden()).toBe(true)
      expect(await page.locator("#commit").isVisible()).toBe(true)
      expect(await page.locator(`#offer-${fresh.body.nextActions.upgrades[0].offerId}`).isVisible()).toBe(true)
      await page.close()
    } finally {
      await browser.close()
      await server.close()
    }
  }, 90_000)
})
