/**
 * A typed client derived from the contract: every endpoint as a method, every documented error
 * decoded back into its class. Credentials and the basket cookie are headers the caller adds
 * (through `transformClient`, or `headers` per call).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import { SubshiftApi } from "./Api.js"

/** Builds a client of the API served at `baseUrl`. */
export const make = (
  baseUrl: string,
  options: { readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined } = {}
) => HttpApiClient.make(SubshiftApi, { baseUrl, ...(options.transformClient === undefined ? {} : { transformClient: options.transformClient }) })
