/** Contract suites, arbitraries, fixtures and demo data for Subshift adapters and embedders. */
export * as AmendArbitraries from "./AmendArbitraries.js"
export * as Arbitraries from "./Arbitraries.js"
export * as CatalogVersionsContract from "./CatalogVersionsContract.js"
export * as Demo from "./Demo.js"
export * as Fixtures from "./Fixtures.js"
export * as Seats from "./Seats.js"
export * as StoreContract from "./StoreContract.js"
export * as SubscriptionChecks from "./SubscriptionChecks.js"
