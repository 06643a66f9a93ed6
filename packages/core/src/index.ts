/** Subscription change checkout: the pure core of Subshift, grouped by role. */

// Domain values: schemas and their arithmetic.
export * as Amendment from "./domain/Amendment.js"
export * as Basket from "./domain/Basket.js"
export * as BillGroup from "./domain/BillGroup.js"
export * as BillingPeriod from "./domain/BillingPeriod.js"
export * as CalendarDate from "./domain/CalendarDate.js"
export * as CatalogDocument from "./domain/CatalogDocument.js"
export * as Errors from "./domain/Errors.js"
export * as Event from "./domain/Event.js"
export * as Id from "./domain/Id.js"
export * as Input from "./domain/Input.js"
export * as Instant from "./domain/Instant.js"
export * as Money from "./domain/Money.js"
export * as NextActions from "./domain/NextActions.js"
export * as Offer from "./domain/Offer.js"
export * as Principal from "./domain/Principal.js"
export * as Quote from "./domain/Quote.js"
export * as Subscription from "./domain/Subscription.js"

// Rules: pure functions over domain values.
export * as AmendRules from "./rules/AmendRules.js"
export * as BasketRules from "./rules/BasketRules.js"
export * as CatalogDiff from "./rules/CatalogDiff.js"
export * as CatalogImpact from "./rules/CatalogImpact.js"
export * as CatalogHistory from "./rules/CatalogHistory.js"
export * as CatalogValidation from "./rules/CatalogValidation.js"
export * as Eligibility from "./rules/Eligibility.js"
export * as Proration from "./rules/Proration.js"
export * as Quantities from "./rules/Quantities.js"
export * as Timing from "./rules/Timing.js"

// Ports: what the use cases need from the outside world (`Context.Tag`s).
export * as Amendments from "./ports/Amendments.js"
export * as Authenticator from "./ports/Authenticator.js"
export * as Baskets from "./ports/Baskets.js"
export * as BillGroups from "./ports/BillGroups.js"
export * as BotCheck from "./ports/BotCheck.js"
export * as Catalog from "./ports/Catalog.js"
export * as CatalogVersions from "./ports/CatalogVersions.js"
export * as Events from "./ports/Events.js"
export * as Idempotency from "./ports/Idempotency.js"
export * as Ids from "./ports/Ids.js"
export * as Pricing from "./ports/Pricing.js"
export * as StorePorts from "./ports/StorePorts.js"
export * as Subscriptions from "./ports/Subscriptions.js"

// Use cases: the services an adapter calls.
export * as BillGroupAmendments from "./usecases/BillGroupAmendments.js"
export * as CatalogAdmin from "./usecases/CatalogAdmin.js"
export * as PartnerSubscriptions from "./usecases/PartnerSubscriptions.js"
export * as PendingChanges from "./usecases/PendingChanges.js"
export * as PriceMigrations from "./usecases/PriceMigrations.js"
export * as ScheduledChanges from "./usecases/ScheduledChanges.js"
export * as SubscriptionCheckout from "./usecases/SubscriptionCheckout.js"

// Clocks an embedder can provide.
export * as FixedClock from "./clock/FixedClock.js"
export * as ShiftedClock from "./clock/ShiftedClock.js"

// The demo catalog and subscriptions.
export * as Demo from "./demo/Demo.js"

// Outbound webhooks: endpoints, deliveries, the worker.
export * as Webhook from "./domain/Webhook.js"
export * as Webhooks from "./ports/Webhooks.js"
export * as WebhookAdmin from "./usecases/WebhookAdmin.js"
export * as WebhookWorker from "./usecases/WebhookWorker.js"
