/** The demo data (a publisher's catalog, subscriptions and bill group), re-exported from the core for fixtures. */
export * from "@subshift/core/demo/Demo"
