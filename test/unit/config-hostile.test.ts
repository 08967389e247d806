import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { peerSecurity } from "../../sdk/peer-security.js";
import { main } from "../../src/cli/main.js";
import { Exit } from "../../src/cli/exit-codes.js";
import { loadConfig, type ConfigOverrides } from "../../src/config.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { nodeSecurity } from "../../src/node/node-security.js";

/** What `fn` threw, which must be ERR_CONFIG_INVALID. */
function configError(fn: () => unknown): KvCacheError {
  let thrown: unknown;
  expect(() => {
    try {
      fn();
    } catch (err) {
      thrown = err;
      throw err;
    }
  }).toThrow(KvCacheError);
  expect(thrown).toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  return thrown as KvCacheError;
}

const load = (overrides: ConfigOverrides, env: NodeJS.ProcessEnv = {}) => loadConfig({ overrides, env });

async function cli(args: readonly string[]): Promise<{ code: Exit; stderr: string }> {
  const stderr = new PassThrough();
  let text = "";
  stderr.on("data", (c: Buffer) => (text += c.toString()));
  const code = await main(args, { stdin: new PassThrough(), stdout: new PassThrough(), stderr });
  return { code, stderr: text };
}

describe("hostile configuration", () => {
  it("refuses path-like namespaces, naming the key", () => {
    const bad = ["../etc", "a/../b", "a/./b", "/abs", "trailing/", "a//b", "back\\slash", "nul\u0000byte", "tab\tname", "x".repeat(257)];
    for (const namespace of bad) {
      const err = configError(() => load({ namespace }));
      expect(err.details["keys"], JSON.stringify(namespace)).toEqual(["namespace"]);
    }
    expect(load({ namespace: "llama-3/8b/fp16 tenant:a" }).namespace).toBe("llama-3/8b/fp16 tenant:a");
  });

  it("refuses a short secret without printing it, and an unknown key under auth", () => {
    const short = configError(() => load({}, { DATENLORD_AUTH_SECRET: "tooshort" }));
    expect(short.details["keys"]).toEqual(["auth.secret"]);
    expect(short.message).not.toContain("tooshort");
    const unknown = configError(() => load({ auth: { secret: "0123456789abcdef", token: "x" } as never }));
    expect(unknown.message).toContain("auth.token");
  });

  it("a node with TLS on but no certificate, or an unreadable one, fails naming the keys", () => {
    const missing = configError(() => nodeSecurity(load({ tls: { enabled: true } })));
    expect(missing.details["keys"]).toEqual(["tls.certFile", "tls.keyFile"]);
    const halfAdmin = configError(() => nodeSecurity(load({ node: { adminTls: { certFile: "/x.pem" } } })));
    expect(halfAdmin.details["keys"]).toEqual(["node.adminTls.keyFile"]);
    const unreadable = configError(() => nodeSecurity(load({ tls: { enabled: true, certFile: "/nonexistent/c.pem", keyFile: "/nonexistent/k.pem" } })));
    expect(unreadable.details["keys"]).toEqual(["tls.certFile"]);
    expect(unreadable.message).toContain("/nonexistent/c.pem");
  });

  it("an SDK with an unreadable CA file fails naming tls.caFile; with TLS off it reads no file", () => {
    const err = configError(() => peerSecurity(load({ tls: { enabled: true, caFile: "/nonexistent/ca.pem" } })));
    expect(err.details["keys"]).toEqual(["tls.caFile"]);
    expect(peerSecurity(load({ tls: { caFile: "/nonexistent/ca.pem" }, auth: { secret: "0123456789abcdef" } }))).toEqual({ secret: "0123456789abcdef" });
  });
});

describe("hostile command lines", () => {
  it("unknown commands and flags, missing values and stray arguments are usage errors (exit 2) that say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["get", "--tokns"], /--tokns/],
      [["node", "--config"], /--config/],
      [["node", "extra-arg"], /node takes no arguments/],
      [["help", "nope"], /unknown command "nope"/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await cli(args);
      expect(code, args.join(" ")).toBe(Exit.USAGE);
      expect(stderr, args.join(" ")).toMatch(message);
    }
  });

  it("a config file that is missing or malformed is a config error (exit 3) naming the file", async () => {
    const { code, stderr } = await cli(["stats", "--config", "/nonexistent/datenlord.json"]);
    expect(code).toBe(Exit.CONFIG);
    expect(stderr).toContain("[ERR_CONFIG_INVALID]");
    expect(stderr).toContain("/nonexistent/datenlord.json");
  });
});
