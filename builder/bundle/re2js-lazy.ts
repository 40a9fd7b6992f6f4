import type * as Re2js from 're2js';

// Bundle only: `make build` aliases the package `re2js` to this file (esbuild --alias, as undici-lazy.ts does for
// undici), so `tsbuild bake` parses and evaluates re2js (~260 KB) the first time a bake file calls a regex function,
// not every time it runs: loading it with the bake chunk made every `tsbuild bake --print` ~13 ms slower (median of 40
// alternating runs, 89 -> 104 ms from the snapshot, 183 -> 196 ms on the ESM path). esbuild turns the require() below
// into a call of the bundled module's lazy initialiser; the unbundled dist/ never loads this file.
// A name the bundle imports from re2js but this file does not export fails the build (esbuild: "No matching export").

type Re2jsModule = typeof Re2js;

let real: Re2jsModule | undefined;

function re2js(): Re2jsModule {
  // By path: the alias also rewrites 're2js/…'. The CommonJS build, which esbuild wraps as it is.
  real ??= require('../../node_modules/re2js/build/index.cjs') as Re2jsModule;
  return real;
}

/**
 * A class of re2js's that loads the package on first use: its statics (RE2JS.compile) are the real ones, bound to the
 * real class, and `instanceof` asks the real class (Function.prototype[Symbol.hasInstance], bound the same way).
 */
function lazyClass<K extends 'RE2JS' | 'RE2JSException'>(name: K): Re2jsModule[K] {
  return new Proxy(function placeholder() { /* never called: construct is trapped */ }, {
    construct: (_target, args: unknown[]) => Reflect.construct(re2js()[name], args) as object,
    get: (_target, key) => {
      const cls = re2js()[name];
      const value = Reflect.get(cls, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(cls) : value;
    },
  }) as unknown as Re2jsModule[K];
}

export const RE2JS = lazyClass('RE2JS');
export const RE2JSException = lazyClass('RE2JSException');
