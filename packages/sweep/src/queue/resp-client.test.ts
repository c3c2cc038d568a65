/** The RESP client BullMQ runs on, against a real redis-server. */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RespClient } from './resp-client.js';
import { redisSkipReason, startRedis, type TestRedis } from '../test-fixtures/redis.js';

const skip = redisSkipReason();
let redis: TestRedis | null = null;
let port = 0;
before(async () => {
  if (skip) return;
  redis = await startRedis();
  port = Number(new URL(redis.url).port);
});
after(async () => {
  await redis?.stop();
});

const ready = (c: RespClient) => new Promise<void>((r) => (c.status === 'ready' ? r() : c.once('ready', () => r())));

test('commands, binary-safe values, large replies, hashes, scripts (EVALSHA with EVAL fallback), MULTI and pipelines', { skip: skip ?? false }, async () => {
  const c = new RespClient({ host: '127.0.0.1', port });
  try {
    // queued before the connection is ready, answered in order
    const [s, g] = await Promise.all([c.set('k', 'v1 ünïcode\r\n$*:-'), c.get('k')]);
    assert.equal(s, 'OK');
    assert.equal(g, 'v1 ünïcode\r\n$*:-');
    const big = 'x'.repeat(300_000); // spans many socket chunks
    await c.set('big', big);
    assert.equal((await c.get('big'))!.length, big.length);
    assert.equal(await c.hset('h', { a: 1, b: 'two' }), 2);
    assert.deepEqual(await c.hgetall('h'), { a: '1', b: 'two' });
    assert.deepEqual(await c.hmget('h', 'a', 'zz'), ['1', null]);
    c.defineCommand('sum:1', { numberOfKeys: 1, lua: `return tonumber(redis.call('HGET', KEYS[1], 'a')) + tonumber(ARGV[1])` });
    assert.equal(await c.runCommand('sum:1', ['h', 41]), 42); // NOSCRIPT → EVAL
    assert.equal(await c.runCommand('sum:1', ['h', 1]), 2); // cached now: EVALSHA
    await assert.rejects(c.runCommand('hget', ['k', 'x']), /WRONGTYPE/);
    const m = await c.multi().hgetall('h').del('h').llen('nothing').exec();
    assert.deepEqual(m, [[null, { a: '1', b: 'two' }], [null, 1], [null, 0]]);
    const p = await c.pipeline().runCommand('sum:1', ['h', 1]).llen('nothing').exec();
    assert.equal(p!.length, 2);
    assert.equal(p![1]![1], 0);
    const keys: string[] = [];
    for await (const chunk of c.scanStream({ match: 'b*' })) keys.push(...(chunk as string[]));
    assert.deepEqual(keys, ['big']);
    assert.match(await c.info(), /redis_version:/);
  } finally {
    await c.quit();
  }
  assert.equal(c.status, 'end');
  await assert.rejects(c.get('k'), /Connection is closed/);
});

test('a blocking command is interrupted by disconnect; a duplicate has its own connection', { skip: skip ?? false }, async () => {
  const c = new RespClient({ host: '127.0.0.1', port });
  const d = c.duplicate() as RespClient;
  try {
    await Promise.all([ready(c), ready(d)]);
    const blocked = d.bzpopmin('zq', 5);
    await c.runCommand('zadd', ['zq', 1, 'm']);
    assert.deepEqual(await blocked, ['zq', 'm', '1']);
    const again = d.bzpopmin('zq', 5);
    const ended = new Promise<void>((r) => d.once('end', () => r()));
    d.disconnect();
    await assert.rejects(again, /Connection is closed/);
    await ended;
    assert.equal(d.status, 'end');
  } finally {
    c.disconnect();
  }
});
