import { MemoryStore } from "@subshift/store-memory"
import { StoreContract } from "@subshift/testing"

StoreContract.suite("memory", MemoryStore.layer())
