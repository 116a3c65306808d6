// ajv (JSON Schema 2020-12) over documents, for the FIM differential test and
// benchmark.  usage: node fim-ajv.mjs SCHEMA.json DOCS.jsonl [--bench SECONDS]
// Prints one line per document ("1" valid, "0" invalid), or with --bench the
// figures "ajv_docs N seconds S docs_per_s R" (documents already parsed) and
// "ajv_text_docs N seconds S docs_per_s R" (JSON.parse of the text + validate,
// like for like with a validator that starts from the request body).
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const [schemaPath, docsPath, flag, secs] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv, { mode: "full", keywords: true });
const validate = ajv.compile(schema);
const lines = readFileSync(docsPath, "utf8").split("\n").filter((l) => l.length);
const docs = lines.map((l) => JSON.parse(l));
if (flag === "--bench") {
  // warm up, then the best of three rounds (the machine may be shared)
  const limit = Number(secs || 1) * 1000;
  for (const d of docs) validate(d);
  let best = 0, bestN = 0, bestS = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < limit) {
      for (const d of docs) validate(d);
      n += docs.length;
    }
    const s = (performance.now() - t0) / 1000;
    if (n / s > best) [best, bestN, bestS] = [n / s, n, s];
  }
  console.log(`ajv_docs ${bestN} seconds ${bestS.toFixed(3)} docs_per_s ${best.toFixed(0)}`);
  best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < limit) {
      for (const l of lines) validate(JSON.parse(l));
      n += lines.length;
    }
    const s = (performance.now() - t0) / 1000;
    if (n / s > best) [best, bestN, bestS] = [n / s, n, s];
  }
  console.log(`ajv_text_docs ${bestN} seconds ${bestS.toFixed(3)} docs_per_s ${best.toFixed(0)}`);
} else {
  const out = docs.map((d) => (validate(d) ? "1" : "0"));
  console.log(out.join("\n"));
}
