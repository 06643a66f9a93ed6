/**
 * The packages as a service outside the repository gets them: every package packed with `npm pack`,
 * the tarballs installed into a scratch project in the temporary directory with `--omit=dev`, then
 * plain Node ESM embedding the engine, a TypeScript consumer type-checked against the published
 * declarations, and `npx subshift serve` answering the checkout walkthrough over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)
const root = new URL("../../../", import.meta.url).pathname
const here = new URL("./packaging/", import.meta.url).pathname
const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const serverPackage = JSON.parse(readFileSync(join(root, "packages/http-server/package.json"), "utf8"))
const workspaces = ["core", "testing", "store-memory", "store-postgres", "http-api", "http-server"]
const tsc = join(root, "node_modules/typescript/bin/tsc")
// The test kit goes into a production install only while the server depends on it.
const shipsTestKit = "@subshift/testing" in (serverPackage.dependencies ?? {})
const devOnly = ["vitest", "@vitest/runner", "fast-check", "tsx", "playwright", "playwright-core", "typescript", "@effect/vitest", "esbuild"]
/** Who declares a package as a runtime dependency, among the installed ones. */
const dependents = (modules: string, installed: Set<string>, name: string): Array<string> =>
  [...installed].filter((pkg) => {
    const manifest = join(modules, pkg, "package.json")
    return existsSync(manifest) && name in (JSON.parse(readFileSync(manifest, "utf8")).dependencies ?? {})
  })

let scratch = ""
let project = ""

/** Every package directory under a `node_modules`, by package name, nested ones included. */
const installedPackages = (dir: string, found = new Set<string>()): Set<string> => {
  if (!existsSync(dir)) return found
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(".")) continue
    const names = entry.startsWith("@") ? readdirSync(join(dir, entry)).map((n) => `${entry}/${n}`) : [entry]
    for (const name of names) {
      found.add(name)
      installedPackages(join(dir, name, "node_modules"), found)
    }
  }
  return found
}

/** The entry-point specifier of a module of an installed package, wherever the module sits under dist/. */
const subpathOf = (pkg: string, module: string): string => {
  const dist = join(project, "node_modules", pkg, "dist")
  const file = (readdirSync(dist, { recursive: true }) as Array<string>).find((f) => f === `${module}.d.ts` || f.endsWith(`/${module}.d.ts`))
  if (file === undefined) throw new Error(`${pkg} ships no ${module}.d.ts`)
  return `${pkg}/${file.slice(0, -".d.ts".length)}`
}

beforeAll(async () => {
  await run(process.execPath, [tsc, "-b", ...workspaces.map((w) => join(root, "packages", w, "tsconfig.src.json"))], { cwd: root })
  scratch = mkdtempSync(join(tmpdir(), "subshift-packaging-"))
  const tarballs = join(scratch, "tarballs")
  mkdirSync(tarballs)
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tarballs, ...workspaces.flatMap((w) => ["--workspace", `packages/${w}`])], { cwd: root })
  const packed: Array<{ name: string; filename: string }> = JSON.parse(stdout)
  project = join(scratch, "service")
  mkdirSync(project)
  const shipped = packed.filter((p) => p.name !== "@subshift/testing" || shipsTestKit)
  const pin = (name: string) => [name, rootPackage.devDependencies[name]] as const
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "subshift-consumer",
      private: true,
      type: "module",
      dependencies: {
        ...Object.fromEntries(shipped.map((p) => [p.name, `file:${join(tarballs, p.filename)}`])),
        ...Object.fromEntries(["effect", "@effect/platform", "@effect/platform-node", "@effect/sql", "@effect/sql-pg", "@effect/experimental"].map(pin))
      }
    }, null, 2)
  )
  await run("npm", ["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: project })
}, 240_000)

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true })
}, 60_000)

describe("the packed packages, installed outside the repository", () => {
  it("hold built JavaScript and declarations, not only TypeScript sources", () => {
    expect(relative(root, project).startsWith("..")).toBe(true)
    for (const name of ["core", "store-memory", "http-api", "http-server", "store-postgres"]) {
      const installed = JSON.parse(readFileSync(join(project, "node_modules/@subshift", name, "package.json"), "utf8"))
      expect(installed.exports["."]).toMatchObject({ types: "./dist/index.d.ts", default: "./dist/index.js" })
      expect(existsSync(join(project, "node_modules/@subshift", name, "dist/index.js"))).toBe(true)
      expect(existsSync(join(project, "node_modules/@subshift", name, "dist/index.d.ts"))).toBe(true)
      expect(existsSync(join(project, "node_modules/@subshift", name, "dist/index.js.map"))).toBe(true)
    }
  })

  it("embed the engine from plain Node ESM: open, pick an upgrade and an add-on, quote, commit", async () => {
    copyFileSync(join(here, "embed.mjs"), join(project, "embed.mjs"))
    const { stdout } = await run(process.execPath, ["embed.mjs"], { cwd: project })
    expect(stdout).toMatch(/^opened \S+ on sub-42; upgrades: team$/m)
    expect(stdout).toMatch(/^line .*Team/m)
    expect(stdout).toMatch(/^line .*Single sign-on/m)
    expect(stdout).toMatch(/^due now EUR \d+\.\d{2}$/m)
    expect(stdout).toMatch(/^recurring EUR 28\.00$/m)
    expect(stdout).toMatch(/^committed amd-\S+ offer=team addOns=sso version=2$/m)
  }, 60_000)

  it.each(["node16", "bundler"])("type-check a TypeScript consumer against the published declarations (%s)", async (resolution) => {
    const dir = join(project, `ts-${resolution}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, "consumer.ts"), [
      `import { Catalog, Money, Offer, Principal, SubscriptionCheckout } from "@subshift/core"`,
      `import * as MoneyModule from "${subpathOf("@subshift/core", "Money")}"`,
      `import type { Quote } from "${subpathOf("@subshift/core", "Quote")}"`,
      `import { MemoryStore } from "@subshift/store-memory"`,
      `import { Api } from "@subshift/http-api"`,
      `import * as Either from "effect/Either"`,
      `import * as Layer from "effect/Layer"`,
      ``,
      `export const total = (quote: Quote): string => MoneyModule.format(quote.dueNow)`,
      `export const offers = (input: unknown): ReadonlyArray<Offer.Offer> => Either.getOrElse(Catalog.decode(input), () => [])`,
      `export const live = (offers: ReadonlyArray<Offer.Offer>) =>`,
      `  SubscriptionCheckout.SubscriptionCheckout.Default.pipe(Layer.provide(MemoryStore.layer({ offers, subscriptions: [] })))`,
      `export const customer = new Principal.Customer({ customerId: "cus-1" })`,
      `export const sameFormat: typeof Money.format = MoneyModule.format`,
      `export const api = Api`,
      `// @ts-expect-error the declarations are real types: a customer needs a customerId`,
      `export const broken = new Principal.Customer({})`,
      ``
    ].join("\n"))
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        module: resolution === "node16" ? "node16" : "ESNext",
        moduleResolution: resolution,
        types: [],
        skipLibCheck: false
      },
      files: ["consumer.ts"]
    }))
    const result = await run(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { cwd: dir }).then(
      () => ({ code: 0, output: "" }),
      (e: { code: number; stdout: string }) => ({ code: e.code, output: e.stdout })
    )
    expect(result).toEqual({ code: 0, output: "" })
  }, 120_000)

  it("serve with `npx subshift serve` from a production install and complete the walkthrough over HTTP", async () => {
    const modules = join(project, "node_modules")
    const installed = installedPackages(modules)
    // effect itself depends on fast-check (for effect/FastCheck); nothing of ours brings it.
    expect(devOnly.filter((name) => installed.has(name))).toEqual(["fast-check"])
    expect(dependents(modules, installed, "fast-check")).toEqual(["effect"])
    expect(installed.has("@subshift/testing")).toBe(shipsTestKit)
    expect(installed.has("@subshift/http-server")).toBe(true)

    const child: ChildProcess = spawn("npx", ["--no", "subshift", "serve"], {
      cwd: project,
      detached: true,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", SUBSHIFT_STORE: "memory", PORT: "0", SUBSHIFT_SCHEDULER_INTERVAL: "1 hour" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      let banner = ""
      child.stderr!.on("data", (chunk) => (banner += String(chunk)))
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (chunk) => {
          banner += String(chunk)
          const listening = /listening on (http:\/\/\S+)/.exec(banner)
          if (listening !== null && /ALICE='[^']+'/.test(banner)) resolve(listening[1]!)
        })
        child.on("exit", (code) => reject(new Error(`subshift serve exited with ${code}:\n${banner}`)))
      })
      const alice = /ALICE='([^']+)'/.exec(banner)![1]!
      const api = `${url}/api/checkout/subscription`
      const call = async (target: string, method: string, body: unknown, cookie?: string) => {
        const response = await fetch(target, {
          method,
          headers: { authorization: `Bearer ${alice}`, "content-type": "application/json", ...(cookie === undefined ? {} : { cookie }) },
          body: JSON.stringify(body)
        })
        return { status: response.status, headers: response.headers, body: await response.json() as any }
      }

      const opened = await call(api, "POST", { order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } } })
      expect(opened.status).toBe(200)
      expect(opened.body.order.forSubscription.id).toBe("sub-alice")
      const cookie = opened.headers.get("set-cookie")!.split(";")[0]!
      const upgraded = await call(api, "PUT", { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }, cookie)
      expect(upgraded.status).toBe(200)
      expect(upgraded.body.order.orderItems).toContainEqual(expect.objectContaining({ orderItemActionType: "remove", offer: { id: "ledger-basic", name: "Basic" }, auto: true }))
      const committed = await call(`${url}/api/order`, "POST", {}, cookie)
      expect(committed.status).toBe(200)
      expect(committed.body).toMatchObject({ status: "complete", checkoutId: opened.body.checkoutId, subscriptionId: "sub-alice", owner: "cus-alice" })
      expect(committed.body.id).toMatch(/^amd-/)
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGTERM")
    }
  }, 60_000)
})
