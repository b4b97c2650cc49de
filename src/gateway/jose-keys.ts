/**
 * The two functions of jose the signed assertion needs, as a module of their own: assertion.ts imports it on first
 * use, and a dynamic `import("jose")` would bring the whole library into the bundle (about 37 KB minified) where
 * named imports let the bundler keep only what is used.
 */
export { calculateJwkThumbprint, importJWK } from "jose";
