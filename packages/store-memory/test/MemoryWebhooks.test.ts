import { MemoryStore } from "@subshift/store-memory"
import { WebhookContract } from "@subshift/testing"

WebhookContract.register("memory", MemoryStore.layer())
