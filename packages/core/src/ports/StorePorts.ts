/**
 * The repository ports a store provides, as one bundle: what an adapter's layer outputs and what
 * a host or a contract suite needs from it.
 */
import type { Amendments } from "./Amendments.js"
import type { AuditLog } from "./AuditLog.js"
import type { Baskets } from "./Baskets.js"
import type { BillGroups } from "./BillGroups.js"
import type { Catalog } from "./Catalog.js"
import type { Events } from "./Events.js"
import type { Idempotency } from "./Idempotency.js"
import type { Subscriptions } from "./Subscriptions.js"

/** Every repository port of the core, the set each store adapter provides in full. */
export type StorePorts = Catalog | Subscriptions | Baskets | BillGroups | Amendments | Events | Idempotency | AuditLog
