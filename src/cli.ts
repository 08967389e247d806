#!/usr/bin/env node
/** The `datenlordsdk` command: a cache node, and put / get / stats / nodes against a cache. */
import { main } from "./cli/main.js";

process.exitCode = await main(process.argv.slice(2));
