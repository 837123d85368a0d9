import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** Helpers for the local PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (root, no password). */
export const PG = { host: "127.0.0.1", port: 5432, username: "postgres" };
export const MARIADB = { host: "127.0.0.1", port: 3306, username: "root" };

export function scratchName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

export function psql(database: string, sql: string): string {
  return execFileSync("psql", ["-h", PG.host, "-p", String(PG.port), "-U", PG.username, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
  }).trim();
}

export function dropPostgresDatabase(name: string): void {
  psql("postgres", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export function mariadb(sql: string, database?: string): string {
  const args = ["-h", MARIADB.host, "-P", String(MARIADB.port), "--protocol=TCP", "-u", MARIADB.username, "-N", "-B", "-e", sql];
  if (database) args.push(database);
  return execFileSync("mariadb", args, { encoding: "utf8" }).trim();
}

/** Rows including NULLs, quotes, newlines, non-ASCII text and binary data. */
export const SAMPLE_ROWS = 500;
export const POSTGRES_SEED = `
  CREATE TABLE customer (id integer PRIMARY KEY, name text, note text, data bytea, created timestamptz);
  INSERT INTO customer SELECT i, 'Customer ' || i || ' Ünïcødé ''quoted''', CASE WHEN i % 7 = 0 THEN NULL ELSE E'line1\\nline2' END,
    decode(md5(i::text), 'hex'), timestamptz '2026-01-01 00:00:00Z' + i * interval '1 hour' FROM generate_series(1, ${SAMPLE_ROWS}) i;
  CREATE VIEW customer_count AS SELECT count(*) AS n FROM customer;`;
export const POSTGRES_FINGERPRINT = "SELECT count(*) || ':' || md5(string_agg(id || '|' || coalesce(name,'~') || '|' || coalesce(note,'~') || '|' || encode(data,'hex') || '|' || created::text, ',' ORDER BY id)) FROM customer";

export const MARIADB_SEED = `
  CREATE TABLE customer (id INT PRIMARY KEY, name VARCHAR(200), note TEXT NULL, data VARBINARY(32)) CHARACTER SET utf8mb4;
  INSERT INTO customer SELECT seq, CONCAT('Customer ', seq, ' Ünïcødé ''quoted'''), IF(seq % 7 = 0, NULL, 'line1\\nline2'), UNHEX(MD5(seq)) FROM seq_1_to_${SAMPLE_ROWS};`;
export const MARIADB_FINGERPRINT = "SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(id, '|', name, '|', COALESCE(note,'~'), '|', HEX(data) ORDER BY id SEPARATOR ','))) FROM customer";
