/**
 * The `Authenticator` port: credentials in, a principal out.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { Unauthenticated } from "../domain/Errors.js"
import type { Principal } from "../domain/Principal.js"

/** What a request presented. */
export interface Credentials {
  readonly bearer?: Redacted.Redacted<string> | undefined
  readonly partnerToken?: Redacted.Redacted<string> | undefined
}

/** The authenticator port. */
export class Authenticator extends Context.Tag("@subshift/core/Authenticator")<
  Authenticator,
  { readonly authenticate: (credentials: Credentials) => Effect.Effect<Principal, Unauthenticated> }
>() {}
