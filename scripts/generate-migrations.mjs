// Until the first production deploy the schema is young: migrations are regenerated as one initial
// migration from the Drizzle schema, so parallel work never produces conflicting or interactive
// (rename-prompting) migrations. After the first deploy, switch this script to plain `drizzle-kit generate`.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("migrations", { recursive: true, force: true });
execFileSync("drizzle-kit", ["generate", "--name", "init"], { stdio: "inherit" });
