/**
 * Every endpoint × every kind of caller: the exact status, and nothing of the subscription's owner
 * in a refused caller's response. The matrix runs over each store: memory, and Postgres (the
 * server at TEST_DATABASE_URL on a fresh schema when it is set, else the embedded engine in a
 * temporary directory).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type * as Layer from "effect/Layer"
import type * as Store from "@subshift/http-server/Store"
import { bearer, cookieOf, initiateBody, request, start, type TestServer } from "./Harness.js"
import { databaseUrl, embeddedStore, schemaStore } from "./PgStores.js"

type Caller = "owner" | "otherCustomer" | "partner" | "otherPartner" | "partnerWithoutMma" | "none" | "expired"

/** A store for one run of the matrix: its layer (none: the harness's memory store), and how to clean up after it. */
interface StoreUnderTest {
  readonly layer: () => Promise<Layer.Layer<Store.Ports, unknown> | undefined>
  readonly cleanup: () => Promise<void>
}

const memory = (): StoreUnderTest => ({ layer: async () => undefined, cleanup: async () => {} })

const postgres = (): StoreUnderTest =>
  databaseUrl !== undefined ? schemaStore(databaseUrl, "subshift_matrix") : embeddedStore("subshift-matrix")

const stores: ReadonlyArray<readonly [string, () => StoreUnderTest]> = [
  ["memory", memory],
  [databaseUrl !== undefined ? "Postgres" : "embedded Postgres", postgres]
]

const addOn = (id: string) => ({ order: { orderItems: [{ orderItemActionType: "add", type: "add_on", offer: { id } }] } })

interface Endpoint {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly body?: unknown
  readonly cookie?: "customer" | "partner" | "partnerEmpty" | "mma"
  /** The owner column: the customer for customer endpoints, whose subscription a partner sold otherwise. */
  readonly owner?: "dave" | "acme"
  readonly expect: Record<Caller, number>
}

const customerOnly = (ok: number, other: number): Record<Caller, number> => ({
  owner: ok,
  otherCustomer: other,
  partner: 403,
  otherPartner: 403,
  partnerWithoutMma: 403,
  none: 401,
  expired: 401
})

const partnerOnly = (ok: number, other: number, withoutMma: number): Record<Caller, number> => ({
  owner: 403,
  otherCustomer: 403,
  partner: ok,
  otherPartner: other,
  partnerWithoutMma: withoutMma,
  none: 401,
  expired: 401
})

const endpoints: ReadonlyArray<Endpoint> = [
  { name: "initiate", method: "POST", path: "/api/checkout/subscription", body: initiateBody("sub-carol"), expect: customerOnly(200, 404) },
  { name: "update", method: "PUT", path: "/api/checkout/subscription", body: addOn("addon-crossword"), cookie: "customer", expect: customerOnly(200, 404) },
  { name: "get", method: "GET", path: "/api/checkout/subscription", cookie: "customer", expect: customerOnly(200, 404) },
  { name: "order", method: "POST", path: "/api/order", body: {}, cookie: "customer", expect: customerOnly(200, 404) },
  { name: "partner initiate", method: "POST", path: "/api/partner/checkout/subscription", body: initiateBody("sub-carol"), expect: partnerOnly(200, 404, 200) },
  { name: "partner update", method: "PUT", path: "/api/partner/checkout/subscription", body: addOn("addon-archive"), cookie: "partner", expect: partnerOnly(200, 404, 200) },
  { name: "partner get", method: "GET", path: "/api/partner/checkout/subscription", cookie: "partner", expect: partnerOnly(200, 404, 200) },
  { name: "partner order", method: "POST", path: "/api/partner/order", body: {}, cookie: "partnerEmpty", expect: partnerOnly(422, 404, 422) },
  { name: "mma initiate", method: "POST", path: "/api/partner/mma/checkout", body: initiateBody("sub-dave"), owner: "dave", expect: partnerOnly(200, 404, 403) },
  { name: "mma update", method: "PUT", path: "/api/partner/mma/checkout", body: addOn("addon-crossword"), cookie: "mma", owner: "dave", expect: partnerOnly(200, 404, 403) },
  { name: "mma get", method: "GET", path: "/api/partner/mma/checkout", cookie: "mma", owner: "dave", expect: partnerOnly(200, 404, 403) },
  { name: "mma list", method: "GET", path: "/api/partner/mma/subscriptions", owner: "dave", expect: partnerOnly(200, 200, 403) },
  { name: "mma detail", method: "GET", path: "/api/partner/mma/subscriptions/sub-dave", owner: "dave", expect: partnerOnly(200, 404, 403) },
  {
    name: "amend",
    method: "POST",
    path: "/api/selfService/checkout/amend",
    body: { billGroupId: "bg-acme", subscriptionUpdates: [{ subscriptionId: "sub-acme-2", timing: "TODAY", items: [{ productId: "addon-crossword", quantity: 1 }] }] },
    owner: "acme",
    expect: customerOnly(200, 404)
  },
  // Nothing is scheduled on these: the one caller let through is told so (409).
  { name: "withdraw", method: "DELETE", path: "/api/checkout/subscriptions/sub-carol/pending-change", expect: customerOnly(409, 404) },
  { name: "mma withdraw", method: "DELETE", path: "/api/partner/mma/subscriptions/sub-dave/pending-change", owner: "dave", expect: partnerOnly(409, 404, 403) }
]

const callers: ReadonlyArray<Caller> = ["otherCustomer", "partner", "otherPartner", "partnerWithoutMma", "none", "expired", "owner"]

/** What a caller who is refused must not see: the owners, the references and the prices of the demo's subscriptions. */
const foreign = ["cus-carol", "cus-dave", "cus-acme", "C4R0LTELC0AA", "D4V3TELC0BBB", "ACME0000", "ledger-", "amount"]

for (const [storeName, makeStore] of stores) {
  // The rows share the demo subscriptions (the owner's order commits one), so they run one after another.
  describe.sequential(`authorization matrix on the ${storeName} store`, () => {
    let server: TestServer
    const credentials = {} as Record<Caller | "dave" | "acme", Record<string, string>>
    const cookies = { customer: "", partner: "", partnerEmpty: "", mma: "" }
    const store = makeStore()

    beforeAll(async () => {
      const layer = await store.layer()
      server = await start(layer === undefined ? {} : { store: layer })
      const token = (subject: string, scopes: Array<string>, partnerOrg?: string, ttlSeconds?: number) =>
        server.token({ subject, scopes, partnerOrg, ttlSeconds })
      credentials.owner = bearer(await token("cus-carol", ["checkout"]))
      credentials.dave = bearer(await token("cus-dave", ["checkout"]))
      credentials.acme = bearer(await token("cus-acme", ["checkout"]))
      credentials.otherCustomer = bearer(await token("cus-bob", ["checkout"]))
      credentials.partner = bearer(await token("ops", ["partner", "mma"], "partner-telco"))
      credentials.otherPartner = bearer(await token("ops", ["partner", "mma"], "partner-other"))
      credentials.partnerWithoutMma = bearer(await token("ops", ["partner"], "partner-telco"))
      credentials.none = {}
      credentials.expired = bearer(await token("cus-carol", ["checkout"], undefined, -120))
      const open = async (path: string, who: Record<string, string>, id: string) =>
        cookieOf((await request(`${server.url}${path}`, { method: "POST", headers: { ...who, "x-limio-recaptcha": "t" }, body: initiateBody(id) })).headers)
      cookies.customer = await open("/api/checkout/subscription", credentials.owner, "sub-carol")
      cookies.partner = await open("/api/partner/checkout/subscription", credentials.partner, "sub-carol")
      cookies.partnerEmpty = await open("/api/partner/checkout/subscription", credentials.partner, "sub-carol")
      cookies.mma = await open("/api/partner/mma/checkout", credentials.partner, "sub-dave")
    }, 120_000)
    afterAll(async () => {
      await server?.close()
      await store.cleanup()
    }, 60_000)

    for (const endpoint of endpoints) {
      it(`${endpoint.method} ${endpoint.path} (${endpoint.name}) answers each caller exactly`, async () => {
        const got: Partial<Record<Caller, number>> = {}
        for (const caller of callers) {
          const who = caller === "owner" && endpoint.owner !== undefined ? credentials[endpoint.owner] : credentials[caller]
          const headers: Record<string, string> = { ...who, "x-limio-recaptcha": "t" }
          if (endpoint.cookie !== undefined) headers.cookie = cookies[endpoint.cookie]
          const r = await request(`${server.url}${endpoint.path}`, { method: endpoint.method, headers, body: endpoint.body })
          got[caller] = r.status
          const allowed = r.status === 200 || (r.status === 422 && (caller === "partner" || caller === "partnerWithoutMma"))
          if (!allowed || caller === "otherPartner") {
            for (const marker of foreign) expect(r.text, `${caller} on ${endpoint.name}`).not.toContain(marker)
          }
          if (r.status !== 200) expect(r.body.error ?? r.body, `${caller} on ${endpoint.name}`).toBeDefined()
        }
        expect(got).toEqual(endpoint.expect)
      }, 60_000)
    }
  })
}
