/**
 * Driving the change-plan page in Debian's Chromium through `playwright-core`: a fresh profile
 * per browser, the API answers the page received (to compare what it shows with them), keyboard
 * helpers that check focus stays visible, and screenshots when `SUBSHIFT_SCREENSHOTS` is set.
 */
import { mkdtemp, mkdir, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Playwright from "playwright-core"

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium"

/** The flags every launch uses. */
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run"
]

/** A browser with a fresh profile, and a way to close it and delete the profile. */
export const launch = async () => {
  const profile = await mkdtemp(join(tmpdir(), "subshift-chromium-"))
  // Playwright refuses `--user-data-dir` in `args`: a persistent context is how it takes a profile.
  const context = await Playwright.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 900 },
    locale: "en-GB",
    timeout: 30_000
  })
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined)
      await rm(profile, { recursive: true, force: true })
    }
  }
}

/** Opens the page and waits until it has started (its first API calls answered). */
export const open = async (context: Playwright.BrowserContext, url: string) => {
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  await page.goto(`${url}/account/change-plan`)
  await page.waitForSelector("body[data-ready=true]")
  return page
}

/** Runs `action` and answers the JSON body and status of the API call it caused. */
export const answerTo = async (
  page: Playwright.Page,
  method: string,
  path: string,
  action: () => Promise<unknown>
): Promise<{ status: number; body: any }> => {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path),
    action()
  ])
  const body = await response.json()
  // The page renders right after the answer arrives: wait for what it renders from it.
  if (response.status() >= 400) await page.waitForSelector("#alert:not([hidden])")
  else if (body?.status === "complete") await page.waitForSelector(`#amendment-id:text-is("${body.id}")`)
  else if (typeof body?.version === "number") await page.waitForSelector(`[data-version="${body.checkoutId}.${body.version}"]`)
  return { status: response.status(), body }
}

/** Presses Tab until the focused element matches `selector`, checking each stop shows its focus. */
export const tabTo = async (page: Playwright.Page, selector: string, limit = 40) => {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab")
    const focus = await page.evaluate((wanted) => {
      const element = document.activeElement as HTMLElement | null
      if (element === null || element === document.body) return { matches: false, visible: true, what: "body" }
      const style = getComputedStyle(element)
      const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2
      return { matches: element.matches(wanted), visible: ring, what: element.outerHTML.slice(0, 80) }
    }, selector)
    if (!focus.visible) throw new Error(`focus is not visible on ${focus.what}`)
    if (focus.matches) return
  }
  throw new Error(`Tab never reached ${selector}`)
}

const screenshotDirectory = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url))

/** Saves a full-page screenshot under `docs/screenshots/` when `SUBSHIFT_SCREENSHOTS` is set. */
export const screenshot = async (page: Playwright.Page, name: string) => {
  if (process.env.SUBSHIFT_SCREENSHOTS === undefined) return
  await mkdir(screenshotDirectory, { recursive: true })
  await page.screenshot({ path: join(screenshotDirectory, `${name}.png`), fullPage: true })
}
