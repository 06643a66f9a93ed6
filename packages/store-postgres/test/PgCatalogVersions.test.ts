import { CatalogVersionsContract } from "@subshift/testing"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

CatalogVersionsContract.suite(`postgres (${database.kind})`, database.layer)
