/** Postgres adapters for every repository port, their migrations, and an embedded Postgres. */
export * as Embedded from "./Embedded.js"
export * as Migrations from "./Migrations.js"
export * as PgStore from "./PgStore.js"
export * as Sweep from "./Sweep.js"
