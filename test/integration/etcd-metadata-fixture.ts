import { Etcd3 } from "etcd3";
import type { EtcdConfig } from "../../src/config.js";
import { testEtcdEndpoints, uniqueName } from "../helpers/env.js";

/** An etcd config slice for the shared test etcd, under a fresh root prefix (so the store starts empty). */
export function testEtcdConfig(overrides: Partial<EtcdConfig> = {}): EtcdConfig {
  return {
    endpoints: testEtcdEndpoints(),
    rootPrefix: `/${uniqueName("meta")}`,
    username: "",
    password: "",
    tls: { caFile: "", certFile: "", keyFile: "" },
    leaseTtlSeconds: 10,
    requestTimeoutMs: 5000,
    ...overrides,
  };
}

/** Deletes everything under `config.rootPrefix` (test cleanup), through a raw client. */
export async function deleteRoot(config: EtcdConfig): Promise<void> {
  const raw = new Etcd3({ hosts: [...config.endpoints] });
  try {
    await raw.delete().prefix(`${config.rootPrefix}/`);
  } finally {
    raw.close();
  }
}

/** A raw etcd3 client for a test to poke at etcd directly; closed when `use` settles. */
export async function withRawClient<T>(endpoints: readonly string[], use: (client: Etcd3) => Promise<T>): Promise<T> {
  const raw = new Etcd3({ hosts: [...endpoints] });
  try {
    return await use(raw);
  } finally {
    raw.close();
  }
}
