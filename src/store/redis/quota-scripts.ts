/**
 * The quota Lua scripts (hand-written on purpose: docs/quota.md): one per QuotaLimiter
 * operation, each atomic over every key of one backend (one hash tag, so one Cluster slot).
 *
 * Keys: KEYS[1] is the backend's RATE_LIMITED mark, KEYS[2..] one string per limited
 * dimension. Every stored value and every numeric argument is little-endian IEEE doubles
 * (Redis's `struct` library), so numbers cross between TypeScript and Lua exactly, with no
 * decimal parsing: the mark is [until]; a window is [index, units, index, units, ...] in
 * ascending index order; a token bucket is [scaled level, at].
 *
 * Arguments: ARGV[1] is text: the mode (`e` enforce, `s` shadow, `c` check; `-` where
 * there is none) then one kind per dimension (`w` window, `t` token bucket); ARGV[2] the
 * doubles: the operation's head (now, slack, ...) then 4 per dimension: windowMs, buckets,
 * limit and the operation's value (NaN for none), then the operation's tail (reserve, adjust: one
 * more value per dimension).
 *
 * Every script reads all keys with one MGET and returns {ok, mark, state...} as read before
 * any write, from which the TypeScript (quota/backend-quota.ts) computes the same decision
 * and status as the memory limiter. The math is the twin of quota/sliding-window.ts and
 * quota/token-bucket.ts: the same double operations in the same order, so both sides agree
 * bit for bit (test/integration/quota-limiter.test.ts checks it). Time is the caller's
 * `now`, never Redis TIME; every write is PSETEX (how long the value still matters,
 * plus a slack) or DEL, so nothing is left behind.
 */

const COMMON = `
local function doubles(s)
  if not s or #s < 8 then return {} end
  local v = { struct.unpack('<' .. string.rep('d', math.floor(#s / 8)), s) }
  v[#v] = nil -- struct.unpack's last value is the next position
  return v
end
local function pack(v) return struct.pack('<' .. string.rep('d', #v), unpack(v)) end
local function widx(t, w, b) return math.floor(t * b / w) end
local function wexp(i, w, b) return math.ceil((i + b) * w / b) end
-- The bucket a charge at t goes into (sliding-window.ts chargeIndex).
local function cidx(t, w, b) if b > 1 then return widx(t, w, b) + 1 end return widx(t, w, b) end

-- Reads the mark and every dimension of one backend's keys; numbers start at arg[first] (4 per dimension).
local function read(keys, kinds, numbers, first)
  local raw = redis.call('MGET', unpack(keys))
  local arg, dims = doubles(numbers), {}
  for d = 1, #keys - 1 do
    local o = first + (d - 1) * 4
    local x = { key = keys[d + 1], kind = string.sub(kinds, d + 1, d + 1), w = arg[o], b = arg[o + 1],
      lim = arg[o + 2], value = arg[o + 3], v = doubles(raw[d + 1]) }
    dims[d] = x
  end
  return arg, raw[1] and doubles(raw[1])[1] or 0, dims, raw
end

-- Window (x.v = index, units, ... ascending): units in the window at t, oldest first.
local function wusage(x, t)
  local v, oldest, u = x.v, widx(t, x.w, x.b) - x.b, 0
  for n = 1, #v, 2 do if v[n] > oldest then u = u + v[n + 1] end end
  return u
end

-- Window: stores the live buckets of out (ascending), with a TTL from the newest one.
local function wstore(x, out, t, slack)
  if #out == 0 then
    redis.call('DEL', x.key)
  else
    local ttl = math.ceil(math.max(1, wexp(out[#out - 1], x.w, x.b) - t) + slack)
    redis.call('PSETEX', x.key, ttl, pack(out))
  end
  x.v = out -- a later write of the same operation starts from this one
end

-- Window: the live buckets, with bucket i set to units (nil drops it).
local function wupdate(x, i, units, t, slack)
  local v, oldest = x.v, widx(t, x.w, x.b) - x.b
  local n = #v
  if n >= 2 and v[n - 1] == i and v[1] > oldest then
    -- The common case: the newest bucket changes and nothing has left the window.
    if units then
      v[n] = units
    else
      v[n], v[n - 1] = nil, nil
    end
    return wstore(x, v, t, slack)
  end
  local out, done = {}, false
  for m = 1, n, 2 do
    if v[m] > oldest then
      if not done and v[m] >= i then
        if units then out[#out + 1] = i; out[#out + 1] = units end
        done = true
      end
      if v[m] ~= i then out[#out + 1] = v[m]; out[#out + 1] = v[m + 1] end
    end
  end
  if not done and units then out[#out + 1] = i; out[#out + 1] = units end
  wstore(x, out, t, slack)
end

-- Window: units held by bucket i (nil: none).
local function wheld(x, i)
  local v = x.v
  for n = #v - 1, 1, -2 do if v[n] == i then return v[n + 1] end end
  return nil
end

-- Token bucket (x.v = scaled level, at).
local function tlevel(x, t)
  local l, a = x.v[1] or 0, x.v[2] or 0
  if t > a then return math.max(0, l - (t - a) * x.lim) end
  return l
end

local function tstore(x, l, a, t, slack)
  x.v = { l, a } -- a later write of the same operation starts from this one
  if l == 0 then
    redis.call('DEL', x.key)
    return
  end
  local ttl = math.ceil(math.ceil(tlevel(x, t) / x.lim) + math.max(0, a - t) + slack)
  redis.call('PSETEX', x.key, ttl, pack(x.v))
end

local function fits(x, t, need)
  if x.kind == 'w' then return wusage(x, t) + need <= x.lim end
  return tlevel(x, t) + need * x.w <= x.lim * x.w
end

local function charge(x, t, units, slack)
  if x.kind == 'w' then
    local i = cidx(t, x.w, x.b)
    wupdate(x, i, (wheld(x, i) or 0) + units, t, slack)
  else
    tstore(x, tlevel(x, t) + units * x.w, math.max(x.v[2] or 0, t), t, slack)
  end
end

-- Usage above a reservation: a window charges the reservation's bucket while it is live
-- (sliding-window.ts windowChargeAt); a token bucket charges now.
local function chargeat(x, at, t, units, slack)
  if x.kind ~= 'w' then return charge(x, t, units, slack) end
  local i = cidx(math.min(at, t), x.w, x.b)
  if i <= widx(t, x.w, x.b) - x.b then return end
  wupdate(x, i, (wheld(x, i) or 0) + units, t, slack)
end

-- Usage held for h ms from t: a window charges the oldest bucket that lasts that long
-- (sliding-window.ts holdIndex); a token bucket charges now.
local function hold(x, t, h, units, slack)
  if x.kind ~= 'w' then return charge(x, t, units, slack) end
  local function live(a) return widx(a, x.w, x.b) - x.b + 1 end
  local i = math.min(math.max(live(t + h - 1), live(t)), cidx(t, x.w, x.b))
  wupdate(x, i, (wheld(x, i) or 0) + units, t, slack)
end

local function refund(x, at, t, units, slack)
  if x.kind ~= 'w' then
    return tstore(x, math.max(0, tlevel(x, t) - units * x.w), math.max(x.v[2] or 0, t), t, slack)
  end
  local i = cidx(at, x.w, x.b)
  local held = wheld(x, i)
  if held == nil or i <= widx(t, x.w, x.b) - x.b then return end
  local left = held - units
  if left > 0 then wupdate(x, i, left, t, slack) else wupdate(x, i, nil, t, slack) end
end
`;

/**
 * The operations as functions of one backend's keys, its kinds text and its doubles (the
 * single-operation scripts pass KEYS, ARGV[1], ARGV[2]); each returns {ok, mark, state...}.
 */
const OPERATIONS = `${COMMON}
-- numbers: now, slack, upstream lag, then per dimension windowMs, buckets, limit, amount,
-- then per dimension the room it needs (the amount with its margin, backend-quota.ts denialOf).
local function reserve(keys, kinds, numbers)
  local arg, mark, dims, raw = read(keys, kinds, numbers, 4)
  local now, mode, slack, lag = arg[1], string.sub(kinds, 1, 1), arg[2], arg[3]
  local ok = now >= mark
  for d, x in ipairs(dims) do
    if not fits(x, now, arg[3 + 4 * #dims + d]) then ok = false end
  end
  if mode == 'c' or (mode == 'e' and not ok) then return { ok and 1 or 0, unpack(raw) } end
  for _, x in ipairs(dims) do
    if x.value > 0 and x.kind == 'w' then
      -- The upstream counts the call up to lag ms from now (dimension.ts dimensionReserve).
      local i = cidx(now + lag, x.w, x.b)
      wupdate(x, i, (wheld(x, i) or 0) + x.value, now, slack)
    elseif x.value > 0 then
      charge(x, now, x.value, slack)
    end
  end
  return { ok and 1 or 0, unpack(raw) }
end

-- numbers: now, slack, chargedAt, holdMs, then per dimension windowMs, buckets, limit, delta
-- (> 0 charge, < 0 refund), then per dimension the units to hold for holdMs.
local function adjust(keys, kinds, numbers)
  local arg, mark, dims, raw = read(keys, kinds, numbers, 5)
  local now, slack, at, h = arg[1], arg[2], arg[3], arg[4]
  for d, x in ipairs(dims) do
    if x.value > 0 then chargeat(x, at, now, x.value, slack) elseif x.value < 0 then refund(x, at, now, -x.value, slack) end
    local held = arg[4 + 4 * #dims + d]
    if held > 0 then hold(x, now, h, held, slack) end
  end
  return { 1, unpack(raw) }
end

-- numbers: now, slack, then per dimension windowMs, buckets, limit, upstream remaining (NaN: none).
local function correct(keys, kinds, numbers)
  local arg, mark, dims, raw = read(keys, kinds, numbers, 3)
  local now, slack = arg[1], arg[2]
  for _, x in ipairs(dims) do
    local target = x.lim - x.value
    if target > 0 and x.kind == 'w' then
      local u = wusage(x, now)
      if target > u then charge(x, now, target - u, slack) end
    elseif target > 0 then
      tstore(x, math.max(tlevel(x, now), target * x.w), math.max(x.v[2] or 0, now), now, slack)
    end
  end
  return { 1, unpack(raw) }
end
`;

/**
 * ARGV[1]: mode and kinds; ARGV[2]: now, slack, upstream lag, then per dimension windowMs,
 * buckets, limit, amount, then per dimension the room it needs (>= amount; only the amount is charged).
 */
export const RESERVE_SCRIPT = `${OPERATIONS}
return reserve(KEYS, ARGV[1], ARGV[2])
`;

/**
 * ARGV[2]: now, slack, chargedAt, holdMs, then per dimension windowMs, buckets, limit, delta
 * (> 0 charge, < 0 refund), then per dimension the units to hold for holdMs.
 */
export const ADJUST_SCRIPT = `${OPERATIONS}
return adjust(KEYS, ARGV[1], ARGV[2])
`;

/** ARGV[2]: now, slack, then per dimension windowMs, buckets, limit, upstream remaining (NaN: none). */
export const CORRECT_SCRIPT = `${OPERATIONS}
return correct(KEYS, ARGV[1], ARGV[2])
`;

/**
 * Several operations in one call, each as atomic as alone and in order (a later one sees an
 * earlier one's writes): ARGV[1] holds one letter per operation (`r` reserve, `a` adjust,
 * `c` correct) and ARGV[2] each one's key count as doubles; then per operation its kinds text
 * and its doubles (ARGV[3], ARGV[4], ...), and KEYS holds every operation's keys in turn. The
 * reply is one {ok, mark, state...} per operation, or {-1, message} for one that failed (the
 * others still apply). On a Cluster, every key of one call must share a slot.
 */
export const BATCH_SCRIPT = `${OPERATIONS}
local ops, counts, out, k = ARGV[1], doubles(ARGV[2]), {}, 1
local run = { r = reserve, a = adjust, c = correct }
for i = 1, #ops do
  local keys = {}
  for j = 1, counts[i] do keys[j] = KEYS[k + j - 1] end
  k = k + counts[i]
  local ok, reply = pcall(run[string.sub(ops, i, i)], keys, ARGV[1 + 2 * i], ARGV[2 + 2 * i])
  out[i] = ok and reply or { -1, tostring(reply) }
end
return out
`;

/** Read only: returns the mark and states as stored. */
export const STATUS_SCRIPT = `
return { 1, unpack(redis.call('MGET', unpack(KEYS))) }
`;

/** KEYS[1] the mark; ARGV[1]: until and now, as doubles; ARGV[2]: slack (ms). A mark never moves earlier. */
export const MARK_SCRIPT = `
local untilms, now = struct.unpack('<dd', ARGV[1])
local stored = redis.call('GET', KEYS[1])
local current = stored and #stored >= 8 and struct.unpack('<d', stored) or 0
if untilms > current and untilms > now then
  redis.call('PSETEX', KEYS[1], math.ceil(untilms - now) + tonumber(ARGV[2]), struct.pack('<d', untilms))
end
return 1
`;
