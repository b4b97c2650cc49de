/**
 * The control: a Worker that forwards every request to the origin with no authorization, served the same way as
 * keygate. It maps `/endpoint/{project}/{deployment}/{rest}` to `{ORIGIN}/{rest}` like keygate does (so the origin
 * sees the same request from both) and otherwise changes nothing: method, headers, body and query go as they came,
 * and the response streams back untouched. keygate's cost is measured as the difference from this Worker.
 */
const ENDPOINT = /^\/endpoint\/[^/]+\/[^/]+(\/.*)$/;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const rest = ENDPOINT.exec(url.pathname)?.[1] ?? url.pathname;
    return fetch(new Request(env.ORIGIN + rest + url.search, request));
  },
};
