/** The Subshift HTTP contract, its error mapping, security schemes and typed client. */
export * as Api from "./Api.js"
export * as BasketWire from "./BasketWire.js"
export * as Client from "./Client.js"
export * as HttpErrors from "./HttpErrors.js"
export * as PendingChangeApi from "./PendingChangeApi.js"
export * as Security from "./Security.js"
export * as Wire from "./Wire.js"
