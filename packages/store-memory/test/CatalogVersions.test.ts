import { MemoryStore } from "@subshift/store-memory"
import { CatalogVersionsContract } from "@subshift/testing"

CatalogVersionsContract.suite("memory", MemoryStore.layer())
