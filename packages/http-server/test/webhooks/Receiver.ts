import type { IncomingMessage, ServerResponse } from "node:http"
import { Webhook } from "standardwebhooks"

// Answers 204 to every delivery signed with the secret, applying each event once (a retried
// delivery carries the same webhook-id), and 400 to anything else.
export const receiver = (secret: string, apply: (event: unknown) => Promise<void>) => {
  const webhook = new Webhook(secret)
  const applied = new Set<string>()
  return async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let event: unknown
    try {
      event = webhook.verify(Buffer.concat(chunks).toString("utf8"), req.headers as Record<string, string>)
    } catch {
      return res.writeHead(400).end()
    }
    const id = req.headers["webhook-id"] as string
    if (!applied.has(id)) {
      await apply(event)
      applied.add(id)
    }
    res.writeHead(204).end()
  }
}
