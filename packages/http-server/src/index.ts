/** The Subshift HTTP server: configuration, the server layer, its handlers, authentication and store choice. */
export * as Auth from "./Auth.js"
export * as BasketCookie from "./BasketCookie.js"
export * as Config from "./Config.js"
export * as Handlers from "./Handlers.js"
export * as Server from "./Server.js"
export * as Store from "./Store.js"
