/**
 * The Lua scripts of the Redis PinStore (key layout in pin-keys.ts). Each runs atomically
 * on the node that owns the service's slot. Scripts read the pin's backend and then touch
 * that backend's zset, whose name they build from the backend key prefix: the key is not
 * declared up front, but it shares the declared keys' hash tag and so their slot, which
 * Redis Cluster allows (it rejects only undeclared keys of another slot). Time is the
 * server's (TIME), the same clock PEXPIRE uses, so every replica counts alike whatever its
 * own clock says.
 */

const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function keep_alive(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local function count_pin(zset, index, session, backend, now, ttl)
  redis.call('ZADD', zset, now + ttl, session)
  keep_alive(zset, ttl)
  redis.call('SADD', index, backend)
  keep_alive(index, ttl)
end
`;

/**
 * pin. KEYS: session key, target backend zset, index. ARGV: session id, backend id, idle
 * TTL ms, max pins (-1: no limit), the backend being replaced ('' for none), backend key
 * prefix. Returns {'pinned', previous or ''} | {'existing', current} | {'capacity', max}.
 */
export const PIN_SCRIPT = `${PRELUDE}
local now = now_ms()
local ttl = tonumber(ARGV[3])
local current = redis.call('GET', KEYS[1])
if current and (current == ARGV[2] or current ~= ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ttl)
  count_pin(ARGV[6] .. current, KEYS[3], ARGV[1], current, now, ttl)
  return {'existing', current}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
local max = tonumber(ARGV[4])
if max >= 0 and redis.call('ZCARD', KEYS[2]) >= max then return {'capacity', ARGV[4]} end
if current then redis.call('ZREM', ARGV[6] .. current, ARGV[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
count_pin(KEYS[2], KEYS[3], ARGV[1], ARGV[2], now, ttl)
return {'pinned', current or ''}
`;

/**
 * touch. KEYS: session key, index. ARGV: session id, idle TTL ms, backend key prefix.
 * Returns the pinned backend id, or nil when the session has no pin.
 */
export const TOUCH_SCRIPT = `${PRELUDE}
local backend = redis.call('GET', KEYS[1])
if not backend then return false end
local ttl = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
count_pin(ARGV[3] .. backend, KEYS[2], ARGV[1], backend, now_ms(), ttl)
return backend
`;

/**
 * end. KEYS: session key. ARGV: session id, backend key prefix.
 * Returns the released backend id, or nil when the session had no pin.
 */
export const END_SCRIPT = `
local backend = redis.call('GET', KEYS[1])
if not backend then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. backend, ARGV[1])
return backend
`;

/**
 * count by backend. KEYS: index. ARGV: backend key prefix. Trims expired pins, drops
 * empty backends from the index, and returns {backend, count, backend, count, ...}.
 */
export const COUNT_SCRIPT = `${PRELUDE}
local now = now_ms()
local out = {}
for _, backend in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local zset = ARGV[1] .. backend
  redis.call('ZREMRANGEBYSCORE', zset, '-inf', '(' .. now)
  local n = redis.call('ZCARD', zset)
  if n == 0 then
    redis.call('SREM', KEYS[1], backend)
  else
    out[#out + 1] = backend
    out[#out + 1] = n
  end
end
return out
`;

/**
 * release backend. KEYS: index, backend zset. ARGV: backend id.
 * Forgets the backend's pin count and returns how many live pins it had.
 */
export const RELEASE_SCRIPT = `${PRELUDE}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now_ms())
local n = redis.call('ZCARD', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return n
`;
