import { StoreContract } from "@subshift/testing"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

StoreContract.suite(`postgres (${database.kind})`, database.layer)
