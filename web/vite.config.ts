import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { type Plugin, defineConfig } from "vite";

const ROOT = resolve(import.meta.dirname, "..");
const OUT_DIR = resolve(ROOT, "dist/assets");
/** Fingerprinted bundles live here: `_headers` caches this folder for a year, immutable. */
const ASSETS_DIR = "app";

/**
 * /docs loads Scalar's reference UI from our own assets (see src/routes/docs): copy the npm package's
 * standalone script next to the dashboard so the page works offline.
 */
function scalarScript(): Plugin {
  return {
    name: "datasync-scalar-script",
    apply: "build",
    async writeBundle() {
      const target = resolve(OUT_DIR, "vendor/scalar/standalone.js");
      await mkdir(dirname(target), { recursive: true });
      await copyFile(resolve(ROOT, "node_modules/@scalar/api-reference/dist/browser/standalone.js"), target);
    },
  };
}

/**
 * The assets folder is shared with `build:agent` (dist/assets/downloads), so it is not emptied as a
 * whole; only our own fingerprinted bundles from the previous build are removed.
 */
function cleanOwnBundles(): Plugin {
  return {
    name: "datasync-clean-bundles",
    apply: "build",
    async buildStart() {
      await rm(resolve(OUT_DIR, ASSETS_DIR), { recursive: true, force: true });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), cleanOwnBundles(), scalarScript()],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: false,
    assetsDir: ASSETS_DIR,
    target: "es2022",
    sourcemap: false,
  },
});
