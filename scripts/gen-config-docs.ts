// Regenerates config/default.json and the README's configuration table from the schema.
import { readFileSync, writeFileSync } from "node:fs";
import { README_MARKERS, configReferenceMarkdown, defaultConfigObject } from "../src/config-docs.js";

writeFileSync("config/default.json", JSON.stringify(defaultConfigObject(), null, 2) + "\n");
const readme = readFileSync("README.md", "utf8");
const start = readme.indexOf(README_MARKERS.begin);
const end = readme.indexOf(README_MARKERS.end);
if (start < 0 || end < start) throw new Error("README.md lacks the config-reference markers");
const table = `${README_MARKERS.begin}\n${configReferenceMarkdown()}\n${README_MARKERS.end}`;
writeFileSync("README.md", readme.slice(0, start) + table + readme.slice(end + README_MARKERS.end.length));
console.log("config/default.json and README.md configuration reference regenerated");
