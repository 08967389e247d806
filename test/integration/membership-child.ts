/**
 * A cache node's membership in a process of its own, for the membership test:
 * registers `nodeId` under a lease of `ttlSeconds`, prints "registered", then
 * lives on its lease keep-alive until the test SIGKILLs it.
 * Usage: node --import tsx membership-child.ts <endpoints,…> <rootPrefix> <nodeId> <ttlSeconds>
 */
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";

const [endpoints = "", rootPrefix = "", nodeId = "", ttl = ""] = process.argv.slice(2);
const store = await EtcdMetadataStore.connect({
  config: {
    endpoints: endpoints.split(","),
    rootPrefix,
    username: "",
    password: "",
    tls: { caFile: "", certFile: "", keyFile: "" },
    leaseTtlSeconds: Number(ttl),
    requestTimeoutMs: 5000,
  },
});
await store.registerNode({ nodeId, address: "127.0.0.1:7001", adminAddress: "", startedAt: Date.now() }, Number(ttl));
process.stdout.write("registered\n");
