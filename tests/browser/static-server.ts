// A static file server on 127.0.0.1 for tests: the built site, fixtures, a smoke-test page.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.wgsl': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.md': 'text/markdown; charset=utf-8', '.safetensors': 'application/octet-stream', '.model': 'application/octet-stream',
};

export interface StaticServer { url: string; close(): Promise<void> }

/** A test's own answer for one path (a server that stalls, cuts a body short, ...). */
export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** Serve `root` (and extra in-memory pages, and `routes` answered by the test) on a random loopback port. */
export async function serveDirectory(root: string, pages: Record<string, string> = {}, routes: Record<string, Route> = {}): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (routes[urlPath]) { routes[urlPath](req, res); return; }
    if (pages[urlPath] !== undefined) {
      res.writeHead(200, { 'content-type': MIME[path.extname(urlPath)] ?? 'text/html; charset=utf-8' });
      res.end(pages[urlPath]);
      return;
    }
    let file = path.join(root, urlPath);
    if (!file.startsWith(path.resolve(root))) { res.writeHead(403).end(); return; }
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    // Browsers ask for a favicon on their own; an empty answer keeps the console clean.
    if (!existsSync(file) && urlPath === '/favicon.ico') { res.writeHead(204).end(); return; }
    if (!existsSync(file)) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
