import { describe, expect, it } from "vitest";
import { directoryHugePages, hugePagesOf, mountOf } from "../../src/huge-pages.js";

const MOUNTINFO = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "24 22 0:22 / /dev/shm rw,relatime shared:2 - tmpfs tmpfs rw,size=24683620k",
  "41 22 0:38 / /mnt/huge rw,relatime - tmpfs tmpfs rw,size=2097152k,huge=always",
  "42 41 0:39 / /mnt/huge/small rw,relatime - tmpfs tmpfs rw,size=1g,huge=within_size",
  "43 22 0:40 / /mnt/with\\040space rw,relatime - tmpfs tmpfs rw,huge=advise",
  "44 22 0:41 / /mnt/stacked rw - tmpfs tmpfs rw,huge=always",
  "45 22 0:42 / /mnt/stacked rw - tmpfs tmpfs rw,huge=never",
].join("\n");

const pagesOf = (directory: string, shmemEnabled?: string): string => hugePagesOf(mountOf(MOUNTINFO, directory), shmemEnabled);

describe("huge pages of a directory", () => {
  it("follows the huge= option of the innermost mount holding the directory", () => {
    expect(pagesOf("/dev/shm")).toBe("no");
    expect(pagesOf("/mnt/huge")).toBe("yes");
    expect(pagesOf("/mnt/huge/deeper/dir")).toBe("yes");
    expect(pagesOf("/mnt/huge/small/x")).toBe("yes");
    expect(pagesOf("/mnt/hugepages")).toBe("not tmpfs"); // a sibling name, not inside /mnt/huge
    expect(pagesOf("/mnt/with space/x")).toBe("no"); // advise: only what asks for them, and nothing here asks
    expect(pagesOf("/mnt/stacked")).toBe("no"); // the later mount on one point is the visible one
    expect(pagesOf("/var/tmp")).toBe("not tmpfs");
  });

  it("lets the kernel's tmpfs-wide deny and force override a mount's option", () => {
    expect(pagesOf("/mnt/huge", "always within_size advise never [deny] force")).toBe("no");
    expect(pagesOf("/dev/shm", "always within_size advise never deny [force]")).toBe("yes");
    expect(pagesOf("/dev/shm", "always within_size advise [never] deny force")).toBe("no");
    expect(pagesOf("/var/tmp", "always within_size advise never deny [force]")).toBe("not tmpfs");
  });

  it("reads this machine's mount table, and says unknown for a directory that does not exist", async () => {
    expect(["yes", "no"]).toContain(await directoryHugePages("/dev/shm"));
    expect(await directoryHugePages("/proc/self")).toBe("not tmpfs");
    expect(await directoryHugePages("/dev/shm/no-such-directory-here")).toBe("unknown");
  });
});
