/**
 * A D1 binding that adds up what D1 reports for every statement run through it (rows read and written,
 * as D1 bills them): the benches hand it to the code under test in place of `env.DB`.
 */
export interface D1Counts {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

export function countingD1(d1: D1Database, counts: D1Counts): D1Database {
  const add = (result: D1Result) => {
    counts.statements++;
    counts.rowsRead += result.meta.rows_read ?? 0;
    counts.rowsWritten += result.meta.rows_written ?? 0;
  };
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const bind = stmt.bind.bind(stmt);
    const all = stmt.all.bind(stmt);
    const run = stmt.run.bind(stmt);
    stmt.bind = (...values: unknown[]) => wrap(bind(...values));
    stmt.all = async <T>() => {
      const result = await all<T>();
      add(result);
      return result;
    };
    stmt.run = async <T>() => {
      const result = await run<T>();
      add(result);
      return result;
    };
    // Drizzle reads mapped selects as arrays; `raw()` hides the meta, so go through `all()`.
    stmt.raw = (async () => {
      const result = await all<Record<string, unknown>>();
      add(result);
      return result.results.map((row) => Object.values(row));
    }) as D1PreparedStatement["raw"];
    return stmt;
  };
  return {
    prepare: (query: string) => wrap(d1.prepare(query)),
    batch: async <T>(statements: D1PreparedStatement[]) => {
      const results = await d1.batch<T>(statements);
      results.forEach(add);
      return results;
    },
    exec: (query: string) => d1.exec(query),
    dump: () => d1.dump(),
    withSession: (constraint?: string) => d1.withSession(constraint),
  } as D1Database;
}

/** Milliseconds since `start`, read after a D1 round trip: workerd advances its clock only at I/O. */
export async function elapsedMs(d1: D1Database, start: number): Promise<number> {
  await d1.prepare("SELECT 1").all();
  return Date.now() - start;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
