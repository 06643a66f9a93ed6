/**
 * The operator catalog group: validate, publish (audited as `catalog.published`, and written to
 * the outbox as a `catalog.published` event naming the key and its reason), and the reads.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { CatalogVersionNotFound, jsonSchema } from "@subshift/core/domain/CatalogDocument"
import { CatalogAdmin } from "@subshift/core/usecases/CatalogAdmin"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Audit from "./Audit.js"
import { author } from "./Records.js"

const schema = jsonSchema()

/** The handlers of `adminCatalog`. */
export const CatalogLive = HttpApiBuilder.group(SubshiftApi, "adminCatalog", (handlers) =>
  Effect.map(CatalogAdmin, (catalog) =>
    handlers
      .handle("validate", ({ payload, urlParams }) => catalog.validate(payload, urlParams.effectiveFrom))
      .handle("publish", ({ payload, urlParams }) =>
        Effect.tap(
          Effect.flatMap(author, (by) => catalog.publish(payload, urlParams.effectiveFrom, by)),
          (published) => Audit.record("catalog.published", `catalog/versions/${published.version}`, `effective from ${published.effectiveFrom}`)
        ))
      .handle("current", () =>
        Effect.flatMap(catalog.current, Option.match({
          onNone: () => Effect.fail(new CatalogVersionNotFound({ version: 0 })),
          onSome: Effect.succeed
        })))
      .handle("versions", () => Effect.map(catalog.list, (items) => ({ items })))
      .handle("version", ({ path }) => catalog.get(path.version))
      .handle("schema", () => Effect.succeed(schema))))
