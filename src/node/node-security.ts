import type { AppConfig } from "../config.js";
import { missingKeys, readPemFile } from "../tls-files.js";
import { SecretVerifier } from "../wire/hello.js";
import type { ServerTls } from "./data-server.js";

/** What a node's servers need to authenticate clients and speak TLS, read from the config once. */
export interface NodeSecurity {
  /** The cluster secret's verifier (auth.secret); undefined: authentication off. */
  readonly verifier?: SecretVerifier;
  /** Data-path TLS (tls.enabled). */
  readonly dataTls?: ServerTls;
  /** https on the admin and metrics servers (node.adminTls). */
  readonly adminTls?: ServerTls;
}

/** Reads the secret and the PEM files; throws ERR_CONFIG_INVALID naming a missing or unreadable key. */
export function nodeSecurity(config: AppConfig): NodeSecurity {
  const { auth, tls, node } = config;
  return {
    verifier: auth.secret === "" ? undefined : new SecretVerifier(auth.secret),
    dataTls: tls.enabled ? serverTls(tls.certFile, tls.keyFile, "tls", "data-path TLS (tls.enabled)") : undefined,
    adminTls: node.adminTls.certFile === "" && node.adminTls.keyFile === ""
      ? undefined
      : serverTls(node.adminTls.certFile, node.adminTls.keyFile, "node.adminTls", "https on the admin port"),
  };
}

function serverTls(certFile: string, keyFile: string, section: string, why: string): ServerTls {
  const missing = [certFile === "" ? `${section}.certFile` : "", keyFile === "" ? `${section}.keyFile` : ""].filter((k) => k !== "");
  if (missing.length > 0) throw missingKeys(missing, why);
  return { cert: readPemFile(certFile, `${section}.certFile`), key: readPemFile(keyFile, `${section}.keyFile`) };
}
