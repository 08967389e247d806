import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTempDir, removeDir } from "./temp-dir.js";

const run = promisify(execFile);

/** PEM files made for one test run: a CA, and certificates it signed. */
export interface TestCerts {
  readonly dir: string;
  readonly caFile: string;
  /** Server certificate for 127.0.0.1 and localhost (also usable as a client certificate). */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A client certificate with CN=`clientName`. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** A CA that signed nothing here: trusting it alone must fail verification. */
  readonly otherCaFile: string;
  stop(): Promise<void>;
}

/**
 * Generates a throw-away CA and certificates with the system's `openssl`
 * (EC P-256, valid 2 days), in a temp dir removed by stop(). Fails loudly when
 * openssl is missing: the TLS tests must not pass without it.
 */
export async function makeTestCerts(clientName = "datenlord-client"): Promise<TestCerts> {
  const dir = await makeTempDir("datenlord-certs-");
  const p = (name: string): string => join(dir, name);
  try {
    await selfSigned(p("ca"), "datenlord-test-ca");
    await selfSigned(p("other-ca"), "unrelated-ca");
    await writeFile(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
    await signed(p("server"), "localhost", p("ca"), p("ext.cnf"));
    await signed(p("client"), clientName, p("ca"), p("ext.cnf"));
  } catch (err) {
    await removeDir(dir);
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT" ? " (no openssl on PATH: apt-get install -y openssl)" : "";
    throw new Error(`generating test certificates with openssl failed${missing}: ${(err as Error).message}`, { cause: err });
  }
  return {
    dir,
    caFile: p("ca.pem"),
    serverCertFile: p("server.pem"),
    serverKeyFile: p("server.key"),
    clientCertFile: p("client.pem"),
    clientKeyFile: p("client.key"),
    otherCaFile: p("other-ca.pem"),
    stop: () => removeDir(dir),
  };
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function selfSigned(base: string, cn: string): Promise<void> {
  await run("openssl", ["req", "-x509", ...KEY, "-keyout", `${base}.key`, "-out", `${base}.pem`, "-days", "2", "-subj", `/CN=${cn}`]);
}

async function signed(base: string, cn: string, ca: string, ext: string): Promise<void> {
  await run("openssl", ["req", ...KEY, "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${cn}`]);
  await run("openssl", ["x509", "-req", "-in", `${base}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${base}.pem`, "-days", "2", "-extfile", ext]);
}
