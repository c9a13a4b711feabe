/**
 * The reputation fold, the Redis side: a Lua program run atomically per chunk of offender records
 * (ReputationRepository.fold builds its KEYS/ARGV and parses its reply). Kept apart from its
 * caller because it is a program of its own, in another language, that must stay in step with
 * the argument layout below (REC_FIELDS in reputation.repository.ts is its `RF`).
 */

/**
 * One atomic script per batch. Per record: dedupe on (resolver, zone, window end) — Kafka delivery
 * is at-least-once, a redelivered record must not count twice. The windows folded are kept in the
 * resolver-zone hash itself (field `w`: the newest WINDOWS_KEPT window ends), so dedupe state is
 * bounded by the subjects, not by records × time; a record older than every window kept, once
 * that many are kept, counts as a duplicate (a (resolver, zone) pair's records arrive in window
 * order: offender records are keyed by zone, and windows close in order). Fresh records are first
 * aggregated per subject inside the script (the decay fold is order-independent, so folding a
 * batch's sum at its newest event time equals folding each record), then each subject is read and
 * written once: decayed sums, members (the newest maxm), capped evidence. Every subject is ranked
 * in its kind's index by its decayed attack score (log2 of the score at a common instant: score
 * order at any time); past maxs subjects of a kind, the lowest are evicted with their keys, and
 * out of the member sets they are in (field `u` of their hash: the parents' member keys, each
 * with the member): a resolver leaves its prefix's and ASN's members, a (resolver, zone) its
 * resolver's zones and its prefix's and ASN's per-zone members, a prefix its ASN's prefixes. So
 * each of those kinds holds at most maxs members in all, not maxs × maxm.
 * Returns the state of every subject the batch touched, duplicates included, so a replayed batch
 * still re-runs the policy (e.g. after a crash between the Redis write and the Kafka send); and
 * how many subjects were evicted. Same maths as core/decay.ts fold().
 *
 * KEYS[1..6] = each kind's index (KINDS order), then each subject's hash once per chunk; a
 * subject's evidence list (:ev), members (:m) and an ASN's prefixes (:px) are named from its hash
 * key, not declared (standalone Redis, as the rest of Sluice; evicted subjects' keys were already
 * derived so).
 * Outright subjects off (o = 0, BLOCK_OUTRIGHT_NETWORKS=false): no 'prefix' and 'asn' subject is
 * folded, kept, ranked or evicted (the policy would skip them all); p is 0 and a names the ASN's
 * hash key only for its :px (what its per-zone entries list), after every subject's key. That
 * :px then has no prefix subjects to be evicted with: it keeps its newest maxm prefixes.
 * ARGV[1] = JSON {o, hl, cap, win, ttl, maxs, maxm, z: [zone…], r: [resolver…], p: [prefix or ''…],
 * recs: [rz, ts, a, t, off, prot, zone, r, p, pz, a, az, …]} — recs flat, REC_FIELDS per record:
 * ts the window's end, zone an index into z, the subjects (rz … az) indexes into KEYS (0 = none),
 * r and p per record (p: the ASN's offending prefix, '' for none); ARGV[1 + i] is record i's
 * evidence JSON (its own argument: nested in ARGV[1] it would be escaped by JSON.stringify and
 * unescaped by cjson).
 * Returns {fresh: one '1'/'0' per record, states: "a,t,ts,n,p" per subject in KEYS order, all
 * joined by ',', evicted}: two strings instead of a nested array of ~6 per subject (the reply's
 * conversion and parsing were a tenth of the reputation process's time).
 */
export const FOLD_LUA = `
local cfg = cjson.decode(ARGV[1])
local hl, cap, win, ttl, maxm = cfg.hl, cfg.cap, cfg.win, cfg.ttl, cfg.maxm
local R, Z, RES, PFX = cfg.recs, cfg.z, cfg.r, cfg.p
local RF = 12
-- outright 'prefix' (kind 3) and 'asn' (kind 5) subjects kept?
local OUT = cfg.o == 1
-- Constant arguments as Redis itself would format the numbers (%.17g), once per call, not per key.
local TTL, CAP1, KEEPM = string.format('%.17g', ttl), string.format('%.17g', cap - 1), string.format('%.17g', -(maxm + 1))
local fresh, acc, order = {}, {}, {}
local px = {}
local wins, dirty = {}, {}
-- A resolver-zone hash's state, read with its windows (one HMGET where there were two reads).
local held = {}
local WINDOWS_KEPT = 8
-- Has the resolver-zone hash KEYS[k] folded the window ending at we? Records it if not.
local function seenBefore(k, we)
  local w = wins[k]
  if w == nil then
    w = {}
    local cur = redis.call('HMGET', KEYS[k], 'a', 't', 'ts', 'p', 'w', 'u')
    local s = cur[5]
    if s then
      for x in string.gmatch(s, '[^,]+') do table.insert(w, tonumber(x)) end
    end
    held[k] = cur
    wins[k] = w
  end
  for _, x in ipairs(w) do
    if x == we then return true end
  end
  if #w >= WINDOWS_KEPT and we < w[1] then return true end
  table.insert(w, we)
  table.sort(w)
  while #w > WINDOWS_KEPT do table.remove(w, 1) end
  dirty[k] = true
  return false
end
local function addTo(x, a, t, ts)
  if x.ts == nil then
    x.a, x.t, x.ts = a, t, ts
  elseif ts >= x.ts then
    local f = 2 ^ (-(ts - x.ts) / hl)
    x.a, x.t, x.ts = x.a * f + a, x.t * f + t, ts
  else
    local f = 2 ^ (-(x.ts - ts) / hl)
    x.a, x.t = x.a + a * f, x.t + t * f
  end
end
for i = 1, #R / RF do
  local b = (i - 1) * RF
  local ts = R[b + 2]
  local ok = not seenBefore(R[b + 1], ts)
  fresh[i] = ok and '1' or '0'
  local ra, rt, off, prot = R[b + 3], R[b + 4], R[b + 5], R[b + 6]
  local ev = ARGV[i + 1]
  -- kinds in KINDS order: resolver-zone (no members), resolver (members: zones), then prefix,
  -- prefix-zone, asn, asn-zone (members: resolvers)
  for kind = 1, 6 do
    local h = R[b + (kind == 1 and 1 or kind + 6)]
    if h ~= 0 and (OUT or (kind ~= 3 and kind ~= 5)) then
      local x = acc[h]
      if x == nil then
        x = { ev = {}, mem = {}, nmem = 0, prot = false, kind = kind, fresh = false }
        acc[h] = x
        table.insert(order, h)
      end
      if ok then
        x.fresh = true
        addTo(x, ra, rt, ts)
        table.insert(x.ev, ev)
        if kind ~= 1 and off == 1 then
          local member = kind == 2 and Z[R[b + 7]] or RES[i]
          if (x.mem[member] or -1) < ts then
            if x.mem[member] == nil then x.nmem = x.nmem + 1 end
            x.mem[member] = ts
          end
        end
        -- Where this subject is a member (its parents' member sets), so evicting it takes it out
        -- of them: a kind's members are then at most the subjects held by the kind below.
        if off == 1 and kind <= 3 then
          local u = {}
          local function link(k, suffix, member)
            if k ~= 0 then
              table.insert(u, KEYS[k] .. suffix)
              table.insert(u, member)
            end
          end
          if kind == 1 then
            link(R[b + 8], ':m', Z[R[b + 7]])
            link(R[b + 10], ':m', RES[i])
            link(R[b + 12], ':m', RES[i])
          elseif kind == 2 then
            if OUT then
              link(R[b + 9], ':m', RES[i])
              link(R[b + 11], ':m', RES[i])
            end
          elseif PFX[i] ~= '' then
            link(R[b + 11], ':px', PFX[i])
          end
          if #u > 0 then x.u = table.concat(u, '\\n') end
        end
        if prot == 1 then x.prot = true end
      end
    end
  end
  local p = PFX[i]
  if ok and p ~= '' and off == 1 then
    local k = R[b + 11]
    px[k] = px[k] or {}
    if (px[k][p] or -1) < ts then px[k][p] = ts end
  end
end
-- Member times as Redis would format them (%.17g), each distinct one once: a chunk's records share
-- a window end, and number formatting was a tenth of the script's time.
local fmts = {}
local function fmt(x)
  local f = fmts[x]
  if f == nil then
    f = string.format('%.17g', x)
    fmts[x] = f
  end
  return f
end
local bounds = {}
-- ZADD GT member→ts in chunks (unpack has a small stack limit).
local function zadd(key, map)
  local args = {}
  for m, ts in pairs(map) do
    table.insert(args, fmt(ts))
    table.insert(args, m)
    if #args >= 1000 then
      redis.call('ZADD', key, 'GT', unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('ZADD', key, 'GT', unpack(args)) end
end
local out = {}
local ranked = {}
for _, h in ipairs(order) do
  local x = acc[h]
  local key = KEYS[h]
  local mkey = x.kind ~= 1 and key .. ':m' or nil
  local cur = held[h] or redis.call('HMGET', key, 'a', 't', 'ts', 'p', 'u')
  local ca, ct, cts = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  -- the parent links as stored ('u': the 6th field of a resolver-zone read, else the 5th)
  local cu = held[h] and cur[6] or cur[5]
  local p = cur[4] == '1'
  local added = false
  local sa, st_, sts
  if x.fresh then
    local st = { a = ca, t = ct, ts = cts }
    if ca == nil then st = {} end
    addTo(st, x.a, x.t, x.ts)
    ca, ct, cts = st.a, st.t, st.ts
    if x.prot then p = true end
    sa, st_, sts = tostring(ca), tostring(ct), tostring(cts)
    if dirty[h] then
      -- the resolver-zone hash: its windows go in the same write
      redis.call('HSET', key, 'a', sa, 't', st_, 'ts', sts, 'p', p and '1' or '0', 'w', table.concat(wins[h], ','))
      dirty[h] = nil
    else
      redis.call('HSET', key, 'a', sa, 't', st_, 'ts', sts, 'p', p and '1' or '0')
    end
    if x.u and x.u ~= cu then redis.call('HSET', key, 'u', x.u) end
    redis.call('PEXPIRE', key, TTL)
    local evk = key .. ':ev'
    local n = #x.ev
    local from = math.max(1, n - cap + 1)
    -- LPUSH answers the length: trim only a list that grew past the cap
    if redis.call('LPUSH', evk, unpack(x.ev, from, n)) > cap then
      redis.call('LTRIM', evk, 0, CAP1)
    end
    redis.call('PEXPIRE', evk, TTL)
    if mkey and x.nmem > 0 then
      zadd(mkey, x.mem)
      redis.call('PEXPIRE', mkey, TTL)
      added = true
    end
    redis.call('ZADD', KEYS[x.kind], cts / hl + math.log(math.max(ca, 1e-9)) / math.log(2), key)
    ranked[x.kind] = true
  end
  local n = 1
  if mkey and cts ~= nil then
    local bound = bounds[cts]
    if bound == nil then
      bound = '(' .. tostring(cts - win)
      bounds[cts] = bound
    end
    redis.call('ZREMRANGEBYSCORE', mkey, '-inf', bound)
    n = redis.call('ZCARD', mkey)
    -- Members just added past maxm: the oldest go. The newest maxm of the recent ones are the
    -- recent ones among the newest maxm (recent = an upper range of scores), so trimming after
    -- the prune keeps the same members, and only when there is something to trim.
    if added and n > maxm then
      redis.call('ZREMRANGEBYRANK', mkey, 0, KEEPM)
      n = maxm
    end
  end
  -- (the strings just written when the subject was folded: the same tostring of the same numbers)
  out[h - 6] = (sa or tostring(ca or 0)) .. ',' .. (st_ or tostring(ct or 0)) .. ',' .. (sts or tostring(cts or 0)) .. ',' .. tostring(n) .. ',' .. (p and '1' or '0')
end
for k, m in pairs(px) do
  local key = KEYS[k] .. ':px'
  zadd(key, m)
  -- Only the newest members count: past maxm the oldest go (a count past the policy's
  -- thresholds changes nothing, and a flood's million resolvers would all be members).
  redis.call('ZREMRANGEBYRANK', key, 0, KEEPM)
  redis.call('PEXPIRE', key, TTL)
end
for k in pairs(dirty) do
  redis.call('HSET', KEYS[k], 'w', table.concat(wins[k], ','))
  redis.call('PEXPIRE', KEYS[k], TTL)
end
local evicted = 0
for k in pairs(ranked) do
  local over = redis.call('ZCARD', KEYS[k]) - cfg.maxs
  if over > 0 then
    local gone = redis.call('ZPOPMIN', KEYS[k], over)
    for i = 1, #gone, 2 do
      local u = redis.call('HGET', gone[i], 'u')
      if u then
        local parent = nil
        for part in string.gmatch(u, '[^\\n]+') do
          if parent == nil then
            parent = part
          else
            redis.call('ZREM', parent, part)
            parent = nil
          end
        end
      end
      redis.call('UNLINK', gone[i], gone[i] .. ':ev', gone[i] .. ':m', gone[i] .. ':px')
      evicted = evicted + 1
    end
  end
  redis.call('PEXPIRE', KEYS[k], TTL)
end
return { table.concat(fresh), table.concat(out, ','), evicted }
`;
