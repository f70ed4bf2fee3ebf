import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');
import { writeFileAtomic } from '../store/files';
import type { Credentials } from './credentials';

/** The subdirectory of braid's state dir (cniDir) holding TLS sessions. */
export const TLS_SESSION_DIR = 'tls-sessions';

// A session is only valid for the server it came from, verified against the same trust, and (with a
// client certificate) it carries the client's identity: all of those are in the key. A bearer token
// is sent per request, above TLS, so it plays no part in the session and is kept out of the key too.
function sessionKey(creds: Credentials): string {
  const h = crypto.createHash('sha256');
  for (const part of [creds.server, creds.tlsServerName ?? '', creds.ca ?? '', creds.cert ?? '', creds.insecureSkipTLSVerify ? 'insecure' : 'verify']) {
    h.update(part);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * One TLS session per API server identity, kept across invocations in `<dir>/<key>.session` (0600,
 * 0700 dir, replaced atomically), so the next braid resumes instead of paying a full handshake.
 * A lost or unreadable file is only a miss.
 */
export class TlsSessionCache {
  private readonly file: string;
  private saved = false;

  constructor(dir: string, creds: Credentials) {
    this.file = path.join(dir, `${sessionKey(creds)}.session`);
  }

  /** The cached session, or undefined. */
  load(): Buffer | undefined {
    try {
      return fs.readFileSync(this.file);
    } catch {
      return undefined;
    }
  }

  /** Stores the first session the server hands this invocation (later tickets add nothing). */
  save(session: Buffer): void {
    if (this.saved) return;
    this.saved = true;
    try {
      writeFileAtomic(this.file, session, { durable: false });
    } catch {
      // a read-only or full state dir costs the next invocation a full handshake, nothing more
    }
  }
}
