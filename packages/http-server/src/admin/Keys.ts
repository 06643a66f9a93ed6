/** The operator keys group: who the key is, and the audit log. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { CurrentOperator } from "@subshift/core/domain/Operator"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as Effect from "effect/Effect"

/** The handlers of `adminKeys`. */
export const KeysLive = HttpApiBuilder.group(SubshiftApi, "adminKeys", (handlers) =>
  Effect.map(AuditLog, (audit) =>
    handlers
      .handle("whoami", () => CurrentOperator)
      .handle("audit", ({ urlParams }) =>
        Effect.map(audit.list({ after: urlParams.after, limit: (urlParams.limit ?? 50) + 1 }), (rows) => {
          const limit = urlParams.limit ?? 50
          const items = rows.slice(0, limit)
          return { items, next: items.at(-1)?.sequence ?? urlParams.after ?? 0, hasMore: rows.length > limit }
        }))))
