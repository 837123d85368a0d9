/**
 * A D1 client for a request that runs beside its admission (see requireAuth): a read starts at once but
 * hands over its result only once `admission` resolves; any other statement (a write, or anything that
 * is not a plain SELECT) starts only then. If admission is refused, every statement rejects with the
 * refusal: a refused request never sees a row and never writes one, whatever its handler does.
 */
import type { D1Client } from "./client";

const READ_ONLY = /^\s*select\b/i;

type Run<T> = (statement: D1PreparedStatement) => Promise<T>;

function gated<T>(admission: Promise<unknown>, readOnly: boolean, run: () => Promise<T>): Promise<T> {
  if (!readOnly) return admission.then(run);
  const result = run();
  result.catch(() => undefined); // reported through the returned promise, or dropped with a refused request
  return admission.then(() => result);
}

class GatedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    readonly readOnly: boolean,
    private readonly admission: Promise<unknown>,
  ) {}

  bind(...values: unknown[]): GatedStatement {
    return new GatedStatement(this.inner.bind(...values), this.readOnly, this.admission);
  }

  private exec<T>(run: Run<T>): Promise<T> {
    return gated(this.admission, this.readOnly, () => run(this.inner));
  }

  first(column?: string) {
    return this.exec((s) => (column === undefined ? s.first() : s.first(column)));
  }
  run() {
    return this.exec((s) => s.run());
  }
  all() {
    return this.exec((s) => s.all());
  }
  raw(options?: { columnNames?: boolean }) {
    return this.exec((s) => s.raw(options as { columnNames: true }));
  }
}

export function gateOnAdmission(client: D1Client, admission: Promise<unknown>): D1Client {
  // Drizzle calls only prepare() (then bind/first/run/all/raw) and batch().
  const gatedClient = {
    prepare: (query: string) => new GatedStatement(client.prepare(query), READ_ONLY.test(query), admission),
    batch: (statements: GatedStatement[]) =>
      gated(admission, statements.every((s) => s.readOnly), () => client.batch(statements.map((s) => s.inner))),
  };
  return gatedClient as unknown as D1Client;
}
