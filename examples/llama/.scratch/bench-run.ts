import { benchLlamaTtft } from "../bench.js";
import { startS3rver } from "../../../test/helpers/s3rver-process.js";
const s3 = await startS3rver({ bucket: "bench" });
try {
  const rows = await benchLlamaTtft({
    size: (process.argv[2] ?? "medium") as "medium",
    promptTokens: (process.argv[3] ?? "64,256,1024").split(",").map(Number),
    s3: { memory: { capacityBytes: 1 }, disk: { directory: "" }, s3: { endpoint: s3.endpoint, bucket: "bench", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", forcePathStyle: true } },
  });
  console.table(rows);
} finally { await s3.stop(); }
