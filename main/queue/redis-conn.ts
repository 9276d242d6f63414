/**
 * Redis connections for the distributed queue: URL checks, connection options BullMQ needs
 * (`maxRetriesPerRequest: null`: commands wait through an outage instead of failing), reconnect
 * with backoff, and one clear line for the usual mistakes (wrong URL, password, host, port).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { CoreError } from '../core-error.ts';

/** BullMQ queue name and key prefix: keys are `demix:separate:*`. */
export const QUEUE_NAME = 'separate';
export const KEY_PREFIX = 'demix';
/** Pub/sub channel and key prefix that carry cancel requests to the workers. */
export const CANCEL_CHANNEL = `${KEY_PREFIX}:cancel`;
export const cancelKey = (remoteId: string) => `${KEY_PREFIX}:cancel:${remoteId}`;

export interface ParsedQueueUrl {
  url: string;
  /** host:port/db, for messages (never the password). */
  where: string;
  tls: boolean;
}

export function parseQueueUrl(raw: string): ParsedQueueUrl {
  const usage = 'use redis://[:password@]host:port[/db] (or rediss:// for TLS)';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CoreError('BAD_REQUEST', `The queue address "${raw}" is not a URL: ${usage}.`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new CoreError('BAD_REQUEST', `The queue address "${redact(raw)}" is not a Redis URL (${u.protocol.replace(/:$/, '')}): ${usage}.`);
  }
  if (!u.hostname) throw new CoreError('BAD_REQUEST', `The queue address "${redact(raw)}" names no host: ${usage}.`);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d{1,2}$/.test(db)) throw new CoreError('BAD_REQUEST', `The Redis database "/${db}" in "${redact(raw)}" is not a number: ${usage}.`);
  const port = u.port || '6379';
  return { url: raw, where: `${u.protocol}//${u.hostname}:${port}${db ? `/${db}` : ''}`, tls: u.protocol === 'rediss:' };
}

function redact(raw: string): string {
  return raw.replace(/\/\/([^@/]*)@/, '//***@');
}

export interface ConnectOptions {
  /** Called once per outage with one line, and once when the connection is back. */
  onDown?: (message: string) => void;
  onUp?: (message: string) => void;
}

/**
 * A connection for BullMQ (reconnects forever with capped backoff; commands wait meanwhile).
 * `lazyConnect`: call `checkRedis` first to turn a bad URL into one line.
 */
export function redisConnection(parsed: ParsedQueueUrl, o: ConnectOptions = {}, extra: RedisOptions = {}): Redis {
  const conn = new Redis(parsed.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 6), 5000),
    reconnectOnError: () => true,
    ...extra,
  });
  let down = false;
  let lastError: Error | null = null;
  const wentDown = () => {
    if (down) return;
    down = true;
    o.onDown?.(`lost the connection to Redis at ${parsed.where}${lastError ? ` (${describe(lastError, parsed)})` : ''}; waiting for it to come back…`);
  };
  conn.on('error', (e: Error) => {
    lastError = e;
    wentDown();
  });
  // A server that restarts closes connections cleanly (no error): ioredis then schedules a reconnect.
  conn.on('reconnecting', () => wentDown());
  conn.on('ready', () => {
    lastError = null;
    if (!down) return;
    down = false;
    o.onUp?.(`reconnected to Redis at ${parsed.where}.`);
  });
  return conn;
}

/** Connects once with a short timeout and no retries; throws CoreError with one clear line. */
export async function checkRedis(parsed: ParsedQueueUrl, timeoutMs = 4000): Promise<void> {
  const probe = new Redis(parsed.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The first error says what went wrong (WRONGPASS, ECONNREFUSED…); later ones only "closed".
  let first: Error | null = null;
  probe.on('error', (e: Error) => {
    first ??= e;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new CoreError('BAD_REQUEST', `Cannot use the Redis queue at ${parsed.where}: ${describe(first ?? (e as Error), parsed)}.`);
  } finally {
    probe.disconnect();
  }
}

/** One line for a connection error. */
export function describe(e: Error, parsed: ParsedQueueUrl): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const msg = e.message ?? String(e);
  const [host] = parsed.where.replace(/^rediss?:\/\//, '').split('/');
  if (/WRONGPASS|invalid username-password|invalid password/i.test(msg)) return 'the password was refused (WRONGPASS): check the password in the URL';
  if (/NOAUTH/i.test(msg)) return 'the server needs a password: put it in the URL as redis://:PASSWORD@host:port';
  if (/without any password configured/i.test(msg)) return 'the URL gives a password but the server has none: remove it from the URL';
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return `connection refused by ${host}: is redis-server running there, on that port?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(msg)) return `the host name in ${host} cannot be resolved: check it`;
  if (code === 'ETIMEDOUT' || /ETIMEDOUT|timed? ?out/i.test(msg)) return `no answer from ${host} (timed out): check the host, the port and any firewall`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${host} cannot be reached (${code}): check the network`;
  if (/Connection is closed|Stream isn't writeable/i.test(msg)) return `the connection to ${host} closed (TLS mismatch? use rediss:// only when the server speaks TLS)`;
  if (/ERR DB index is out of range/i.test(msg)) return 'the database number in the URL does not exist on that server';
  return msg.split('\n')[0];
}
