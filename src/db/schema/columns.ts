import { integer, text } from "drizzle-orm/sqlite-core";

/** UUID primary key generated in the Worker. */
export const id = (name = "id") =>
  text(name)
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID());

/** A point in time, stored as epoch milliseconds so it sorts and compares in SQL. */
export const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });
