import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  /** Lifetime in whole seconds, as in OAuth 2.0 (RFC 6749, section 5.1). */
  expires_in: number;
}

function sameSecret(received: string, expected: string): boolean {
  const receivedBytes = Buffer.from(received);
  const expectedBytes = Buffer.from(expected);
  // timingSafeEqual needs equal lengths, and the length itself is not secret here.
  return receivedBytes.length === expectedBytes.length && timingSafeEqual(receivedBytes, expectedBytes);
}

/**
 * Issues and checks bearer tokens for one client. Issued tokens live in memory,
 * so a simulated restart (`clear`) invalidates them as a real restart would.
 */
export class TokenIssuer {
  private readonly expiryById = new Map<string, number>();
  private issuedSinceSweep = 0;

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    /** Token that never expires, or empty to disable it. */
    private readonly staticToken: string,
    private readonly ttlS: number,
  ) {}

  /** Returns a new token, or undefined when the credentials are wrong. */
  issue(clientId: string, clientSecret: string, nowMs = Date.now()): IssuedToken | undefined {
    if (!sameSecret(clientId, this.clientId) || !sameSecret(clientSecret, this.clientSecret)) return undefined;

    this.sweepNowAndThen(nowMs);
    const token = randomBytes(24).toString('base64url');
    this.expiryById.set(token, nowMs + this.ttlS * 1000);
    return { access_token: token, token_type: 'Bearer', expires_in: this.ttlS };
  }

  isValid(token: string, nowMs = Date.now()): boolean {
    if (this.staticToken !== '' && token === this.staticToken) return true;
    const expiresAtMs = this.expiryById.get(token);
    return expiresAtMs !== undefined && nowMs < expiresAtMs;
  }

  clear(): void {
    this.expiryById.clear();
  }

  /** Drops expired tokens every 100 issues, so the map stays near rate × ttl entries. */
  private sweepNowAndThen(nowMs: number): void {
    this.issuedSinceSweep += 1;
    if (this.issuedSinceSweep < 100) return;
    this.issuedSinceSweep = 0;
    for (const [token, expiresAtMs] of this.expiryById) {
      if (expiresAtMs <= nowMs) this.expiryById.delete(token);
    }
  }
}
