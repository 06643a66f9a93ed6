/**
 * Driving the change-plan page in Chromium through `playwright-core`: a fresh profile per
 * browser, the API answers the page received (to compare what it shows with them), keyboard
 * helpers that check focus stays visible, and screenshots when `SUBSHIFT_SCREENSHOTS` is set.
 */
import { constants, createReadStream, createWriteStream } from "node:fs"
import { access, link, mkdtemp, mkdir, readdir, readFile, rm, stat } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { pipeline } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import { createBrotliDecompress } from "node:zlib"
import { afterAll, beforeAll } from "@effect/vitest"
import * as Playwright from "playwright-core"
import * as Harness from "./Harness.js"

/** Debian's Chromium, used when it is installed. */
export const SYSTEM_CHROMIUM = "/usr/bin/chromium"

const isExecutable = (path: string) => access(path, constants.X_OK).then(() => true, () => false)

/**
 * Unpacks the Chromium that the `@sparticuz/chromium` devDependency ships (one brotli-compressed
 * executable) into `node_modules/.cache/subshift-chromium/<version>/`, once per installed version.
 * The package's own unpacker writes to fixed names in the temporary directory and trusts any file
 * already there, even a half-written one; here each writer decompresses to a file of its own and
 * hard-links it into place, so concurrent test files and interrupted runs never see a partial
 * binary. The first link wins and is never replaced: Chromium starts its helper processes by
 * executing its own path again, which fails if that path was swapped under a running browser.
 * What an interrupted writer left is removed once it is clearly abandoned.
 */
export const unpackBundledChromium = async (): Promise<string> => {
  const pkg = join(dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")), "..")
  const { version } = JSON.parse(await readFile(join(pkg, "package.json"), "utf8")) as { version: string }
  const directory = join(pkg, "..", "..", ".cache", "subshift-chromium", version)
  const executable = join(directory, "chromium")
  if (await isExecutable(executable)) return executable
  await mkdir(directory, { recursive: true })
  for (const name of await readdir(directory)) {
    if (!name.endsWith(".partial")) continue
    const path = join(directory, name)
    const written = await stat(path).then((s) => s.mtimeMs, () => Date.now())
    if (Date.now() - written > 10 * 60_000) await rm(path, { force: true })
  }
  const partial = join(directory, `chromium.${process.pid}.${Date.now()}.partial`)
  try {
    await pipeline(
      createReadStream(join(pkg, "bin", "chromium.br")),
      createBrotliDecompress(),
      createWriteStream(partial, { mode: 0o755 })
    )
    await link(partial, executable).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error
    })
  } finally {
    await rm(partial, { force: true })
  }
  return executable
}

let chosen: Promise<string> | undefined

/**
 * The Chromium the tests drive: `SUBSHIFT_CHROMIUM` when set, else Debian's when installed, else
 * the one `npm install` brought.
 */
export const chromiumPath = (): Promise<string> =>
  (chosen ??= (async () => {
    const named = process.env.SUBSHIFT_CHROMIUM
    if (named !== undefined && named !== "") return named
    return (await isExecutable(SYSTEM_CHROMIUM)) ? SYSTEM_CHROMIUM : unpackBundledChromium()
  })())

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
  const context = await chromiumPath()
    .then((executablePath) =>
      Playwright.chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: FLAGS,
        viewport: { width: 1100, height: 900 },
        locale: "en-GB",
        timeout: 30_000
      })
    )
    .catch(async (error) => {
      await rm(profile, { recursive: true, force: true })
      throw error
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

/** A test server and a browser for the suite it is called in: started before its tests, closed after them. */
export const suiteWithServer = () => {
  const running = {} as { server: Harness.TestServer; browser: Awaited<ReturnType<typeof launch>> }
  beforeAll(async () => {
    running.server = await Harness.start()
    running.browser = await launch()
  }, 60_000)
  afterAll(async () => {
    await running.browser?.close()
    await running.server?.close()
  })
  return running
}
