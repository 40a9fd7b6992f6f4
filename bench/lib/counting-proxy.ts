import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

/** The registry API requests the proxy tells apart (distribution spec endpoint names). */
export type RequestKind =
  | 'ping' | 'manifest-head' | 'manifest-get' | 'manifest-put' | 'blob-head' | 'blob-get'
  | 'upload-start' | 'blob-mount' | 'upload-patch' | 'upload-put' | 'other';

/** What went through the proxy since the last reset: requests by kind, and blob bytes each way. */
export interface TrafficCount {
  requests: number;
  byKind: Partial<Record<RequestKind, number>>;
  /** Request body bytes of blob uploads (POST/PATCH/PUT under /blobs/uploads/). */
  blobBytesUp: number;
  /** Response body bytes of blob GETs. */
  blobBytesDown: number;
}

/** A plain HTTP proxy in front of one registry that counts what clients ask of it. */
export interface CountingProxy {
  /** 127.0.0.1:PORT: use it as the registry host in image references. */
  host: string;
  count(): TrafficCount;
  reset(): void;
  close(): Promise<void>;
}

/** Names a request by the distribution spec's endpoints (end-1 … end-13). */
export function classify(method: string, path: string): RequestKind {
  const url = new URL(path, 'http://x');
  const p = url.pathname;
  if (p === '/v2/' || p === '/v2') return 'ping';
  if (/\/manifests\/[^/]+$/.test(p)) {
    if (method === 'HEAD') return 'manifest-head';
    if (method === 'GET') return 'manifest-get';
    if (method === 'PUT') return 'manifest-put';
    return 'other';
  }
  if (/\/blobs\/uploads\/?$/.test(p) && method === 'POST') return url.searchParams.has('mount') ? 'blob-mount' : 'upload-start';
  if (/\/blobs\/uploads\/[^/]+$/.test(p)) return method === 'PATCH' ? 'upload-patch' : method === 'PUT' ? 'upload-put' : 'other';
  if (/\/blobs\/sha256:[0-9a-f]{64}$/.test(p)) return method === 'HEAD' ? 'blob-head' : method === 'GET' ? 'blob-get' : 'other';
  return 'other';
}

function zero(): TrafficCount {
  return { requests: 0, byKind: {}, blobBytesUp: 0, blobBytesDown: 0 };
}

function counter(add: (n: number) => void): Transform {
  return new Transform({ transform(chunk: Buffer, _e, done) { add(chunk.length); done(null, chunk); } });
}

/**
 * Starts a proxy on a free 127.0.0.1 port forwarding to `upstream` (host:port). The Host header is passed through
 * unchanged, so the Location URLs the registry returns for uploads point back at the proxy and every PATCH/PUT is
 * counted too.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const [upHost = '127.0.0.1', upPort = '80'] = upstream.split(':');
  let traffic = zero();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const kind = classify(req.method ?? 'GET', req.url ?? '/');
    traffic.requests++;
    traffic.byKind[kind] = (traffic.byKind[kind] ?? 0) + 1;
    const isUpload = kind === 'upload-start' || kind === 'upload-patch' || kind === 'upload-put';
    const upstreamReq = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers });
    upstreamReq.on('response', (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const count = counter((n) => { if (kind === 'blob-get') traffic.blobBytesDown += n; });
      pipeline(upRes, count, res).catch(() => res.destroy());
    });
    upstreamReq.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    const count = counter((n) => { if (isUpload) traffic.blobBytesUp += n; });
    pipeline(req, count, upstreamReq).catch(() => upstreamReq.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('counting proxy: no port from listen(0)');
  return {
    host: `127.0.0.1:${address.port}`,
    count: () => ({ ...traffic, byKind: { ...traffic.byKind } }),
    reset: () => { traffic = zero(); },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
