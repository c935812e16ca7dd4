// Builds dist/widget.js: one minified IIFE, CSS inside, no globals but window.ChatWidget.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: "dist/widget.js",
  legalComments: "none",
  logLevel: "warning",
});
const bytes = readFileSync("dist/widget.js");
console.log(`dist/widget.js: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} bytes gzipped`);
