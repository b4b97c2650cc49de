/**
 * What the conditions of keys and policy rules may ask about a request (authz/types.ts RequestFacts), each read from
 * the request the first time a condition asks, then kept. Most keys have no condition, and `request.cf` is built
 * into an object on first access: reading it for every request measured about 20 µs of CPU under load, more than the
 * rest of the decision.
 */
import type { RequestFacts } from "../authz/types";
import type { Arrival } from "./arrival";

/** Not read yet (every fact's own value may be null). */
const UNREAD = Symbol("unread");

export class RequestFactsOf implements RequestFacts {
  readonly endpoint: RequestFacts["endpoint"];
  readonly viaPrivateHostname: boolean;
  readonly clientCert: string | null;
  private ip: string | null | typeof UNREAD = UNREAD;
  private agent: string | null | typeof UNREAD = UNREAD;
  private cf: IncomingRequestCfProperties | undefined | typeof UNREAD = UNREAD;

  constructor(
    private readonly request: Request,
    arrival: Arrival,
  ) {
    const mtls = arrival.endpoint === "private" && arrival.via === "mtls" ? arrival : null;
    this.endpoint = arrival.endpoint;
    this.viaPrivateHostname = mtls !== null;
    this.clientCert = mtls?.certificate ?? null;
  }

  get clientIp(): string | null {
    if (this.ip === UNREAD) this.ip = this.request.headers.get("cf-connecting-ip");
    return this.ip;
  }

  get userAgent(): string | null {
    if (this.agent === UNREAD) this.agent = this.request.headers.get("user-agent");
    return this.agent;
  }

  get country(): string | null {
    const country = this.edge()?.country;
    return typeof country === "string" ? country : null;
  }

  get asn(): number | null {
    const asn = this.edge()?.asn;
    return typeof asn === "number" ? asn : null;
  }

  private edge(): IncomingRequestCfProperties | undefined {
    if (this.cf === UNREAD) this.cf = this.request.cf as IncomingRequestCfProperties | undefined;
    return this.cf;
  }
}
