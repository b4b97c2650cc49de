/**
 * The name of an environment variable that holds a secret (an origin header's value, from `--origin-header NAME=VAR`
 * or a config file's `{env: VAR}`): upper-case letters, digits and
 * `_`, as environment variables are conventionally named, at most 64 characters. The rule is strict on purpose: a
 * secret pasted where the variable's name belongs (`hf_AbC…`, `sk-…`, `Bearer …`) fails it, and the error then never
 * repeats what was typed.
 */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
export const ENV_NAME_MAX = 64;

export const ENV_NAME_RULE = "an environment variable's NAME: upper-case letters, digits and _ (at most 64)";
