/**
 * A small Redis client (RESP2 over node:net) implementing BullMQ's `IRedisClient`, installed
 * as BullMQ's client factory. BullMQ 6 treats its Redis drivers (ioredis, node-redis) as
 * optional peer dependencies and this project installs neither; BullMQ talks to Redis only
 * through this interface (commands, Lua scripts by EVALSHA, MULTI/pipelines, blocking
 * BZPOPMIN on a duplicated connection, streams).
 *
 * Behaviour that BullMQ relies on: `status` goes wait → connecting → ready (→ reconnecting)
 * → end; 'ready'/'close'/'end'/'error' events; commands issued before ready wait for it; a
 * lost connection rejects the commands in flight and reconnects with capped backoff, until
 * `disconnect()`/`quit()`.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { RedisConnection, type IRedisClient, type IRedisTransaction } from 'bullmq';

export interface RespClientOptions {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  /** Milliseconds to wait for a TCP connection (default 10 s). */
  connectTimeout?: number;
  [k: string]: unknown;
}

type Arg = string | number | Buffer | null | undefined | Arg[];
type Reply = string | number | null | Error | Reply[];

const CLOSED = 'Connection is closed.';

class ReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

function flatten(args: readonly Arg[], out: Buffer[] = []): Buffer[] {
  for (const a of args) {
    if (Array.isArray(a)) flatten(a, out);
    else if (Buffer.isBuffer(a)) out.push(a);
    else out.push(Buffer.from(a === null || a === undefined ? '' : String(a)));
  }
  return out;
}

function encode(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Incremental RESP2 parser: feed chunks, get complete replies. */
class Parser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  feed(chunk: Buffer): Reply[] {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    const out: Reply[] = [];
    for (;;) {
      const start = this.pos;
      const r = this.parse();
      if (r === undefined) {
        this.pos = start;
        break;
      }
      out.push(r);
    }
    return out;
  }

  private line(): string | undefined {
    const end = this.buf.indexOf('\r\n', this.pos);
    if (end < 0) return undefined;
    const s = this.buf.toString('utf8', this.pos + 1, end);
    this.pos = end + 2;
    return s;
  }

  private parse(): Reply | undefined {
    if (this.pos >= this.buf.length) return undefined;
    const type = String.fromCharCode(this.buf[this.pos]!);
    const s = this.line();
    if (s === undefined) return undefined;
    switch (type) {
      case '+':
        return s;
      case '-':
        return new ReplyError(s);
      case ':':
        return Number(s);
      case '$': {
        const n = Number(s);
        if (n < 0) return null;
        if (this.buf.length < this.pos + n + 2) return undefined;
        const v = this.buf.toString('utf8', this.pos, this.pos + n);
        this.pos += n + 2;
        return v;
      }
      case '*': {
        const n = Number(s);
        if (n < 0) return null;
        const arr: Reply[] = [];
        for (let i = 0; i < n; i++) {
          const v = this.parse();
          if (v === undefined) return undefined;
          arr.push(v);
        }
        return arr;
      }
      default:
        throw new Error(`redis: unexpected reply type '${type}'`);
    }
  }
}

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

interface Script {
  lua: string;
  sha: string;
  keys: number;
}

export class RespClient extends EventEmitter implements IRedisClient {
  status = 'wait';
  readonly isCluster = false;
  readonly __bullmq_iredis = true;
  options: RespClientOptions;
  private socket: Socket | null = null;
  private parser = new Parser();
  private inflight: Pending[] = [];
  private offline: { payload: Buffer; p: Pending }[] = [];
  private scripts: Map<string, Script>;
  private closing = false;
  private retries = 0;
  private connecting: Promise<void> | null = null;

  constructor(options: RespClientOptions = {}, scripts?: Map<string, Script>) {
    super();
    this.options = { ...options, maxRetriesPerRequest: null };
    this.scripts = scripts ?? new Map();
    void this.connect().catch(() => undefined);
  }

  connect(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.closing = false;
    this.status = 'connecting';
    this.connecting = new Promise<void>((resolve, reject) => {
      const sock = connect({ host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 6379 });
      sock.setNoDelay(true);
      sock.setTimeout(this.options.connectTimeout ?? 10_000, () => sock.destroy(new Error(`redis: connect timeout to ${this.options.host}:${this.options.port}`)));
      this.socket = sock;
      this.parser = new Parser();
      let settled = false;
      sock.on('data', (d: Buffer) => this.onData(d));
      sock.on('error', (e) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
      sock.on('close', () => this.onClose(sock));
      sock.once('connect', () => {
        sock.setTimeout(0);
        const hello: Promise<Reply>[] = [];
        if (this.options.password) hello.push(this.raw(this.options.username ? ['AUTH', this.options.username, this.options.password] : ['AUTH', this.options.password], true));
        if (this.options.db) hello.push(this.raw(['SELECT', this.options.db], true));
        Promise.all(hello).then(
          () => {
            settled = true;
            this.retries = 0;
            this.status = 'ready';
            this.connecting = null;
            for (const o of this.offline.splice(0)) this.write(o.payload, o.p);
            this.emit('connect');
            this.emit('ready');
            resolve();
          },
          (e: Error) => {
            settled = true;
            reject(e);
            sock.destroy(e);
          },
        );
      });
    });
    this.connecting.catch(() => undefined);
    return this.connecting;
  }

  private onData(d: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.feed(d);
    } catch (e) {
      this.socket?.destroy(e as Error);
      return;
    }
    for (const r of replies) {
      const p = this.inflight.shift();
      if (!p) continue;
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    }
  }

  private onClose(sock: Socket): void {
    if (sock !== this.socket) return;
    this.socket = null;
    this.connecting = null;
    for (const p of this.inflight.splice(0)) p.reject(new Error(CLOSED));
    this.emit('close');
    if (this.closing) {
      for (const o of this.offline.splice(0)) o.p.reject(new Error(CLOSED));
      this.status = 'end';
      this.emit('end');
      return;
    }
    this.status = 'reconnecting';
    const delay = Math.min(100 * 2 ** this.retries++, 2000);
    this.emit('reconnecting', delay);
    setTimeout(() => {
      if (this.closing) {
        this.status = 'end';
        this.emit('end');
        return;
      }
      void this.connect().catch(() => undefined);
    }, delay).unref();
  }

  private write(payload: Buffer, p: Pending): void {
    if (!this.socket || this.socket.destroyed) return p.reject(new Error(CLOSED));
    this.inflight.push(p);
    this.socket.write(payload);
  }

  /** Send one command (queued until ready unless `now`). */
  private raw(args: readonly Arg[], now = false): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const payload = encode(flatten(args));
      const p = { resolve, reject };
      if (this.closing || this.status === 'end') reject(new Error(CLOSED));
      else if (now || this.status === 'ready') this.write(payload, p);
      else this.offline.push({ payload, p });
    });
  }

  /** A command, or a defined Lua script (EVALSHA, falling back to EVAL once per connection). */
  private async command(name: string, args: readonly Arg[]): Promise<Reply> {
    const s = this.scripts.get(name);
    if (!s) return this.raw([name, ...args]);
    try {
      return await this.raw(['EVALSHA', s.sha, s.keys, ...args]);
    } catch (e) {
      if (!(e instanceof ReplyError) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.raw(['EVAL', s.lua, s.keys, ...args]);
    }
  }

  disconnect(reconnect?: boolean): void {
    if (reconnect) {
      this.socket?.destroy();
      return;
    }
    this.closing = true;
    if (this.socket) this.socket.destroy();
    else if (this.status !== 'end') {
      this.status = 'end';
      for (const o of this.offline.splice(0)) o.p.reject(new Error(CLOSED));
      queueMicrotask(() => {
        this.emit('close');
        this.emit('end');
      });
    }
  }

  async quit(): Promise<string> {
    if (this.status !== 'ready') {
      this.disconnect();
      return 'OK';
    }
    const reply = this.raw(['QUIT']).catch(() => 'OK');
    this.closing = true;
    const ended = new Promise<void>((r) => this.once('end', () => r()));
    const r = await reply;
    this.socket?.end();
    await ended;
    return String(r);
  }

  duplicate(override?: RespClientOptions): IRedisClient {
    return new RespClient({ ...this.options, ...(override ?? {}) }, new Map(this.scripts));
  }

  defineCommand(name: string, def: { numberOfKeys: number; lua: string }): void {
    this.scripts.set(name, { lua: def.lua, sha: createHash('sha1').update(def.lua).digest('hex'), keys: def.numberOfKeys });
  }

  runCommand(name: string, args: unknown[]): Promise<any> {
    return this.command(name, args as Arg[]);
  }

  multi(): IRedisTransaction {
    return new Transaction(this, true);
  }

  pipeline(): IRedisTransaction {
    return new Transaction(this, false);
  }

  /** @internal used by Transaction */
  async execBatch(cmds: { name: string; args: Arg[] }[], atomic: boolean): Promise<[Error | null, any][] | null> {
    const expand = (c: { name: string; args: Arg[] }): Arg[] => {
      const s = this.scripts.get(c.name);
      return s ? ['EVAL', s.lua, s.keys, ...c.args] : [c.name, ...c.args];
    };
    if (!atomic) {
      const rs = await Promise.all(cmds.map((c) => this.raw(expand(c)).then((r) => [null, r] as [null, Reply], (e: Error) => [e, null] as [Error, null])));
      return rs;
    }
    const all = [this.raw(['MULTI']), ...cmds.map((c) => this.raw(expand(c))), this.raw(['EXEC'])];
    const settled = await Promise.allSettled(all);
    const exec = settled[settled.length - 1]!;
    if (exec.status === 'rejected') throw exec.reason as Error;
    const v = exec.value;
    if (v === null) return null;
    return (v as Reply[]).map((r) => (r instanceof Error ? [r, null] : [null, r]));
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return pairs((await this.raw(['HGETALL', key])) as string[]);
  }
  async hget(key: string, field: string): Promise<string | null> {
    return (await this.raw(['HGET', key, field])) as string | null;
  }
  async hmget(key: string, ...fields: string[]): Promise<(string | null)[]> {
    return (await this.raw(['HMGET', key, ...fields])) as (string | null)[];
  }
  async hset(key: string, data: Record<string, string | number>): Promise<number> {
    return (await this.raw(['HSET', key, ...Object.entries(data).flat()])) as number;
  }
  async hdel(key: string, ...fields: string[]): Promise<number> {
    return (await this.raw(['HDEL', key, ...fields])) as number;
  }
  async hexists(key: string, field: string): Promise<number> {
    return (await this.raw(['HEXISTS', key, field])) as number;
  }
  async get(key: string): Promise<string | null> {
    return (await this.raw(['GET', key])) as string | null;
  }
  async set(key: string, value: string | number, o?: { PX?: number; EX?: number }): Promise<string | null> {
    const extra = o?.PX != null ? ['PX', o.PX] : o?.EX != null ? ['EX', o.EX] : [];
    return (await this.raw(['SET', key, value, ...extra])) as string | null;
  }
  async del(...keys: string[]): Promise<number> {
    return (await this.raw(['DEL', ...keys])) as number;
  }
  async zrange(key: string, start: number, end: number, o?: { WITHSCORES?: boolean }): Promise<string[]> {
    return (await this.raw(['ZRANGE', key, start, end, ...(o?.WITHSCORES ? ['WITHSCORES'] : [])])) as string[];
  }
  async zrevrange(key: string, start: number, end: number, o?: { WITHSCORES?: boolean }): Promise<string[]> {
    return (await this.raw(['ZREVRANGE', key, start, end, ...(o?.WITHSCORES ? ['WITHSCORES'] : [])])) as string[];
  }
  async zcard(key: string): Promise<number> {
    return (await this.raw(['ZCARD', key])) as number;
  }
  async zscore(key: string, member: string): Promise<string | null> {
    return (await this.raw(['ZSCORE', key, member])) as string | null;
  }
  async lrange(key: string, start: number, end: number): Promise<string[]> {
    return (await this.raw(['LRANGE', key, start, end])) as string[];
  }
  async llen(key: string): Promise<number> {
    return (await this.raw(['LLEN', key])) as number;
  }
  async ltrim(key: string, start: number, end: number): Promise<string> {
    return (await this.raw(['LTRIM', key, start, end])) as string;
  }
  async lpos(key: string, value: string): Promise<number | null> {
    return (await this.raw(['LPOS', key, value])) as number | null;
  }
  async smembers(key: string): Promise<string[]> {
    return (await this.raw(['SMEMBERS', key])) as string[];
  }
  async xadd(key: string, id: string, fields: Record<string, string | number>, o?: { MAXLEN?: number; approximate?: boolean }): Promise<string> {
    const trim = o?.MAXLEN != null ? ['MAXLEN', ...(o.approximate !== false ? ['~'] : []), o.MAXLEN] : [];
    return (await this.raw(['XADD', key, ...trim, id, ...Object.entries(fields).flat()])) as string;
  }
  async xread(streams: { key: string; id: string }[], o?: { BLOCK?: number; COUNT?: number }): Promise<any> {
    const args: Arg[] = ['XREAD'];
    if (o?.BLOCK != null) args.push('BLOCK', o.BLOCK);
    if (o?.COUNT != null) args.push('COUNT', o.COUNT);
    args.push('STREAMS', ...streams.map((s) => s.key), ...streams.map((s) => s.id));
    return this.raw(args);
  }
  async xtrim(key: string, strategy: 'MAXLEN', threshold: number, o?: { approximate?: boolean }): Promise<number> {
    return (await this.raw(['XTRIM', key, strategy, ...(o?.approximate !== false ? ['~'] : []), threshold])) as number;
  }
  async bzpopmin(key: string, timeout: number): Promise<[key: string, member: string, score: string] | null> {
    return (await this.raw(['BZPOPMIN', key, timeout])) as [string, string, string] | null;
  }
  async info(): Promise<string> {
    return (await this.raw(['INFO'])) as string;
  }
  clientSetName(name: string): Promise<any> {
    return this.raw(['CLIENT', 'SETNAME', name]);
  }
  async clientList(): Promise<string> {
    return (await this.raw(['CLIENT', 'LIST'])) as string;
  }
  async clientInfo(): Promise<string> {
    return (await this.raw(['CLIENT', 'INFO'])) as string;
  }
  async scan(cursor: string | number, o: { MATCH?: string; COUNT?: number }): Promise<[string, string[]]> {
    const args: Arg[] = ['SCAN', cursor];
    if (o?.MATCH != null) args.push('MATCH', o.MATCH);
    if (o?.COUNT != null) args.push('COUNT', o.COUNT);
    return (await this.raw(args)) as [string, string[]];
  }
  scanStream(o: { match: string; count?: number }): Readable {
    let cursor = '0';
    let started = false;
    const stream: Readable = new Readable({
      objectMode: true,
      read: () => {
        if (started && cursor === '0') return void stream.push(null);
        started = true;
        this.scan(cursor, { MATCH: o.match, ...(o.count ? { COUNT: o.count } : {}) }).then(
          ([next, keys]) => {
            cursor = next;
            stream.push(keys);
          },
          (e: Error) => stream.destroy(e),
        );
      },
    });
    return stream;
  }
}

function pairs(a: string[] | null): Record<string, string> {
  const o: Record<string, string> = {};
  if (!a) return o;
  for (let i = 0; i + 1 < a.length; i += 2) o[a[i]!] = a[i + 1]!;
  return o;
}

class Transaction implements IRedisTransaction {
  private cmds: { name: string; args: Arg[] }[] = [];
  constructor(
    private readonly client: RespClient,
    private readonly atomic: boolean,
  ) {}
  private add(name: string, args: Arg[]): this {
    this.cmds.push({ name, args });
    return this;
  }
  hgetall(key: string): this {
    return this.add('HGETALL', [key]);
  }
  hset(key: string, data: Record<string, string | number>): this {
    return this.add('HSET', [key, ...Object.entries(data).flat()]);
  }
  hscan(key: string, cursor: string | number, o?: { COUNT?: number }): this {
    return this.add('HSCAN', [key, cursor, ...(o?.COUNT != null ? ['COUNT', o.COUNT] : [])]);
  }
  smembers(key: string): this {
    return this.add('SMEMBERS', [key]);
  }
  sscan(key: string, cursor: string | number, o?: { COUNT?: number }): this {
    return this.add('SSCAN', [key, cursor, ...(o?.COUNT != null ? ['COUNT', o.COUNT] : [])]);
  }
  zrange(key: string, start: number, end: number): this {
    return this.add('ZRANGE', [key, start, end]);
  }
  lrange(key: string, start: number, end: number): this {
    return this.add('LRANGE', [key, start, end]);
  }
  llen(key: string): this {
    return this.add('LLEN', [key]);
  }
  del(...keys: string[]): this {
    return this.add('DEL', keys);
  }
  runCommand(name: string, args: unknown[]): this {
    return this.add(name, args as Arg[]);
  }
  async exec(): Promise<[Error | null, any][] | null> {
    const cmds = this.cmds.splice(0);
    const r = await this.client.execBatch(cmds, this.atomic);
    // HGETALL inside a batch: objects, as from the client
    return r ? r.map(([e, v], i) => [e, cmds[i]!.name === 'HGETALL' && Array.isArray(v) ? pairs(v as string[]) : v]) : null;
  }
}

let installed = false;
/** Make BullMQ open its Redis connections with RespClient (idempotent). */
export function installRespClient(): void {
  if (installed) return;
  installed = true;
  RedisConnection.clientFactory = (opts) => new RespClient(opts as RespClientOptions);
}
