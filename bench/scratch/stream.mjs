import net from "node:net";
const buf = Buffer.alloc(1 << 20, 7);
const server = net.createServer((s) => { const pump = () => { while (s.write(buf)); }; s.on("drain", pump); pump(); s.on("error", () => {}); });
server.listen(0, "127.0.0.1", () => {
  const c = net.connect(server.address().port, "127.0.0.1");
  let n = 0; const t = performance.now();
  c.on("data", (d) => { n += d.length; if (n > 2e9) { console.log("stream GB/s", (n / (performance.now() - t) / 1e6).toFixed(2)); process.exit(0); } });
});
