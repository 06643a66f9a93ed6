export * as MemoryStore from "./MemoryStore.js"
