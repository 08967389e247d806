import { ErrorCode, isKvCacheError } from "../errors.js";
import type { RequestFields, RequestFrame } from "../wire/frames.js";
import { authError, type AuthFailure, type SecretVerifier } from "../wire/hello.js";
import { Op } from "../wire/protocol.js";

/**
 * One connection's authentication state. With a verifier (auth.secret set),
 * the first frame must be a HELLO, and no other header is admitted until that
 * HELLO has been checked: a client that has not proven the secret can make the
 * node read at most one small HELLO (protocol.MAX_HELLO_BYTES). Without one,
 * every op is admitted and a HELLO is answered OK unchecked.
 */
export class HelloGate {
  #state: "open" | "waiting" | "checking";

  constructor(private readonly verifier: SecretVerifier | undefined) {
    this.#state = verifier === undefined ? "open" : "waiting";
  }

  /** True once no HELLO is required or one was accepted. */
  get authenticated(): boolean {
    return this.#state === "open";
  }

  /** The parser's admit hook: throws ERR_AUTH ("missing") for any frame the state does not allow. */
  admit(header: RequestFields): void {
    if (this.#state === "open") return;
    if (this.#state === "checking" || header.op !== Op.HELLO) throw authError("missing");
    this.#state = "checking";
  }

  /** Checks a HELLO's secret: resolves the connection as authenticated, or throws ERR_AUTH ("wrong"). */
  hello(frame: RequestFrame): void {
    if (this.verifier === undefined) return;
    if (!this.verifier.matches(frame.data)) throw authError("wrong");
    this.#state = "open";
  }
}

/** The AuthFailure an error stands for, when it is an ERR_AUTH. */
export function authFailureOf(err: unknown): AuthFailure | undefined {
  if (!isKvCacheError(err, ErrorCode.AUTH)) return undefined;
  return err.details["reason"] === "wrong" ? "wrong" : "missing";
}
