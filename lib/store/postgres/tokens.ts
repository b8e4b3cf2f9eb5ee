import type pg from 'pg';
import type { TokenRecord } from '../../types.js';
import { toTokenRecord, type TokenRow } from '../rows.js';

/** The PostgreSQL store's token verbs, over its pool (each one statement). */
export class PgTokens {
  constructor(private readonly pool: pg.Pool) {}

  async create(token: TokenRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO tokens (token_hash, prefix, workspace, scope, label, created_at, from_env, last_used_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        token.tokenHash,
        token.prefix,
        token.workspace,
        token.scope,
        token.label,
        token.createdAt,
        token.fromEnv,
        token.lastUsedAt,
        token.revokedAt,
      ],
    );
  }

  async get(tokenHash: string): Promise<TokenRecord | undefined> {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM tokens WHERE token_hash = $1', [tokenHash]);
    return rows[0] && toTokenRecord(rows[0]);
  }

  async list(): Promise<TokenRecord[]> {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM tokens ORDER BY created_at, token_hash');
    return rows.map(toTokenRecord);
  }

  async countAll(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tokens');
    return rows[0].n;
  }

  async revoke(tokenHash: string, at: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL',
      [tokenHash, at],
    );
    return (rowCount ?? 0) > 0;
  }

  async touch(tokenHash: string, at: number): Promise<void> {
    await this.pool.query(
      'UPDATE tokens SET last_used_at = $2 WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at < $2)',
      [tokenHash, at],
    );
  }
}
