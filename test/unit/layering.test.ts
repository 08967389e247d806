import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Dependencies point one way (DESIGN.md): storage/ and metadata/ use only src/'s
 * shared parts; sdk/ never imports the node; only the adapters import their
 * foreign clients.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

describe("layering", () => {
  it("storage/ and metadata/ import only src/'s shared parts, never the node or the SDK", () => {
    for (const file of [...sourceFiles("storage"), ...sourceFiles("metadata")]) {
      for (const spec of importsOf(file)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/(^|\/)(sdk|node)\//);
        expect(spec, `${file} imports ${spec}`).not.toMatch(/src\/(node|cli)/);
      }
    }
  });

  it("storage/ does not import metadata/ and vice versa", () => {
    for (const file of sourceFiles("storage")) for (const spec of importsOf(file)) expect(spec, file).not.toMatch(/metadata\//);
    for (const file of sourceFiles("metadata")) for (const spec of importsOf(file)) expect(spec, file).not.toMatch(/storage\//);
  });

  it("sdk/ never imports the node", () => {
    for (const file of sourceFiles("sdk")) for (const spec of importsOf(file)) expect(spec, `${file} imports ${spec}`).not.toMatch(/src\/(node|cli)/);
  });

  it("only the etcd adapter imports etcd3 and only the S3 tier imports the AWS SDK", () => {
    for (const file of [...sourceFiles("src"), ...sourceFiles("storage"), ...sourceFiles("metadata"), ...sourceFiles("sdk")]) {
      for (const spec of importsOf(file)) {
        if (spec === "etcd3") expect(file, `${file} imports etcd3`).toMatch(/^metadata\/etcd-/);
        if (spec.startsWith("@aws-sdk/")) expect(file, `${file} imports ${spec}`).toMatch(/^storage\/s3-/);
      }
    }
  });
});
