import fs from "node:fs";

/**
 * pread / pwrite of a whole buffer on a raw file descriptor. The callback API
 * costs less per call than FileHandle's promises, which matters at one call per
 * block on the shared memory path; short transfers are continued until done.
 */

/** Fills `into` from `fd` at `position`; rejects with a RangeError when the file ends first. */
export function readFully(fd: number, into: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === into.length) return resolve();
      fs.read(fd, into, done, into.length - done, position + done, (err, n) => {
        if (err !== null) return reject(err);
        if (n === 0) return reject(new RangeError(`file ends at ${position + done}, before the ${into.length} bytes asked from ${position}`));
        step(done + n);
      });
    };
    step(0);
  });
}

/** Writes all of `data` to `fd` at `position`. */
export function writeFully(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === data.length) return resolve();
      fs.write(fd, data, done, data.length - done, position + done, (err, n) => {
        if (err !== null) return reject(err);
        step(done + n);
      });
    };
    step(0);
  });
}

/** {@link readFully} on the calling thread (for a memory file system, where a read is a memory copy). */
export function readFullySync(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length;) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new RangeError(`file ends at ${position + done}, before the ${into.length} bytes asked from ${position}`);
    done += n;
  }
}

/** {@link writeFully} on the calling thread. */
export function writeFullySync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}
