// Bundles the UI's JavaScript and the third-party CSS into src/pedigree/web/static/dist/
// (never committed; `make web` runs this after `npm ci`).
import * as esbuild from "esbuild";

const out = "../src/pedigree/web/static/dist";
await esbuild.build({
  entryPoints: { app: "src/app.js" },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  logLevel: "warning",
  legalComments: "linked",
});
console.log(`bundled into ${out}`);
