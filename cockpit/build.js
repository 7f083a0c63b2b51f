// Builds nestvirt's page into DIR (default dist/): esbuild bundles the React
// app and PatternFly 6 into index.js and index.css, as Cockpit's own pages and
// its starter-kit are built. PatternFly's @font-face rules are removed: the
// page uses the console's Red Hat fonts (nestvirt.css), so it ships none and
// fetches nothing from elsewhere.
//
//   node build.js [DIR]
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";

const out = path.resolve(process.argv[2] || "dist");
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const result = await esbuild.build({
    entryPoints: { index: "src/index.tsx" },
    bundle: true,
    outdir: out,
    minify: true,
    target: ["es2020"],
    define: { "process.env.NODE_ENV": '"production"' },
    // The fonts PatternFly's CSS names are the console's (see above).
    external: ["*.woff", "*.woff2", "*.ttf", "*.otf", "*.eot"],
    // PatternFly's background images are inlined (a few KB; img-src allows data:).
    loader: { ".svg": "dataurl" },
    legalComments: "none", // every licence is in THIRD-PARTY-LICENSES, whole
    metafile: true,
    logLevel: "warning",
});

// What the bundle holds of others' code, with each package's licence text:
// the packages ship it as THIRD-PARTY-LICENSES (deploy/packages).
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m && !packages.has(m[1])) {
        const dir = path.join("node_modules", m[1]);
        const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        const file = fs.readdirSync(dir).find(f => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(f));
        if (!file)
            throw new Error(`${m[1]} has no licence file`);
        packages.set(m[1], { version: meta.version, license: meta.license, text: fs.readFileSync(path.join(dir, file), "utf8").trim() });
    }
}
let notice = "nestvirt's web console page (index.js, index.css) bundles these packages:\n\n";
for (const [name, p] of [...packages].sort())
    notice += `${name} ${p.version} (${p.license})\n`;
for (const [name, p] of [...packages].sort())
    notice += `\n---- ${name} ${p.version}\n\n${p.text}\n`;
fs.writeFileSync(path.join(out, "THIRD-PARTY-LICENSES"), notice);

const cssFile = path.join(out, "index.css");
const css = fs.readFileSync(cssFile, "utf8");
const ours = fs.readFileSync("src/nestvirt.css", "utf8").match(/@font-face\s*\{[^}]*\}/g) || [];
let stripped = css.replace(/@font-face\s*\{[^}]*\}/g, "");
for (const f of ours)
    stripped += f; // nestvirt.css's own, which point at the console's fonts
fs.writeFileSync(cssFile, stripped);
if (/url\([^)]*\.(woff2?|ttf|otf|eot)/.test(stripped.replace(/@font-face\s*\{[^}]*\}/g, "")))
    throw new Error("index.css refers to a font outside an @font-face rule");

for (const f of ["index.html", "manifest.json"])
    fs.copyFileSync(path.join("src", f), path.join(out, f));
for (const f of fs.readdirSync(out))
    fs.chmodSync(path.join(out, f), 0o644);
