/**
 * POST /admin/v1/projects/{project}/explain — what the data plane would answer for a request described by its
 * facts, and which policy rule decided it. It reads the same records the data plane reads (one statement, with the
 * key found by id instead of by secret: store/authorization.ts) and calls the same authorize(), so the two cannot
 * disagree; a property test checks that they do not. Nothing is written: no usage, no last_used_at, no audit event,
 * so a read-only token may call it and its answer does not wait out the lease.
 */
import * as z from "zod";
import { authorize } from "../authz/authorize";
import { ApiError, ERROR_CODES } from "../errors";
import { loadExplainRecords } from "../store/authorization";
import { toMillis } from "../time";
import { projectFor } from "./guard";
import { Routes } from "./route";
import { AUTH_ERRORS, Fingerprint, json, ProjectParams, Slug, Timestamp, TypedId } from "./schemas";

const ExplainRequest = z
  .strictObject({
    key_id: TypedId("key", "an API key"),
    deployment: Slug,
    method: z
      .string()
      .regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method")
      .transform((m) => m.toUpperCase())
      .default("POST"),
    path: z
      .string()
      .max(2048)
      .regex(/^\/[^?#]*$/, "must be the path after the deployment's base URL, starting with '/', without a query")
      .default("/v1/chat/completions"),
    endpoint: z.enum(["public", "private"]).default("public").meta({
      description: "The endpoint the request arrives on (private: through the PrivateEndpoint service binding, or PRIVATE_HOSTNAME when client_cert_fingerprint is given).",
    }),
    client_cert_fingerprint: Fingerprint.optional()
      .meta({ description: "A request to PRIVATE_HOSTNAME with a verified client certificate of this fingerprint." }),
    client_ip: z.string().max(64).nullable().optional().meta({ description: "CF-Connecting-IP" }),
    country: z.string().regex(/^[A-Za-z]{2}$/, "must be an ISO 3166-1 alpha-2 code").nullable().optional(),
    asn: z.number().int().min(0).max(4294967295).nullable().optional(),
    user_agent: z.string().max(4096).nullable().optional(),
    at: Timestamp.optional().meta({ description: "The instant to decide at (default: now)." }),
  })
  .meta({ id: "ExplainRequest" });

const Decision = z
  .object({
    object: z.literal("decision"),
    allowed: z.boolean(),
    status: z.number().int().meta({ description: "What the data plane would answer: 200 when allowed." }),
    code: z.string().nullable().meta({ description: "The error code the data plane would answer; null when allowed." }),
    message: z.string().nullable(),
    reason: z.string().nullable().meta({ description: "The internal reason word the endpoint log line would carry." }),
    key_id: z.string(),
    deployment: z.string(),
    policy_id: z.string().nullable().meta({ description: "The deciding policy of an application key's request." }),
    rule_index: z.number().int().nullable().meta({ description: "The deciding rule's index in that policy, from 0." }),
    revision: z.number().int().nullable().meta({ description: "The project's revision the decision was made at." }),
  })
  .meta({ id: "Decision" });

export const explain = new Routes();

explain.add(
  {
    method: "post",
    path: "/projects/{project}/explain",
    tags: ["Explain"],
    summary: "Why a request would be allowed or denied (no side effects; read-only tokens may call it)",
    request: { param: ProjectParams, json: ExplainRequest },
    responses: { 200: json(Decision, "The data plane's decision for that request."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const body = c.req.valid("json");
    if (body.client_cert_fingerprint !== undefined && body.endpoint !== "private") {
      throw new ApiError("invalid_request", "Invalid 'client_cert_fingerprint': a client certificate arrives on the private endpoint; set endpoint to \"private\".", "client_cert_fingerprint");
    }
    const records = await loadExplainRecords(c.env.DB, project.slug, body.deployment, body.key_id);
    if (records.key === null) {
      throw new ApiError("not_found", `No key '${body.key_id}' in this project.`, "key_id");
    }
    const decision = authorize({
      credential: { kind: "secret", secret: "" },
      key: records.key,
      deployment: records.deployment,
      projectSlug: project.slug,
      method: body.method,
      rawPath: body.path,
      facts: {
        endpoint: body.endpoint,
        viaPrivateHostname: body.client_cert_fingerprint !== undefined,
        clientCert: body.client_cert_fingerprint ?? null,
        clientIp: body.client_ip ?? null,
        country: body.country ?? null,
        asn: body.asn ?? null,
        userAgent: body.user_agent ?? null,
      },
      now: body.at === undefined ? Date.now() : (toMillis(body.at) as number),
    });
    const denial = decision.ok ? null : new ApiError(decision.code, decision.message);
    return c.json(
      {
        object: "decision" as const,
        allowed: decision.ok,
        status: decision.ok ? 200 : ERROR_CODES[decision.code].status,
        code: decision.ok ? null : decision.code,
        message: denial?.publicMessage ?? null,
        reason: decision.ok ? null : decision.reason,
        key_id: records.key.id,
        deployment: body.deployment,
        policy_id: decision.rule?.policyId ?? null,
        rule_index: decision.rule?.index ?? null,
        revision: records.project?.revision ?? null,
      },
      200,
    );
  },
);
