/**
 * `import()` of a package or built-in the build leaves outside the bundles (an ES module
 * such as @kubernetes/client-node, the keychain's native binding, a built-in loaded on
 * demand). Code compiled with a V8 code cache (src/core/vendor.ts: dist/cli/cli.cjs runs in
 * a `vm.Script`) may not call `import()` itself, so the build replaces this module in
 * cli.cjs with a call into dist/cli/esm.cjs, a plain file whose `import()` Node runs as
 * usual. From sources (tests, the type check) it is the plain `import()`.
 */
export function importPackage<T>(specifier: string): Promise<T> {
  return import(specifier) as Promise<T>;
}
