/** One statement on a short-lived connection, for tests and scripts (no test runner needed). */
import pg from "pg"

/** Runs one statement on a short-lived connection of its own. */
export const admin = async <R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: ReadonlyArray<unknown> = []
): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, [...values])).rows
  } finally {
    await client.end()
  }
}
