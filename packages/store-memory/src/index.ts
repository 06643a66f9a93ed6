export * as MemoryStore from "./MemoryStore.js"
export * as MemoryWebhooks from "./MemoryWebhooks.js"
