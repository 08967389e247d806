import { describe, expect, it } from "vitest";
import { parsePlan } from "../../bench/plan.js";

describe("bench plan (npm run bench arguments)", () => {
  it("runs every section on the default shared directory unless told otherwise", () => {
    const plan = parsePlan([]);
    expect([...plan.sections]).toEqual(["hot", "insert", "lookup", "embedded", "cold", "llama"]);
    expect(plan.sharedDirectory).toBeUndefined();
    expect(plan.hot.rounds).toBe(7);
  });

  it("takes --only, --no-llama, --quick and --shared-directory", () => {
    const plan = parsePlan(["--quick", "--only=hot,llama", "--no-llama", "--shared-directory=/mnt/huge"]);
    expect([...plan.sections]).toEqual(["hot"]);
    expect(plan.quick).toBe(true);
    expect(plan.hot.rounds).toBe(3);
    expect(plan.sharedDirectory).toBe("/mnt/huge");
  });

  it("refuses an unknown section and an empty directory, naming them", () => {
    expect(() => parsePlan(["--only=hot,warm"])).toThrow(/unknown section\(s\) warm/);
    expect(() => parsePlan(["--shared-directory="])).toThrow(/--shared-directory needs a directory/);
  });
});
