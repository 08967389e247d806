import { describe, expect, it } from "vitest";
import { parsePlan } from "../../bench/plan.js";

describe("bench plan (npm run bench arguments)", () => {
  it("runs every section, the hot nodes on a huge-page tmpfs, unless told otherwise", () => {
    const plan = parsePlan([]);
    expect([...plan.sections]).toEqual(["hot", "insert", "lookup", "embedded", "cold", "llama"]);
    expect(plan.sharedMemory).toBe("huge-tmpfs");
    expect(plan.hot.rounds).toBe(7);
  });

  it("takes --only, --no-llama, --quick, --shared-directory and --no-huge-pages", () => {
    const plan = parsePlan(["--quick", "--only=hot,llama", "--no-llama", "--shared-directory=/mnt/huge"]);
    expect([...plan.sections]).toEqual(["hot"]);
    expect(plan.quick).toBe(true);
    expect(plan.hot.rounds).toBe(3);
    expect(plan.sharedMemory).toEqual({ directory: "/mnt/huge" });
    expect(parsePlan(["--no-huge-pages"]).sharedMemory).toBe("config-default");
  });

  it("refuses an unknown section and an empty directory, naming them", () => {
    expect(() => parsePlan(["--only=hot,warm"])).toThrow(/unknown section\(s\) warm/);
    expect(() => parsePlan(["--shared-directory="])).toThrow(/--shared-directory needs a directory/);
    expect(() => parsePlan(["--shared-directory=/x", "--no-huge-pages"])).toThrow(/exclude each other/);
  });
});
