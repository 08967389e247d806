/**
 * The baselines' clients in a process of their own (see bench/baselines.ts):
 * Redis through ioredis, the raw loopback sockets, and GetObject through the AWS
 * SDK (a client from the S3 tier's own factory). Forked by the bench; runs
 * one timed round per message and answers with it; exits when the bench disconnects.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { makeS3Client } from "../storage/s3-client.js";
import type { BaselineMessage, BaselineReply } from "./baselines.js";
import { patternBytes, runRound, type Round } from "./measure.js";
import { RawTcpClient } from "./raw-tcp.js";

interface Clients {
  readonly redis: Redis | undefined;
  readonly plain: readonly RawTcpClient[];
  readonly direct: readonly RawTcpClient[];
}

let clients: Clients | undefined;
let s3: { readonly name: string; readonly client: S3Client } | undefined;
const values = new Map<string, Buffer[]>();

async function handle(msg: BaselineMessage): Promise<Round | undefined> {
  if (msg.kind === "open") {
    const { rawPort, redisPort } = msg;
    const open = (direct: boolean): Promise<RawTcpClient[]> => (rawPort === undefined ? Promise.resolve([]) : Promise.all(Array.from({ length: msg.connections }, () => RawTcpClient.open(rawPort, direct))));
    const redis = redisPort === undefined ? undefined : new Redis({ port: redisPort, host: "127.0.0.1" });
    clients = { redis, plain: await open(false), direct: await open(true) };
    return undefined;
  }
  const c = clients;
  if (c === undefined) throw new Error("not opened");
  const redis = (): Redis => c.redis ?? fail("opened without a Redis port");
  switch (msg.kind) {
    case "get": {
      const r = redis();
      return runRound(msg.ops, msg.concurrency, async (i) => (await r.getBuffer(msg.keys[i % msg.keys.length]!))!.length);
    }
    case "set": {
      const name = `${msg.seed}/${msg.size}`;
      let set = values.get(name);
      if (set === undefined) values.set(name, (set = Array.from({ length: 16 }, (_, i) => patternBytes(msg.seed + i, msg.size))));
      const keys = Array.from({ length: msg.ops }, (_, i) => `${msg.prefix}${i}`);
      const r = redis();
      return runRound(msg.ops, msg.concurrency, async (i) => (await r.set(keys[i]!, set[i % set.length]!), msg.size));
    }
    case "unlink":
      await redis().unlink(...Array.from({ length: msg.ops }, (_, i) => `${msg.prefix}${i}`));
      return undefined;
    case "getObject": {
      const name = JSON.stringify(msg.s3);
      if (s3?.name !== name) {
        s3?.client.destroy();
        s3 = { name, client: makeS3Client(msg.s3) };
      }
      const { client } = s3;
      return runRound(msg.ops, msg.concurrency, async (i) => {
        const out = await client.send(new GetObjectCommand({ Bucket: msg.s3.bucket, Key: msg.objects[i % msg.objects.length]! }));
        return (await out.Body!.transformToByteArray()).length;
      });
    }
    case "raw": {
      const sockets = msg.direct ? c.direct : c.plain;
      if (sockets.length < msg.concurrency) fail(`${sockets.length} raw connections open, ${msg.concurrency} asked for`);
      return runRound(msg.ops, msg.concurrency, (_, worker) => sockets[worker]!.fetch(msg.size, msg.blocks));
    }
  }
}

function fail(message: string): never {
  throw new Error(message);
}

process.on("message", (msg: BaselineMessage) => {
  handle(msg).then(
    (round) => process.send!({ id: msg.id, ...(round === undefined ? {} : { round }) } satisfies BaselineReply),
    (err: unknown) => process.send!({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies BaselineReply),
  );
});

process.on("disconnect", () => {
  clients?.redis?.disconnect();
  s3?.client.destroy();
  for (const s of [...(clients?.plain ?? []), ...(clients?.direct ?? [])]) s.close();
  process.exit(0);
});
