import type * as Undici from 'undici';

// Bundle only: `make build` aliases the package `undici` to this file (esbuild --alias), so the CLI evaluates undici
// (~1 MB, plus node:http, node:tls, node:zlib …) the first time a registry is actually contacted, not at start-up:
// registry/index.ts re-exports the client, so every command that names a registry type imported it. esbuild turns
// the require() below into a call of the bundled module's lazy initialiser; the unbundled dist/ never loads this file.
// A name the bundle imports from undici but this file does not export fails the build (esbuild: "No matching export").

type UndiciModule = typeof Undici;

let loaded: UndiciModule | undefined;

function undici(): UndiciModule {
  // By path: the alias also rewrites 'undici/…'.
  loaded ??= require('../../node_modules/undici/index.js') as UndiciModule;
  return loaded;
}

/** A class of undici's, constructed from the real module on first `new`. */
function lazyClass<K extends 'Agent' | 'ProxyAgent' | 'EnvHttpProxyAgent' | 'Client' | 'Pool' | 'RetryAgent'>(name: K): UndiciModule[K] {
  return new Proxy(function placeholder() { /* never called: construct is trapped */ }, {
    construct: (_target, args: unknown[]) => Reflect.construct(undici()[name], args) as object,
    get: (_target, key) => Reflect.get(undici()[name], key) as unknown,
  }) as unknown as UndiciModule[K];
}

/** An object of undici's (interceptors, errors), read from the real module on first property access. */
function lazyObject<K extends 'interceptors' | 'errors'>(name: K): UndiciModule[K] {
  return new Proxy({}, { get: (_target, key) => Reflect.get(undici()[name], key) as unknown }) as UndiciModule[K];
}

export const request: UndiciModule['request'] = ((...args: Parameters<UndiciModule['request']>) => undici().request(...args)) as UndiciModule['request'];
export const fetch: UndiciModule['fetch'] = ((...args: Parameters<UndiciModule['fetch']>) => undici().fetch(...args)) as UndiciModule['fetch'];
export const Agent = lazyClass('Agent');
export const ProxyAgent = lazyClass('ProxyAgent');
export const EnvHttpProxyAgent = lazyClass('EnvHttpProxyAgent');
export const Client = lazyClass('Client');
export const Pool = lazyClass('Pool');
export const RetryAgent = lazyClass('RetryAgent');
export const interceptors = lazyObject('interceptors');
export const errors = lazyObject('errors');
export type { Dispatcher } from 'undici';
