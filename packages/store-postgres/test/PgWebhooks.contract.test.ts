import { WebhookContract } from "@subshift/testing"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

WebhookContract.register(`postgres (${database.kind})`, database.layer)
