// The TLS listener of the test kube-apiserver, as the real one negotiates it: ALPN offers h2 and
// http/1.1 (a client asking for HTTP/1.1 gets it), client certificates are requested but optional,
// and session resumption works through tickets. Every TLS connection is counted, with whether it
// resumed a session, so tests can assert how many handshakes a braid invocation paid for.
import * as http2 from 'node:http2';
import * as https from 'node:https';

/**
 * Creates the listener (not listening yet). `http1Only` makes a server that offers no h2 (an old
 * apiserver or a proxy), for the ALPN fallback. Returns the server and its connection log.
 */
export function createTlsListener(pki, { http1Only = false } = {}, onRequest) {
  const tlsOptions = {
    key: pki.serverKey,
    cert: pki.serverCert,
    ca: pki.ca,
    requestCert: true,
    rejectUnauthorized: false, // a client without a certificate may still use a token
  };
  const server = http1Only
    ? https.createServer(tlsOptions, onRequest)
    : http2.createSecureServer({ ...tlsOptions, allowHTTP1: true }, onRequest);
  /** One entry per completed TLS handshake, oldest first. */
  const connections = [];
  const sockets = new Set();
  let lastId = 0;
  const track = (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  server.on('connection', track);
  server.on('secureConnection', (s) => {
    track(s);
    s.braidConnection = ++lastId;
    connections.push({ id: s.braidConnection, alpn: s.alpnProtocol || 'http/1.1', resumed: s.isSessionReused(), remotePort: s.remotePort, at: performance.now() });
  });
  server.on('tlsClientError', () => { /* a client that hung up mid-handshake */ });
  // An h2 session error (a client that reset the connection) must not crash the test process.
  server.on('sessionError', () => {});
  return { server, connections, sockets };
}

/** The transport facts of one request: which TLS connection (id from the connection log, client port) and protocol carried it. */
export function requestTransport(req) {
  const tls = req.stream?.session?.socket ?? req.socket;
  return { connection: tls?.braidConnection, remotePort: tls?.remotePort, protocol: req.httpVersion === '2.0' ? 'h2' : 'http/1.1' };
}

/** Drops the connection that carried `req`: the whole h2 session (every stream on it) or the HTTP/1.1 socket. */
export function dropConnection(req) {
  if (req.stream?.session) req.stream.session.destroy();
  else req.socket.destroy();
}
