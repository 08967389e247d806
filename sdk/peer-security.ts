import type { AppConfig } from "../src/config.js";
import { readPemFile } from "../src/tls-files.js";
import type { PeerTls } from "./peer-connection.js";

/** The connection set-up every PeerClient of a cluster uses: its secret and TLS. */
export interface PeerSecurity {
  readonly secret?: string;
  readonly tls?: PeerTls;
}

/**
 * Reads auth.secret and the data-path TLS settings once (PEM files included),
 * for every PeerClient the SDK makes. Throws ERR_CONFIG_INVALID naming an
 * unreadable file's key.
 */
export function peerSecurity(config: AppConfig): PeerSecurity {
  const { auth, tls } = config;
  const secret = auth.secret === "" ? undefined : auth.secret;
  if (!tls.enabled) return { secret };
  const read = (file: string, key: string): Buffer | undefined => (file === "" ? undefined : readPemFile(file, key));
  return {
    secret,
    tls: {
      ca: read(tls.caFile, "tls.caFile"),
      // A client certificate only when both halves are configured.
      cert: tls.keyFile === "" ? undefined : read(tls.certFile, "tls.certFile"),
      key: tls.certFile === "" ? undefined : read(tls.keyFile, "tls.keyFile"),
      serverName: tls.serverName === "" ? undefined : tls.serverName,
    },
  };
}
