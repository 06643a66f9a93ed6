/**
 * Which addresses a webhook may reach. In production an endpoint must be `https` and resolve only
 * to public addresses: loopback, private, shared (CGNAT), link-local (where cloud metadata
 * services answer, 169.254.169.254 and fd00:ec2::254), unspecified, multicast and reserved
 * ranges are refused, unless `SUBSHIFT_WEBHOOK_ALLOW_PRIVATE=true`. The check runs when an
 * endpoint is saved and again on every delivery, on the address the connection then uses.
 */
import { promises as Dns } from "node:dns"
import { BlockList, isIP } from "node:net"

/** The network rules of webhook URLs. */
export interface Policy {
  /** In production, only `https` URLs on public addresses, unless `allowPrivate`. */
  readonly production: boolean
  readonly allowPrivate: boolean
}

const blocked = new BlockList()
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4]
] as const) blocked.addSubnet(net, bits, "ipv4")
for (const [net, bits] of [
  ["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32]
] as const) blocked.addSubnet(net, bits, "ipv6")

/** Whether an address is one a production webhook may not reach. */
export const isPrivate = (address: string): boolean => {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, "ipv4")
  if (family !== 6) return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return blocked.check(mapped[1]!, "ipv4")
  return blocked.check(address, "ipv6")
}

/** Why a URL may not be used as it is written (scheme, credentials, form); `undefined` when it may. */
export const urlProblem = (policy: Policy, text: string): string | undefined => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return "must be an absolute http(s) URL"
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http(s) URL"
  if (policy.production && !policy.allowPrivate && url.protocol !== "https:") return "must be https in production"
  if (url.username !== "" || url.password !== "") return "must not carry credentials"
  if (text.length > 2048) return "must be at most 2048 characters"
  return undefined
}

/** Whether the policy refuses an address. */
export const refuses = (policy: Policy, address: string): boolean =>
  policy.production && !policy.allowPrivate && isPrivate(address)

/** The addresses a host resolves to (the host itself when it is an address). */
export const resolve = async (host: string): Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>> => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const family = isIP(bare)
  if (family !== 0) return [{ address: bare, family }]
  return Dns.lookup(bare, { all: true, verbatim: true })
}

/** Why an endpoint URL is refused, form and resolved addresses both; `undefined` when it may be used. */
export const check = async (policy: Policy, text: string): Promise<string | undefined> => {
  const problem = urlProblem(policy, text)
  if (problem !== undefined) return problem
  if (!policy.production || policy.allowPrivate) return undefined
  const host = new URL(text).hostname
  let addresses: ReadonlyArray<{ readonly address: string }>
  try {
    addresses = await resolve(host)
  } catch {
    return `the host ${host} does not resolve`
  }
  const refused = addresses.find((a) => isPrivate(a.address))
  return refused === undefined ? undefined : `resolves to ${refused.address}, a private, loopback, link-local or metadata address`
}
