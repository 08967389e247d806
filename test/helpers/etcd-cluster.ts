import { loopbackUrl, retryPortClash, startEtcd, type EtcdPeer, type EtcdProcess } from "./etcd-process.js";
import { freePorts } from "./ports.js";

/** A real multi-member etcd cluster on loopback ports. */
export interface EtcdCluster {
  readonly members: EtcdProcess[];
  /** Client endpoints of every member, in member order. */
  readonly endpoints: string[];
  /** Kills every member and removes their data dirs. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `size` members and resolves once each one reports healthy (which, for
 * etcd, means the cluster has elected a leader). Members start concurrently:
 * each waits for a quorum of the others before it can become healthy.
 */
export function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  return retryPortClash(3, () => startOnce(size));
}

async function startOnce(size: number): Promise<EtcdCluster> {
  const ports = await freePorts(2 * size);
  const peers: EtcdPeer[] = Array.from({ length: size }, (_, i) => ({ name: `etcd${i}`, peerUrl: loopbackUrl(ports[2 * i + 1]!) }));
  const started = await Promise.allSettled(
    peers.map((peer, i) => startEtcd({ name: peer.name, cluster: peers, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! })),
  );
  const members = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  // SIGKILL first: the data dirs are deleted anyway, and members stopped with
  // SIGTERM together can each spend seconds trying to hand leadership over.
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.kill("SIGKILL")));
    await Promise.all(members.map((m) => m.stop()));
  };
  const failure = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure !== undefined) {
    await stop();
    throw failure.reason;
  }
  return { members, endpoints: members.map((m) => m.endpoint), stop };
}
