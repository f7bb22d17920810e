/**
 * The quota Lua scripts (hand-written on purpose, architecture.md): one per QuotaLimiter
 * operation, each atomic over every key of one backend (one hash tag, so one Cluster slot).
 *
 * KEYS[1] is the backend's RATE_LIMITED mark; KEYS[2..] one hash per limited dimension:
 * a window holds bucket index -> units, a token bucket `l` (scaled level) and `a` (at).
 * Each dimension takes 5 ARGV: kind (`w` window, `t` token bucket), windowMs, buckets,
 * limit, and the operation's amount. Every script returns {ok, mark, states}: ok 1/0, the
 * mark as read, and each dimension's HGETALL as read before any write, from which the
 * TypeScript (quota/backend-quota.ts) computes the same decision and status as the memory
 * limiter. The math here is the twin of quota/sliding-window.ts and quota/token-bucket.ts:
 * the same double operations in the same order, numbers stored with %.17g (exact round
 * trip), so both sides agree bit for bit; test/integration/quota-limiter.test.ts checks it.
 * Time is the caller's `now` (ARGV), never Redis TIME; every key gets a PEXPIRE of how long
 * it still matters plus a slack, so nothing is left behind.
 */

const COMMON = `
local function fmt(x) return string.format('%.17g', x) end
local function widx(t, w, b) return math.floor(t * b / w) end
local function wexp(i, w, b) return math.ceil((i + b) * w / b) end

local function load(d, raw)
  if d.kind == 'w' then
    d.m = {}
    for i = 1, #raw, 2 do
      local k, v = tonumber(raw[i]), tonumber(raw[i + 1])
      if k and v then d.m[k] = v end
    end
  else
    d.l, d.a = 0, 0
    for i = 1, #raw, 2 do
      if raw[i] == 'l' then d.l = tonumber(raw[i + 1]) or 0 elseif raw[i] == 'a' then d.a = tonumber(raw[i + 1]) or 0 end
    end
  end
end

local function wusage(d, t)
  local oldest = widx(t, d.w, d.b) - d.b
  local live = {}
  for i in pairs(d.m) do if i > oldest then live[#live + 1] = i end end
  table.sort(live)
  local u = 0
  for _, i in ipairs(live) do u = u + d.m[i] end
  return u
end

local function tlevel(d, t)
  if t > d.a then return math.max(0, d.l - (t - d.a) * d.lim) end
  return d.l
end

local function fits(d, t, need)
  if d.kind == 'w' then return wusage(d, t) + need <= d.lim end
  return tlevel(d, t) + need * d.w <= d.lim * d.w
end

local function wprune(d, t, slack)
  local oldest = widx(t, d.w, d.b) - d.b
  local newest = nil
  for i in pairs(d.m) do
    if i <= oldest then
      redis.call('HDEL', d.key, fmt(i))
      d.m[i] = nil
    elseif newest == nil or i > newest then
      newest = i
    end
  end
  if newest ~= nil then redis.call('PEXPIRE', d.key, math.ceil(math.max(1, wexp(newest, d.w, d.b) - t) + slack)) end
end

local function tsave(d, t, slack)
  if d.l == 0 then redis.call('DEL', d.key) return end
  redis.call('HSET', d.key, 'l', fmt(d.l), 'a', fmt(d.a))
  redis.call('PEXPIRE', d.key, math.ceil(math.ceil(tlevel(d, t) / d.lim) + math.max(0, d.a - t) + slack))
end

local function charge(d, t, units, slack)
  if d.kind == 'w' then
    local i = widx(t, d.w, d.b)
    local v = (d.m[i] or 0) + units
    d.m[i] = v
    redis.call('HSET', d.key, fmt(i), fmt(v))
    wprune(d, t, slack)
  else
    d.l = tlevel(d, t) + units * d.w
    d.a = math.max(d.a, t)
    tsave(d, t, slack)
  end
end

local function refund(d, at, t, units, slack)
  if d.kind == 'w' then
    local i = widx(at, d.w, d.b)
    local held = d.m[i]
    if held ~= nil and i > widx(t, d.w, d.b) - d.b then
      local left = held - units
      if left > 0 then
        d.m[i] = left
        redis.call('HSET', d.key, fmt(i), fmt(left))
      else
        d.m[i] = nil
        redis.call('HDEL', d.key, fmt(i))
      end
    end
    wprune(d, t, slack)
  else
    d.l = math.max(0, tlevel(d, t) - units * d.w)
    d.a = math.max(d.a, t)
    tsave(d, t, slack)
  end
end

-- Reads the mark and every dimension named by KEYS/ARGV from ARGV[first].
local function read(first)
  local mark = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
  local dims, raws = {}, {}
  for n = 1, #KEYS - 1 do
    local o = first + (n - 1) * 5
    local d = { key = KEYS[n + 1], kind = ARGV[o], w = tonumber(ARGV[o + 1]), b = tonumber(ARGV[o + 2]),
      lim = tonumber(ARGV[o + 3]), arg = ARGV[o + 4] }
    local raw = redis.call('HGETALL', d.key)
    load(d, raw)
    dims[n], raws[n] = d, raw
  end
  return mark, dims, raws
end
`;

/** ARGV: now, mode (e enforce, s shadow, c check), slack, then 5 per dimension (amount). */
export const RESERVE_SCRIPT = `${COMMON}
local now, mode, slack = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local mark, dims, raws = read(4)
local ok = now >= mark
for _, d in ipairs(dims) do
  d.amt = tonumber(d.arg)
  if not fits(d, now, d.amt) then ok = false end
end
if mode == 'c' or (mode == 'e' and not ok) then return { ok and 1 or 0, fmt(mark), raws } end
for _, d in ipairs(dims) do
  if d.amt > 0 then charge(d, now, d.amt, slack) end
end
return { ok and 1 or 0, fmt(mark), raws }
`;

/** ARGV: now, slack, chargedAt, then 5 per dimension (delta: > 0 charge, < 0 refund). */
export const ADJUST_SCRIPT = `${COMMON}
local now, slack, at = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local mark, dims, raws = read(4)
for _, d in ipairs(dims) do
  local delta = tonumber(d.arg)
  if delta > 0 then charge(d, now, delta, slack) elseif delta < 0 then refund(d, at, now, -delta, slack) end
end
return { 1, fmt(mark), raws }
`;

/** ARGV: now, slack, then 5 per dimension (upstream remaining, or '' for none). */
export const CORRECT_SCRIPT = `${COMMON}
local now, slack = tonumber(ARGV[1]), tonumber(ARGV[2])
local mark, dims, raws = read(3)
for _, d in ipairs(dims) do
  if d.arg ~= '' then
    local target = d.lim - tonumber(d.arg)
    if target > 0 then
      if d.kind == 'w' then
        local u = wusage(d, now)
        if target > u then charge(d, now, target - u, slack) end
      else
        d.l = math.max(tlevel(d, now), target * d.w)
        d.a = math.max(d.a, now)
        tsave(d, now, slack)
      end
    end
  end
end
return { 1, fmt(mark), raws }
`;

/** ARGV: then 5 per dimension (the amount is unused). Read only. */
export const STATUS_SCRIPT = `${COMMON}
local mark, dims, raws = read(1)
return { 1, fmt(mark), raws }
`;

/** KEYS[1] the mark; ARGV: until, now, slack. A mark never moves earlier. */
export const MARK_SCRIPT = `
local untilms, now, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if untilms > current then
  current = untilms
  redis.call('SET', KEYS[1], string.format('%.17g', untilms))
end
if current > now then redis.call('PEXPIRE', KEYS[1], math.ceil(current - now) + slack) end
return string.format('%.17g', current)
`;
