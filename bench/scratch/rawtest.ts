import { startRawTcpServer, RawTcpClient } from "../raw-tcp.ts";
import { runRound, gbPerSecond, MiB } from "../measure.ts";
const srv = await startRawTcpServer();
for (const conc of [1, 8]) {
  const cs = await Promise.all(Array.from({ length: conc }, () => RawTcpClient.open(srv.port)));
  for (let k = 0; k < 3; k++) {
    const r = await runRound(256, conc, (_, w) => cs[w]!.fetch(MiB));
    console.log(conc, gbPerSecond(r).toFixed(3), "GB/s");
  }
  cs.forEach((c) => c.close());
}
await srv.stop();
