/**
 * The two deadlines of one origin call, kept on one timer:
 *   body     the client's body must have arrived `bodyTimeoutMs` after forwarding began (else 408 `request_timeout`);
 *   headers  the origin's response headers must have arrived `timeoutMs` after it was called (else 504
 *            `origin_timeout`).
 * Once the origin has answered neither applies: a stream is never cut.
 *
 * Why one timer: a timer set and cleared costs a request several microseconds of the runtime's per-request machinery
 * (BENCHMARKS.md, "The warm path"), and every metered chat request has a body keygate reads and an origin call. The
 * timer is set for the nearer deadline; when it fires with that one met, it is set again for the other. In the common
 * case (a body in at once, an origin that answers) it is set once, never cleared, and fires after the request has
 * ended, finding nothing to do; a timer still pending when the request ends goes with it.
 */
import { ApiError } from "../errors";

export class CallDeadlines {
  /** When the body must be in (epoch ms); null: it is in, or keygate does not wait for it. */
  private bodyBy: number | null = null;
  /** When the origin's headers must be in; null: not called yet, or answered. */
  private headersBy: number | null = null;
  /** When the pending timer fires; null: none is pending. */
  private armedFor: number | null = null;
  private over = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly stop: (reason: ApiError) => void,
  ) {}

  /** The body is being read or streamed to the origin: it must be in within `ms` from now. */
  awaitBody(ms: number): void {
    this.bodyBy = Date.now() + ms;
    this.arm();
  }

  /** The body is all in: its deadline no longer applies. */
  readonly bodyArrived = (): void => {
    this.bodyBy = null;
  };

  /** The origin is being called: its headers are due within the origin timeout. */
  called(): void {
    this.headersBy = Date.now() + this.timeoutMs;
    this.arm();
  }

  /** The origin has answered (or the call is over): nothing is due any more. */
  answered(): void {
    this.over = true;
  }

  /** Sets the timer for the nearest deadline, unless one already fires by then. */
  private arm(): void {
    const due = this.nextDue();
    if (due === null || (this.armedFor !== null && this.armedFor <= due)) return;
    this.armedFor = due;
    setTimeout(this.fire, Math.max(1, due - Date.now()));
  }

  private readonly fire = (): void => {
    this.armedFor = null;
    if (this.over) return;
    const now = Date.now();
    if (this.bodyBy !== null && now >= this.bodyBy) return this.end(new ApiError("request_timeout"));
    if (this.headersBy !== null && now >= this.headersBy) return this.end(new ApiError("origin_timeout"));
    // Fired for a deadline that was met (or a clock a tick behind the timer): wait for the next one.
    this.arm();
  };

  private end(reason: ApiError): void {
    this.over = true;
    this.stop(reason);
  }

  private nextDue(): number | null {
    if (this.over) return null;
    if (this.bodyBy === null) return this.headersBy;
    return this.headersBy === null ? this.bodyBy : Math.min(this.bodyBy, this.headersBy);
  }
}
