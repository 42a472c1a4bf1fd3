/**
 * The Lua scripts of RedisSessionStore: each store operation on a session is one script, so one
 * round trip and atomic in Redis. A session is a hash `<prefix>s:<id>` (createdAt,
 * lastAccessedAt, ttlMs, metadata as JSON text never decoded here, bytes), its state a hash
 * `<prefix>v:<id>`; every id is in the set `<prefix>ids` and, scored by when it falls due
 * (lastAccessedAt + ttlMs), in the sorted set `<prefix>due`; `<prefix>bytes` is what all
 * sessions hold. Numbers are stored as the host sent them (never formatted by Lua).
 */

/** KEYS: 1 session, 2 state, 3 ids, 4 total bytes, 5 due. */
const PRELUDE = `
local function remove(s, v, ids, total, due, id)
  local bytes = tonumber(redis.call('HGET', s, 'bytes') or '0')
  redis.call('UNLINK', s, v)
  redis.call('SREM', ids, id)
  redis.call('ZREM', due, id)
  redis.call('DECRBY', total, bytes)
end
-- The session if live (touched when asked), or why not: {status, createdAt, lastAccessedAt, ttlMs, metadata}.
local function use(s, v, ids, total, due, id, now, pinned, touch)
  local f = redis.call('HMGET', s, 'createdAt', 'lastAccessedAt', 'ttlMs', 'metadata')
  if not f[1] then return {'missing'} end
  if pinned == '0' and tonumber(now) - tonumber(f[2]) >= tonumber(f[3]) then
    remove(s, v, ids, total, due, id)
    return {'expired', f[1], f[2], f[3], f[4]}
  end
  if touch then
    redis.call('HSET', s, 'lastAccessedAt', now)
    redis.call('ZADD', due, tonumber(now) + tonumber(f[3]), id)
    f[2] = now
  end
  return {'live', f[1], f[2], f[3], f[4]}
end
`;

/** ARGV: id, createdAt, lastAccessedAt, ttlMs, metadata, metadata bytes, max total bytes. 1:
 *  made (or made already by this very create, retried after a timeout), 0: the id is taken,
 *  -1: full. */
export const CREATE = `
local s, ids, total, due = KEYS[1], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', s) == 1 then
  local f = redis.call('HMGET', s, 'createdAt', 'metadata')
  if f[1] == ARGV[2] and f[2] == ARGV[5] then return 1 end
  return 0
end
local bytes = tonumber(ARGV[6])
if bytes > 0 and tonumber(redis.call('GET', total) or '0') + bytes > tonumber(ARGV[7]) then return -1 end
redis.call('HSET', s, 'createdAt', ARGV[2], 'lastAccessedAt', ARGV[3], 'ttlMs', ARGV[4], 'metadata', ARGV[5], 'bytes', bytes)
redis.call('SADD', ids, ARGV[1])
redis.call('ZADD', due, tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
redis.call('INCRBY', total, bytes)
return 1
`;

/** ARGV: id, now, pinned ('1' or '0'), touch ('1' or '0'). */
export const USE = `${PRELUDE}
return use(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1')
`;

/** ARGV: id, now, pinned, key. Answers use()'s list and the value (false when not set). */
export const GET_STATE = `${PRELUDE}
local r = use(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], true)
if r[1] == 'live' then r[6] = redis.call('HGET', KEYS[2], ARGV[4]) end
return r
`;

/** ARGV: id, now, pinned, key, json, maxKeys, maxSessionBytes, max total bytes. A refusal is
 *  {'quota', limit, keys or bytes} or {'full'}, with nothing stored. */
export const SET_STATE = `${PRELUDE}
local s, v = KEYS[1], KEYS[2]
local r = use(s, v, KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], true)
if r[1] ~= 'live' then return r end
local key, json = ARGV[4], ARGV[5]
local previous = redis.call('HGET', v, key)
local keys = redis.call('HLEN', v)
if not previous and keys >= tonumber(ARGV[6]) then return {'quota', 'maxKeys', keys} end
local growth = string.len(key) + string.len(json)
if previous then growth = growth - string.len(key) - string.len(previous) end
local bytes = tonumber(redis.call('HGET', s, 'bytes')) + growth
if bytes > tonumber(ARGV[7]) then return {'quota', 'maxSessionBytes', bytes} end
if growth > 0 and tonumber(redis.call('GET', KEYS[4]) or '0') + growth > tonumber(ARGV[8]) then return {'full'} end
redis.call('HSET', v, key, json)
redis.call('HSET', s, 'bytes', bytes)
redis.call('INCRBY', KEYS[4], growth)
return r
`;

/** ARGV: id, now, pinned, key. */
export const DELETE_STATE = `${PRELUDE}
local s, v = KEYS[1], KEYS[2]
local r = use(s, v, KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], true)
if r[1] ~= 'live' then return r end
local previous = redis.call('HGET', v, ARGV[4])
if previous then
  local freed = string.len(ARGV[4]) + string.len(previous)
  redis.call('HDEL', v, ARGV[4])
  redis.call('HINCRBY', s, 'bytes', -freed)
  redis.call('DECRBY', KEYS[4], freed)
end
return r
`;

/** ARGV: id. Answers 1 when the session was there. */
export const DELETE = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
remove(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])
return 1
`;

/** KEYS: ids. ARGV: prefix, cursor, count. Answers {next cursor, id, createdAt, lastAccessedAt,
 *  ttlMs, metadata, …}: one page of the sessions (SSCAN), so no call holds Redis for long. */
export const LIST_PAGE = `
local page = redis.call('SSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local out = {page[1]}
for _, id in ipairs(page[2]) do
  local f = redis.call('HMGET', ARGV[1] .. 's:' .. id, 'createdAt', 'lastAccessedAt', 'ttlMs', 'metadata')
  if f[1] then
    table.insert(out, id)
    for i = 1, 4 do table.insert(out, f[i]) end
  end
end
return out
`;

/** KEYS: ids, total bytes, due. ARGV: prefix, now, batch size, then the pinned ids. Looks at up
 *  to a batch of the sessions due by `now`: pinned ones are touched, idle ones removed, the rest
 *  (touched since) rescored. Answers {looked at, id, createdAt, lastAccessedAt, ttlMs, metadata,
 *  …} for the removed ones. */
export const SWEEP_BATCH = `
local ids, total, due = KEYS[1], KEYS[2], KEYS[3]
local prefix, now = ARGV[1], ARGV[2]
local pinned = {}
for i = 4, #ARGV do pinned[ARGV[i]] = true end
local batch = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {#batch}
for _, id in ipairs(batch) do
  local s, v = prefix .. 's:' .. id, prefix .. 'v:' .. id
  local f = redis.call('HMGET', s, 'createdAt', 'lastAccessedAt', 'ttlMs', 'metadata', 'bytes')
  if not f[1] then
    redis.call('SREM', ids, id)
    redis.call('ZREM', due, id)
  elseif pinned[id] then
    redis.call('HSET', s, 'lastAccessedAt', now)
    redis.call('ZADD', due, tonumber(now) + tonumber(f[3]), id)
  elseif tonumber(now) - tonumber(f[2]) >= tonumber(f[3]) then
    redis.call('UNLINK', s, v)
    redis.call('SREM', ids, id)
    redis.call('ZREM', due, id)
    redis.call('DECRBY', total, tonumber(f[5] or '0'))
    table.insert(out, id)
    for i = 1, 4 do table.insert(out, f[i]) end
  else
    redis.call('ZADD', due, tonumber(f[2]) + tonumber(f[3]), id)
  end
end
return out
`;

/** KEYS: ids. */
export const SIZE = `return redis.call('SCARD', KEYS[1])`;
