import type Database from 'better-sqlite3';
import type { TokenRecord } from '../../types.js';
import { toTokenRecord, type TokenRow } from '../rows.js';

/** The SQLite store's token statements. Writes are run by the store inside its tick's transaction. */
export class SqliteTokens {
  private readonly insert: Database.Statement;
  private readonly find: Database.Statement;
  private readonly all: Database.Statement;
  private readonly count: Database.Statement;
  private readonly revokeStmt: Database.Statement;
  private readonly touchStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`
      INSERT INTO tokens (token_hash, prefix, workspace, scope, label, created_at, from_env, last_used_at, revoked_at)
      VALUES (@token_hash, @prefix, @workspace, @scope, @label, @created_at, @from_env, @last_used_at, @revoked_at)`);
    this.find = db.prepare('SELECT * FROM tokens WHERE token_hash = ?');
    this.all = db.prepare('SELECT * FROM tokens ORDER BY created_at, token_hash');
    this.count = db.prepare('SELECT count(*) AS n FROM tokens');
    this.revokeStmt = db.prepare('UPDATE tokens SET revoked_at = @at WHERE token_hash = @hash AND revoked_at IS NULL');
    this.touchStmt = db.prepare(
      'UPDATE tokens SET last_used_at = @at WHERE token_hash = @hash AND (last_used_at IS NULL OR last_used_at < @at)',
    );
  }

  create(token: TokenRecord): void {
    this.insert.run({
      token_hash: token.tokenHash,
      prefix: token.prefix,
      workspace: token.workspace,
      scope: token.scope,
      label: token.label,
      created_at: token.createdAt,
      from_env: token.fromEnv ? 1 : 0,
      last_used_at: token.lastUsedAt,
      revoked_at: token.revokedAt,
    });
  }

  get(tokenHash: string): TokenRecord | undefined {
    const row = this.find.get(tokenHash) as TokenRow | undefined;
    return row && toTokenRecord(row);
  }

  list(): TokenRecord[] {
    return (this.all.all() as TokenRow[]).map(toTokenRecord);
  }

  countAll(): number {
    return (this.count.get() as { n: number }).n;
  }

  revoke(tokenHash: string, at: number): boolean {
    return this.revokeStmt.run({ hash: tokenHash, at }).changes > 0;
  }

  touch(tokenHash: string, at: number): void {
    this.touchStmt.run({ hash: tokenHash, at });
  }
}
