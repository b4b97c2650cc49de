/** How an origin's usage object is read (src/metering/usage.ts). */
import { describe, expect, it } from "vitest";
import { countsIn, reportedCounts } from "../../src/metering/usage";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("reportedCounts", () => {
  it("reads prompt and completion tokens, and ignores total_tokens", () => {
    expect(reportedCounts("chat", { prompt_tokens: 3, completion_tokens: 4, total_tokens: 99 })).toEqual({ promptTokens: 3, completionTokens: 4 });
    expect(reportedCounts("completions", { prompt_tokens: 0, completion_tokens: 0 })).toEqual({ promptTokens: 0, completionTokens: 0 });
  });

  it("lets an embedding leave out its completion count, but not give a bad one", () => {
    expect(reportedCounts("embeddings", { prompt_tokens: 8, total_tokens: 8 })).toEqual({ promptTokens: 8, completionTokens: 0 });
    expect(reportedCounts("embeddings", { prompt_tokens: 8, completion_tokens: 0 })).toEqual({ promptTokens: 8, completionTokens: 0 });
    expect(reportedCounts("embeddings", { prompt_tokens: 8, completion_tokens: -1 })).toBeNull();
    expect(reportedCounts("embeddings", { prompt_tokens: 8, completion_tokens: null })).toBeNull();
    expect(reportedCounts("chat", { prompt_tokens: 8 })).toBeNull();
  });

  it("reads /v1/responses by its own names", () => {
    expect(reportedCounts("responses", { input_tokens: 5, output_tokens: 6 })).toEqual({ promptTokens: 5, completionTokens: 6 });
    expect(reportedCounts("responses", { prompt_tokens: 5, completion_tokens: 6 })).toBeNull();
  });

  it.each([
    [-1],
    [1.5],
    ["3"],
    [null],
    [true],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [100_000_001],
    [2 ** 53],
  ])("refuses a count of %s", (n) => {
    expect(reportedCounts("chat", { prompt_tokens: n, completion_tokens: 1 })).toBeNull();
    expect(reportedCounts("chat", { prompt_tokens: 1, completion_tokens: n })).toBeNull();
  });

  it("takes counts up to 100 million", () => {
    expect(reportedCounts("chat", { prompt_tokens: 100_000_000, completion_tokens: 100_000_000 })).not.toBeNull();
  });

  it.each([[null], [[1, 2]], ["usage"], [7], [undefined]])("refuses a usage of %j", (usage) => {
    expect(reportedCounts("chat", usage)).toBeNull();
  });
});

describe("countsIn", () => {
  it("parses the usage bytes, and calls what does not parse malformed", () => {
    expect(countsIn("chat", bytes('{"prompt_tokens":1,"completion_tokens":2}'))).toEqual({ promptTokens: 1, completionTokens: 2 });
    expect(countsIn("chat", bytes('{"prompt_tokens":1,'))).toBe("malformed");
    expect(countsIn("chat", bytes(`{"prompt_tokens":1,"completion_tokens":2,"x":"${"a".repeat(70_000)}"}`))).toBe("malformed");
  });
});
