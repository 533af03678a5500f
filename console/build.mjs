// Builds the console into a directory webhookd serves: index.html and
// assets/app-<hash>.{js,css} (content-hashed, so cacheable for a year).
//   node build.mjs <out-dir>
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";

// Built beside the target and swapped in, so that a webhookd starting
// meanwhile sees the old console or the new one, never half of one.
const out = path.resolve(process.argv[2] ?? "dist");
const next = `${out}.next`;
fs.rmSync(next, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  outdir: path.join(next, "assets"),
  entryNames: "app-[hash]",
  metafile: true,
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) throw new Error(`build.mjs: expected a .js and a .css, got ${outputs}`);
const html = fs.readFileSync("src/index.html", "utf8")
  .replace("{{JS}}", `/assets/${js}`)
  .replace("{{CSS}}", `/assets/${css}`);
fs.writeFileSync(path.join(next, "index.html"), html);
fs.rmSync(`${out}.old`, { recursive: true, force: true });
if (fs.existsSync(out)) fs.renameSync(out, `${out}.old`);
fs.renameSync(next, out);
fs.rmSync(`${out}.old`, { recursive: true, force: true });
