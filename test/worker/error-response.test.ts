/** The contract's error answer: keygate's own headers win over an error's extra ones, whatever their spelling. */
import { describe, expect, it } from "vitest";
import { ApiError, errorResponse } from "../../src/errors";

describe("errorResponse", () => {
  it("sends one value per header when an error's extra headers spell keygate's own in another case", async () => {
    const err = new ApiError("rate_limited", undefined, null, {
      headers: { "Retry-After": "7", "Cache-Control": "public", "Content-Type": "text/html" },
    });
    const res = errorResponse(err, "req_1");
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toBe("req_1");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
  });
});
