/**
 * The reputation fold, the Redis side: a Lua program run atomically per chunk of offender records
 * (ReputationRepository.fold builds its KEYS/ARGV and parses its reply). Kept apart from its
 * caller because it is a program of its own, in another language, that must stay in step with
 * the argument layout below (aggregate() in reputation.repository.ts builds it).
 */

/**
 * One atomic script per batch. Per record: dedupe on (resolver, zone, window end) — Kafka delivery
 * is at-least-once, a redelivered record must not count twice. The windows folded are kept in the
 * resolver-zone hash itself (field `w`: the newest WINDOWS_KEPT window ends), so dedupe state is
 * bounded by the subjects, not by records × time; a record older than every window kept, once
 * that many are kept, counts as a duplicate (a (resolver, zone) pair's records arrive in window
 * order: offender records are keyed by zone, and windows close in order). Fresh records are first
 * aggregated per subject (the decay fold is order-independent, so folding a batch's sum at its
 * newest event time equals folding each record), then each subject is read and
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
 * The per-subject sums are made by the caller (aggregate() in reputation.repository.ts), which is
 * much cheaper in the service than in the script's interpreter: per record the script only
 * dedupes. The caller sums the records it expects fresh (all but repeats inside the chunk) and
 * sends those flags; if the script's dedupe says otherwise (a redelivery), it writes nothing and
 * answers its flags, and the caller sums again with them.
 *
 * KEYS[1..6] = each kind's index (KINDS order), then each subject's hash once per chunk; a
 * subject's evidence list (:ev), members (:m) and an ASN's prefixes (:px) are named from its hash
 * key, not declared (standalone Redis, as the rest of Sluice; evicted subjects' keys were already
 * derived so). Outright subjects off (BLOCK_OUTRIGHT_NETWORKS=false): the caller sends no 'prefix'
 * and 'asn' subject; an ASN's hash key is then in KEYS (after every subject's) only to name its
 * :px, which has no prefix subjects to be evicted with: it keeps its newest maxm prefixes.
 * ARGV[1] = JSON {hl, cap, win, ttl, maxs, maxm, z: [zone…], r: [resolver…], p: [prefix or ''…],
 * tm: [time…], d: [rz, time, …], f: '1'/'0' per record, s: [subject…], px: [asn…]} — r and p per
 * record (p: the ASN's offending prefix, '' for none); times are indexes into tm; d per record:
 * its resolver-zone's KEYS index and window end; s per subject: KEYS index, kind, fresh (0/1),
 * and if fresh: n then n × (attack, total, time) to fold (one when the records share a window
 * end), protected (0/1), n then n evidence records (the newest cap), n then n × (member, time)
 * (a zone index for a resolver, else a record whose resolver), n then n × (parent key, code,
 * ref) (code 1: :m + zone, 2: :m + record's resolver, 3: :px + record's prefix); px per ASN: KEYS
 * index, n, n × (record whose prefix, time). ARGV[1 + i] is record i's evidence JSON (its own
 * argument: nested in ARGV[1] it would be escaped by JSON.stringify and unescaped by cjson).
 * Returns {fresh: one '1'/'0' per record, states: "a,t,ts,n,p" per subject in KEYS order, all
 * joined by ',', evicted}: two strings instead of a nested array of ~6 per subject (the reply's
 * conversion and parsing were a tenth of the reputation process's time); or {fresh} alone when
 * the flags were not the expected ones. Each kind's index entries are added in one ZADD.
 */
export const FOLD_LUA = `
local cfg = cjson.decode(ARGV[1])
local hl, cap, win, ttl, maxm = cfg.hl, cfg.cap, cfg.win, cfg.ttl, cfg.maxm
local D, S, Z, RES, PFX, PX, TM = cfg.d, cfg.s, cfg.z, cfg.r, cfg.p, cfg.px, cfg.tm
local rcall = redis.call
-- Constant arguments as Redis itself would format the numbers (%.17g), once per call, not per key.
local TTL, CAP1, KEEPM = string.format('%.17g', ttl), string.format('%.17g', cap - 1), string.format('%.17g', -(maxm + 1))
-- A subject's keys (hash, :ev, :m) get their expiry refreshed at most every ttl/8 (field 'x' of
-- its hash: Redis's clock when they last were), not at every fold: in a long flood each subject
-- is folded every offender window, and those PEXPIREs were a third of the script's commands. An
-- expiry is set to ttl + ttl/8, so a key still lives at least ttl after its last write; a key
-- made between two refreshes (a first evidence list, a member set emptied when its members were
-- evicted and made again) gets its own expiry when it is made. Redis's own clock: the one its
-- expiries run on (Redis replicates a script's effects, so writes may follow TIME).
local clock = rcall('TIME')
local NOW = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local REFRESH = math.floor(ttl / 8)
local TTLX, NOWS = string.format('%.17g', ttl + REFRESH), string.format('%.17g', NOW)
local wins, dirty = {}, {}
-- A resolver-zone hash's state, read with its windows (one HMGET where there were two reads).
local held = {}
local WINDOWS_KEPT = 8
-- Has the resolver-zone hash KEYS[k] folded the window ending at we? Records it if not.
local function seenBefore(k, we)
  local w = wins[k]
  if w == nil then
    w = {}
    local cur = rcall('HMGET', KEYS[k], 'a', 't', 'ts', 'p', 'w', 'u', 'x')
    local s = cur[5]
    if s then
      for x in string.gmatch(s, '[^,]+') do w[#w + 1] = tonumber(x) end
    end
    held[k] = cur
    wins[k] = w
  end
  local n = #w
  for q = 1, n do
    if w[q] == we then return true end
  end
  if n >= WINDOWS_KEPT and we < w[1] then return true end
  w[n + 1] = we
  table.sort(w)
  while #w > WINDOWS_KEPT do table.remove(w, 1) end
  dirty[k] = true
  return false
end
local fresh = {}
for i = 1, #D / 2 do
  fresh[i] = seenBefore(D[2 * i - 1], TM[D[2 * i]]) and '0' or '1'
end
fresh = table.concat(fresh)
-- The caller aggregated the subjects for the records it expected fresh: if Redis says otherwise
-- (a redelivery), nothing is written and the caller folds again with these flags.
if fresh ~= cfg.f then return { fresh } end
-- addTo: the state (a0, t0, ts0) with (a, t, ts) folded in (core/decay.ts fold()), as values:
-- a table per sum was most of the loop's garbage.
local function addTo(a0, t0, ts0, a, t, ts)
  if ts >= ts0 then
    local f = 2 ^ (-(ts - ts0) / hl)
    return a0 * f + a, t0 * f + t, ts
  end
  local f = 2 ^ (-(ts0 - ts) / hl)
  return a0 + a * f, t0 + t * f, ts0
end
-- Member times as Redis would format them (%.17g), each distinct one once: a chunk's records share
-- a window end, and number formatting was a tenth of the script's time. Likewise each distinct
-- subject time as tostring makes it (what the hash and the reply hold).
local fmts, tstr = {}, {}
local function fmt(i)
  local f = fmts[i]
  if f == nil then
    f = string.format('%.17g', TM[i])
    fmts[i] = f
  end
  return f
end
-- Argument buffers reused by every subject (unpack(buf, 1, n)): one table each, not one per call.
local ZB, EV, HS = {}, {}, { 'a', '', 't', '', 'ts', '', 'p', '' }
-- ZADD GT of A[j..] (S or PX): n (member, ts) pairs, a member named by code (1: a zone, 2: a
-- record's resolver, 3: a record's offending prefix); in chunks (unpack has a small stack limit).
-- Answers how many members were new.
local function zaddRefs(key, A, j, n, code)
  local nb, added = 0, 0
  for q = 0, n - 1 do
    local ref = A[j + 2 * q]
    ZB[nb + 1] = fmt(A[j + 2 * q + 1])
    ZB[nb + 2] = code == 1 and Z[ref] or code == 2 and RES[ref] or PFX[ref]
    nb = nb + 2
    if nb >= 1000 then
      added = added + rcall('ZADD', key, 'GT', unpack(ZB, 1, nb))
      nb = 0
    end
  end
  if nb > 0 then added = added + rcall('ZADD', key, 'GT', unpack(ZB, 1, nb)) end
  return added
end
-- A KEYS entry's member set (:m), made once: a parent's is named by each of its children's links.
local mkeys = {}
local function mkeyOf(k)
  local m = mkeys[k]
  if m == nil then
    m = KEYS[k] .. ':m'
    mkeys[k] = m
  end
  return m
end
local nstr = {}
local bounds = {}
local out = {}
-- Each kind's index entries (score, key), added in one ZADD per kind before the eviction.
local ranks, nranks = {}, {}
local mlog, mmax, LOG2 = math.log, math.max, math.log(2)
local j, nS = 1, #S
while j <= nS do
  local h, kind, fr = S[j], S[j + 1], S[j + 2]
  j = j + 3
  local key = KEYS[h]
  local mkey = kind ~= 1 and mkeyOf(h) or nil
  local cur = held[h] or rcall('HMGET', key, 'a', 't', 'ts', 'p', 'u', 'x')
  local ca, ct, cts = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  -- the parent links and the refresh stamp as stored ('u', 'x': the 6th and 7th fields of a
  -- resolver-zone read, else the 5th and 6th)
  local cu, cx
  if held[h] then cu, cx = cur[6], tonumber(cur[7]) else cu, cx = cur[5], tonumber(cur[6]) end
  local p = cur[4] == '1'
  -- (new members added to :m, -1 when no ZADD ran)
  local added = -1
  local stale = false
  local sa, st_, sts
  if fr == 1 then
    -- the batch's sum for this subject: one (a, t, ts) when its records share a window end
    -- (summed by the caller in record order: the same sums), else each record's, folded here
    local nc = S[j]
    local xa, xt, xts = S[j + 1], S[j + 2], TM[S[j + 3]]
    for c = 1, nc - 1 do
      xa, xt, xts = addTo(xa, xt, xts, S[j + 1 + 3 * c], S[j + 2 + 3 * c], TM[S[j + 3 + 3 * c]])
    end
    j = j + 1 + 3 * nc
    local prot = S[j] == 1
    -- evidence: the newest cap fresh records' (ARGV[1 + record])
    local nev = S[j + 1]
    for q = 1, nev do EV[q] = ARGV[S[j + 1 + q] + 1] end
    j = j + 2 + nev
    local nmem = S[j]
    local memAt = j + 1
    j = j + 1 + 2 * nmem
    -- where this subject is a member (its parents' member sets), so evicting it takes it out
    -- of them: (parent key, code, member ref) triples of its last record that named any
    local nu = S[j]
    local u = nil
    if nu > 0 then
      u = {}
      for q = 0, nu - 1 do
        local k, code, ref = S[j + 1 + 3 * q], S[j + 2 + 3 * q], S[j + 3 + 3 * q]
        u[#u + 1] = code == 3 and KEYS[k] .. ':px' or mkeyOf(k)
        u[#u + 1] = code == 1 and Z[ref] or code == 2 and RES[ref] or PFX[ref]
      end
      u = table.concat(u, '\\n')
    end
    j = j + 1 + 3 * nu
    if ca == nil or cts == nil then
      ca, ct, cts = xa, xt, xts
    else
      ca, ct, cts = addTo(ca, ct, cts, xa, xt, xts)
    end
    if prot then p = true end
    sa, st_, sts = tostring(ca), tostring(ct), tstr[cts]
    if sts == nil then
      sts = tostring(cts)
      tstr[cts] = sts
    end
    -- one HSET: the resolver-zone hash's windows, changed parent links and a new refresh stamp
    -- go in the same write (a hash without a stamp is new, or was written before stamps were)
    HS[2], HS[4], HS[6], HS[8] = sa, st_, sts, p and '1' or '0'
    local nh = 8
    stale = cx == nil or NOW - cx > REFRESH
    if stale then
      HS[9], HS[10] = 'x', NOWS
      nh = 10
    end
    if dirty[h] then
      HS[nh + 1], HS[nh + 2] = 'w', table.concat(wins[h], ',')
      nh = nh + 2
      dirty[h] = nil
    end
    if u and u ~= cu then
      HS[nh + 1], HS[nh + 2] = 'u', u
      nh = nh + 2
    end
    rcall('HSET', key, unpack(HS, 1, nh))
    if stale then rcall('PEXPIRE', key, TTLX) end
    local evk = key .. ':ev'
    -- LPUSH answers the length: trim only a list that grew past the cap; a length of just the
    -- records pushed is a list made now, which needs its expiry
    local len = rcall('LPUSH', evk, unpack(EV, 1, nev))
    if len > cap then rcall('LTRIM', evk, 0, CAP1) end
    if stale or len == nev then rcall('PEXPIRE', evk, TTLX) end
    if mkey and nmem > 0 then
      added = zaddRefs(mkey, S, memAt, nmem, kind == 2 and 1 or 2)
    elseif mkey and stale then
      -- a refresh covers every key the subject has
      rcall('PEXPIRE', mkey, TTLX)
    end
    local r = ranks[kind]
    if r == nil then
      r = {}
      ranks[kind] = r
      nranks[kind] = 0
    end
    local nr = nranks[kind]
    r[nr + 1] = cts / hl + mlog(mmax(ca, 1e-9)) / LOG2
    r[nr + 2] = key
    nranks[kind] = nr + 2
  end
  local n = 1
  if mkey and cts ~= nil then
    local bound = bounds[cts]
    if bound == nil then
      bound = '(' .. tostring(cts - win)
      bounds[cts] = bound
    end
    local pruned = rcall('ZREMRANGEBYSCORE', mkey, '-inf', bound)
    n = rcall('ZCARD', mkey)
    -- Every member new (as many added as the set held before the prune) is a set made now
    -- (Redis keeps no empty set): it needs its expiry, as does any set at a refresh.
    if added >= 0 and (stale or added == n + pruned) then rcall('PEXPIRE', mkey, TTLX) end
    -- Members just added past maxm: the oldest go. The newest maxm of the recent ones are the
    -- recent ones among the newest maxm (recent = an upper range of scores), so trimming after
    -- the prune keeps the same members, and only when there is something to trim.
    if added >= 0 and n > maxm then
      rcall('ZREMRANGEBYRANK', mkey, 0, KEEPM)
      n = maxm
    end
  end
  local ns = nstr[n]
  if ns == nil then
    ns = tostring(n)
    nstr[n] = ns
  end
  -- (the strings just written when the subject was folded: the same tostring of the same numbers)
  out[h - 6] = (sa or tostring(ca or 0)) .. ',' .. (st_ or tostring(ct or 0)) .. ',' .. (sts or tostring(cts or 0)) .. ',' .. ns .. ',' .. (p and '1' or '0')
end
-- An ASN's offending prefixes: (KEYS index, n, n × (record, ts)) each
j = 1
while j <= #PX do
  local key = KEYS[PX[j]] .. ':px'
  local n = PX[j + 1]
  zaddRefs(key, PX, j + 2, n, 3)
  -- Only the newest members count: past maxm the oldest go (a count past the policy's
  -- thresholds changes nothing, and a flood's million resolvers would all be members).
  rcall('ZREMRANGEBYRANK', key, 0, KEEPM)
  rcall('PEXPIRE', key, TTL)
  j = j + 2 + 2 * n
end
for k in pairs(dirty) do
  rcall('HSET', KEYS[k], 'w', table.concat(wins[k], ','))
  rcall('PEXPIRE', KEYS[k], TTL)
end
for k, r in pairs(ranks) do
  local nr = nranks[k]
  for q = 1, nr, 1000 do rcall('ZADD', KEYS[k], unpack(r, q, math.min(q + 999, nr))) end
end
local evicted = 0
for k in pairs(ranks) do
  local over = rcall('ZCARD', KEYS[k]) - cfg.maxs
  if over > 0 then
    local gone = rcall('ZPOPMIN', KEYS[k], over)
    for i = 1, #gone, 2 do
      local u = rcall('HGET', gone[i], 'u')
      if u then
        local parent = nil
        for part in string.gmatch(u, '[^\\n]+') do
          if parent == nil then
            parent = part
          else
            rcall('ZREM', parent, part)
            parent = nil
          end
        end
      end
      rcall('UNLINK', gone[i], gone[i] .. ':ev', gone[i] .. ':m', gone[i] .. ':px')
      evicted = evicted + 1
    end
  end
  rcall('PEXPIRE', KEYS[k], TTL)
end
return { fresh, table.concat(out, ','), evicted }
`;
