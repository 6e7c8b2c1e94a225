// A stand-in for plughub's agent bridge API on loopback, for the tests of the bridge's own behaviour
// (ordering, back-pressure, time-outs, errors) that do not need a real plughub. Each run is handed to
// `onRun(frame, peer)`, where peer sends frames and awaits the bridge's answers to runtime calls.

import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

export async function startFakePlughub({ components, onRun, token = 'phk_test', port: wantedPort = 0 } = {}) {
  const runs = [];
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'token_unknown', message: 'no such token', details: null } }));
      return;
    }
    if (req.method === 'GET' && /\/api\/orgs\/[^/]+\/agents\/[^/]+\/components$/.test(req.url)) {
      const body = typeof components === 'function' ? components() : components;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${req.url}`, details: null } }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n' +
          JSON.stringify({ error: { code: 'token_unknown', message: 'no such token', details: null } }),
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const pending = new Map();
      let next = 0;
      const peer = {
        ws,
        send: (frame) => ws.send(JSON.stringify(frame)),
        call: (method, params) =>
          new Promise((resolve, reject) => {
            const id = `r${++next}`;
            pending.set(id, { resolve, reject });
            ws.send(JSON.stringify({ type: 'runtime.call', id, method, params }));
          }),
        result: (result) => {
          ws.send(JSON.stringify({ type: 'result', outcome: { result, callbacks: [], duration_ms: 1, attempts: 1 } }));
          ws.close();
        },
        error: (status, code, message) => {
          ws.send(JSON.stringify({ type: 'error', status, error: { code, message } }));
          ws.close();
        },
      };
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'run') {
          runs.push(frame);
          Promise.resolve(onRun?.(frame, peer)).catch((e) => peer.error(500, 'internal', String(e)));
        } else if (frame.type === 'runtime.result' || frame.type === 'runtime.error') {
          const waiter = pending.get(frame.id);
          pending.delete(frame.id);
          if (frame.type === 'runtime.result') waiter?.resolve(frame.result);
          else waiter?.reject(new Error(frame.error));
        }
      });
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    runs,
    requests,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
