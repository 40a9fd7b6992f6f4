import type * as Undici from 'undici';

// Bundle only: `make build` aliases the package `undici` to this file (esbuild --alias), so the CLI evaluates undici
// (~1 MB, plus node:http, node:tls, node:zlib …) the first time a registry is actually contacted, not at start-up:
// registry/index.ts re-exports the client, so every command that names a registry type imported it. esbuild turns
// each require() below into a call of the bundled module's lazy initialiser; the unbundled dist/ never loads this file.
// A name the bundle imports from undici but this file does not export fails the build (esbuild: "No matching export").
//
// Only the parts of undici that are used are evaluated: the registry client needs the dispatchers, the request API,
// the redirect interceptor and the error classes. undici's index.js also builds fetch, WebSocket, EventSource, the
// cache stores, cookies and the mock agents at load, which was ~2/3 of its cost (~15-20 ms of every command that
// reaches a registry, a no-op build's tag check included; bench/RESULTS.md, 2026-11-30). The paths are undici's own
// files (the version package-lock.json pins): one that moves in an upgrade fails `make build`, never a run.
// `fetch` (and anything else) still loads the whole package.

type UndiciModule = typeof Undici;

let whole: UndiciModule | undefined;

function undici(): UndiciModule {
  // By path: the alias also rewrites 'undici/…'.
  whole ??= require('../../node_modules/undici/index.js') as UndiciModule;
  return whole;
}

let apiReady = false;

/**
 * What undici's index.js does before anything can send a request: the request API (`dispatcher.request` …) lives on
 * Dispatcher's prototype.
 */
function withApi<T>(value: T): T {
  if (!apiReady) {
    const dispatcher = require('../../node_modules/undici/lib/dispatcher/dispatcher.js') as object & { prototype: object };
    Object.assign(dispatcher.prototype, require('../../node_modules/undici/lib/api/index.js') as object);
    apiReady = true;
  }
  return value;
}

type ClassName = 'Agent' | 'ProxyAgent' | 'EnvHttpProxyAgent' | 'Client' | 'Pool' | 'RetryAgent';

/** Each class from its own file (esbuild needs the literal paths). */
const classes: Record<ClassName, () => unknown> = {
  Agent: () => require('../../node_modules/undici/lib/dispatcher/agent.js'),
  ProxyAgent: () => require('../../node_modules/undici/lib/dispatcher/proxy-agent.js'),
  EnvHttpProxyAgent: () => require('../../node_modules/undici/lib/dispatcher/env-http-proxy-agent.js'),
  Client: () => require('../../node_modules/undici/lib/dispatcher/client.js'),
  Pool: () => require('../../node_modules/undici/lib/dispatcher/pool.js'),
  RetryAgent: () => require('../../node_modules/undici/lib/dispatcher/retry-agent.js'),
};

/** A class of undici's, constructed from its module on first `new`. */
function lazyClass<K extends ClassName>(name: K): UndiciModule[K] {
  const real = (): UndiciModule[K] => withApi(classes[name]() as UndiciModule[K]);
  return new Proxy(function placeholder() { /* never called: construct is trapped */ }, {
    construct: (_target, args: unknown[]) => Reflect.construct(real(), args) as object,
    get: (_target, key) => Reflect.get(real(), key) as unknown,
  }) as unknown as UndiciModule[K];
}

const interceptorModules: Partial<Record<string, () => unknown>> = {
  redirect: () => require('../../node_modules/undici/lib/interceptor/redirect.js'),
};

export const interceptors = new Proxy({}, {
  get: (_target, key) => (typeof key === 'string' && interceptorModules[key] ? interceptorModules[key]() : Reflect.get(undici().interceptors, key)) as unknown,
}) as UndiciModule['interceptors'];

export const errors = new Proxy({}, {
  get: (_target, key) => Reflect.get(require('../../node_modules/undici/lib/core/errors.js') as object, key) as unknown,
}) as UndiciModule['errors'];

/**
 * undici's `request(url, { dispatcher, … })` for the one form tsbuild uses (a URL object and a dispatcher): what its
 * index.js wrapper does, sent straight to the dispatcher. Any other form goes to undici's own.
 */
export const request: UndiciModule['request'] = ((url: Parameters<UndiciModule['request']>[0], opts?: Parameters<UndiciModule['request']>[1]) => {
  const dispatcher = opts?.dispatcher;
  if (!(url instanceof URL) || opts === undefined || dispatcher === undefined) return undici().request(url, opts);
  withApi(undefined);
  return dispatcher.request({
    ...opts, origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname,
    method: opts.method ?? (opts.body ? 'PUT' : 'GET'),
  });
}) as UndiciModule['request'];
export const fetch: UndiciModule['fetch'] = ((...args: Parameters<UndiciModule['fetch']>) => undici().fetch(...args)) as UndiciModule['fetch'];
export const Agent = lazyClass('Agent');
export const ProxyAgent = lazyClass('ProxyAgent');
export const EnvHttpProxyAgent = lazyClass('EnvHttpProxyAgent');
export const Client = lazyClass('Client');
export const Pool = lazyClass('Pool');
export const RetryAgent = lazyClass('RetryAgent');
export type { Dispatcher } from 'undici';
