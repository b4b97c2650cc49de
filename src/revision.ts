/**
 * `keygate-revision`: the next-request promise in numbers. Every management write raises its project's revision
 * (src/store/revisions.ts); a write's answer carries the revision after it, and a data-plane answer decided for the
 * project's caller carries the revision of the state that decided it. A request that starts after a write's answer
 * arrived carries a revision at least the write's.
 */
export const REVISION_HEADER = "keygate-revision";
