/**
 * Validation of a catalog document from outside: every field and every reference checked, and
 * every problem reported at once with its path; policies that are allowed but costly to a customer
 * reported as warnings.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { CatalogDocument, InvalidCatalog, type Problem } from "../domain/CatalogDocument.js"
import { fieldPath } from "../domain/Input.js"
import type { ChangePolicy, Offer } from "../domain/Offer.js"

/** A document that validated, with the warnings it gave. */
export interface Validated {
  readonly document: CatalogDocument
  readonly warnings: ReadonlyArray<Problem>
}

const decodeDocument = Schema.decodeUnknownEither(CatalogDocument, { errors: "all", onExcessProperty: "error" })

const expectedActual = /^Expected (.*), actual (.*)$/s

/** One problem per path: the members of a union that all failed at one path read as one. */
const schemaProblems = (error: ParseResult.ParseError): ReadonlyArray<Problem> => {
  const byPath = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = fieldPath(issue.path)
    const messages = byPath.get(path) ?? []
    if (!messages.includes(issue.message)) messages.push(issue.message)
    byPath.set(path, messages)
  }
  return Array.from(byPath, ([path, messages]) => {
    const parts = messages.map((m) => expectedActual.exec(m))
    const message = parts.every((p) => p !== null) && parts.length > 1
      ? `Expected ${parts.map((p) => p![1]).join(" or ")}, actual ${parts[0]![2]}`
      : messages.join("; ")
    return { path, message }
  })
}

const kindName = (kind: Offer["kind"]) => (kind === "add_on" ? "an add-on" : "a subscription offer")

/** The problems of references and ids in a document whose fields decoded. */
export const referenceProblems = (document: CatalogDocument): ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const byId = new Map<string, Offer>()
  const rateIds = new Map<string, string>()
  for (const [i, offer] of document.offers.entries()) {
    if (byId.has(offer.id)) problems.push({ path: `offers[${i}].id`, message: `offer id ${offer.id} appears twice` })
    else byId.set(offer.id, offer)
    for (const [j, rate] of offer.rates.entries()) {
      const path = `offers[${i}].rates[${j}].id`
      if (rateIds.has(rate.id)) problems.push({ path, message: `rate id ${rate.id} appears twice (first in ${rateIds.get(rate.id)})` })
      else rateIds.set(rate.id, offer.id)
    }
  }
  for (const [i, offer] of document.offers.entries()) {
    if (offer.minQuantity !== undefined && offer.maxQuantity !== undefined && offer.minQuantity > offer.maxQuantity) {
      problems.push({ path: `offers[${i}].maxQuantity`, message: `maxQuantity ${offer.maxQuantity} is below minQuantity ${offer.minQuantity}` })
    }
    if (offer.kind === "add_on") {
      for (const field of ["upgrades", "downgrades", "addOns"] as const) {
        if (offer[field].length > 0) {
          problems.push({ path: `offers[${i}].${field}`, message: "an add-on has no upgrades, downgrades or add-ons of its own" })
        }
      }
      if (offer.changePolicy !== undefined) {
        problems.push({ path: `offers[${i}].changePolicy`, message: "an add-on has no change policy of its own" })
      }
      continue
    }
    for (const field of ["upgrades", "downgrades", "addOns"] as const) {
      const wanted = field === "addOns" ? "add_on" : "subscription"
      const seen = new Set<string>()
      for (const [j, id] of offer[field].entries()) {
        const path = `offers[${i}].${field}[${j}]`
        const target = byId.get(id)
        if (seen.has(id)) problems.push({ path, message: `${id} is listed twice` })
        seen.add(id)
        if (id === offer.id) problems.push({ path, message: "an offer cannot point at itself" })
        else if (target === undefined) problems.push({ path, message: `no offer ${id} in the catalog` })
        else if (target.kind !== wanted) problems.push({ path, message: `${id} is not ${kindName(wanted)}` })
      }
    }
    for (const id of offer.upgrades) {
      if (offer.downgrades.includes(id)) {
        problems.push({ path: `offers[${i}].downgrades[${offer.downgrades.indexOf(id)}]`, message: `${id} is both an upgrade and a downgrade` })
      }
    }
    for (const target of Object.keys(offer.changePolicy?.paths ?? {})) {
      if (!offer.upgrades.includes(target) && !offer.downgrades.includes(target)) {
        problems.push({
          path: `offers[${i}].changePolicy.paths.${target}`,
          message: byId.has(target)
            ? `${target} is not an upgrade or downgrade of ${offer.id}, so this policy would never apply`
            : `no offer ${target} in the catalog`
        })
      }
    }
  }
  const migrated = new Set<string>()
  for (const [i, migration] of document.priceMigrations.entries()) {
    const path = `priceMigrations[${i}].offerId`
    if (!byId.has(migration.offerId)) problems.push({ path, message: `no offer ${migration.offerId} in the catalog` })
    if (migrated.has(migration.offerId)) problems.push({ path, message: `${migration.offerId} has two price migrations` })
    migrated.add(migration.offerId)
  }
  return problems
}

const dropsCredit = (policy: ChangePolicy | undefined) => policy?.timing === "TODAY" && policy.prorate === false

/** Policies that are allowed but would drop a customer's unused credit (a downgrade today, not prorated). */
export const warnings = (document: CatalogDocument): ReadonlyArray<Problem> => {
  const found: Array<Problem> = []
  const message = "a downgrade today without proration drops the customer's unused credit for the rest of the period"
  for (const [i, offer] of document.offers.entries()) {
    const policy = offer.changePolicy
    if (policy === undefined) continue
    if (dropsCredit(policy.downgrade)) found.push({ path: `offers[${i}].changePolicy.downgrade`, message })
    for (const [target, pathPolicy] of Object.entries(policy.paths ?? {})) {
      if (offer.downgrades.includes(target) && dropsCredit(pathPolicy)) {
        found.push({ path: `offers[${i}].changePolicy.paths.${target}`, message })
      }
    }
  }
  return found
}

/** Validates a catalog document: the document and its warnings, or every problem at once. */
export const validate = (input: unknown): Either.Either<Validated, InvalidCatalog> =>
  Either.match(decodeDocument(input), {
    onLeft: (error) => Either.left(new InvalidCatalog({ problems: schemaProblems(error) })),
    onRight: (document) => {
      const problems = referenceProblems(document)
      return problems.length > 0
        ? Either.left(new InvalidCatalog({ problems }))
        : Either.right({ document, warnings: warnings(document) })
    }
  })

const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value !== null && typeof value === "object"
    ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
    : value

/** The document as JSON with sorted keys: the same document always gives the same text. */
export const canonicalJson = (document: CatalogDocument): string =>
  JSON.stringify(canonical(Schema.encodeSync(CatalogDocument)(document)))

/** A short, stable digest of a document (FNV-1a 64 over its canonical JSON), to tell two documents apart. */
export const digest = (document: CatalogDocument): string => {
  let hash = 0xcbf29ce484222325n
  const text = canonicalJson(document)
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i))
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return hash.toString(16).padStart(16, "0")
}
