import { onTestFinished } from "vitest";

/** Anything a helper starts: a server process, a cluster, a client. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Registers `resource.stop()` to run when the current test finishes (passed or
 * failed) and returns the resource, so cleanup is set up at creation:
 * `const etcd = stopAfterTest(await startEtcd())`. Call it inside a test.
 */
export function stopAfterTest<T extends Stoppable>(resource: T): T {
  onTestFinished(() => resource.stop());
  return resource;
}

/** Runs `fn` when the current test finishes (temp dirs, clients, env stubs). */
export function cleanupAfterTest(fn: () => unknown): void {
  onTestFinished(async () => {
    await fn();
  });
}
