/**
 * The report store's write, the Redis side: one Lua program per chunk of (record, scope) entries
 * (ReportRepository.record builds its KEYS/ARGV). Apart from its caller because it is a program
 * of its own, in another language, that must stay in step with the argument layout below.
 *
 * Per scope (an alert, or a zone's time bucket), hashes keyed by resolver:
 *   :agg  "attackQueries,totalQueries,activeMs,firstSeen,lastSeen,peakQps,evidenceCount,w1 w2 …"
 *         (summed; w… the starts of the newest WINDOWS_KEPT windows folded, ascending: dedupe)
 *   :enr  the enrichment block JSON (latest)
 *   :ev   evidence samples JSON (first maxEv)
 *   :evicted  rows, attackQueries, totalQueries of the rows evicted from this scope
 * and one index for every scope, `report:rows` (ZSET "<scope>|<resolver>" → rank): at most `cap`
 * rows in all. Past it the lowest ranks are evicted, inside this same call, with their three
 * fields, and added to their scope's :evicted. Rank = last seen (whole seconds) × 2^20 + attack
 * queries in the scope (capped at 2^20 − 1): the least recently seen go first — a new attack
 * always finds room, old data leaves before the retention would take it — and among rows last
 * seen in the same second the smallest attackers go first, so what the tables lose is the least
 * of the attack's queries. Both fit a double exactly (< 2^52).
 *
 * Dedupe (Kafka delivery is at-least-once): a record whose window start is among its row's kept
 * windows, or older than all of them once WINDOWS_KEPT are kept, is a duplicate (one resolver's
 * records in one zone arrive in window order: offenders are keyed by zone). The dedupe state
 * lives in the row, so an evicted row leaves nothing behind; a redelivered record of an evicted
 * row counts again (in a new row, which the cap treats as any other).
 *
 * KEYS[1] = the index; then per scope its :agg, :enr and :ev (scope b at KEYS[2 + 3(b − 1)]).
 * Evicted rows' keys are derived from the index member (standalone Redis, as the rest of Sluice),
 * with the client's key prefix, passed in.
 * ARGV[1] = JSON [maxEv, ttl, recs, entries, cap, keyPrefix, scopes]: recs 7 per record
 * (windowStart as a string, attackQueries, totalQueries, windowMs, windowStart, windowEnd, qps);
 * entries 2 per (record, scope): the record's index from 0, the scope's from 1; scopes the scope
 * names (unprefixed). ARGV[2 + 3r .. 4 + 3r] = record r's resolver, block JSON and evidence JSON
 * (their own arguments: nested in ARGV[1] they would be escaped by JSON.stringify, unescaped by
 * cjson).
 * Returns {rows written, rows evicted}.
 */
export const RECORD_LUA = `
local cfg = cjson.decode(ARGV[1])
local maxEv, ttl, recs, entries, cap, pfx, scopes = cfg[1], cfg[2], cfg[3], cfg[4], cfg[5], cfg[6], cfg[7]
local IDX = KEYS[1]
local WINDOWS_KEPT = 8
local written = 0
for x = 1, #entries, 2 do
  local r, b = entries[x], entries[x + 1]
  local a = r * 7
  local kb = 2 + (b - 1) * 3
  local kAgg, kEnr, kEv = KEYS[kb], KEYS[kb + 1], KEYS[kb + 2]
  local resolver = ARGV[2 + r * 3]
  local ws = tonumber(recs[a + 1])
  local aq, tq, ms = recs[a + 2], recs[a + 3], recs[a + 4]
  local first, last, peak = recs[a + 5], recs[a + 6], recs[a + 7]
  local evCount = 0
  local wins = {}
  local dup = false
  local cur = redis.call('HGET', kAgg, resolver)
  if cur then
    local p1, p2, p3, p4, p5, p6, p7, w = string.match(cur, '^([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),?(.*)$')
    for s in string.gmatch(w, '[^ ]+') do
      local n = tonumber(s)
      if n == ws then dup = true end
      table.insert(wins, n)
    end
    if #wins >= WINDOWS_KEPT and ws < wins[1] then dup = true end
    aq = aq + tonumber(p1); tq = tq + tonumber(p2); ms = ms + tonumber(p3)
    first = math.min(first, tonumber(p4)); last = math.max(last, tonumber(p5)); peak = math.max(peak, tonumber(p6))
    evCount = tonumber(p7)
  end
  if not dup then
    table.insert(wins, ws)
    table.sort(wins)
    while #wins > WINDOWS_KEPT do table.remove(wins, 1) end
    for i = 1, #wins do wins[i] = string.format('%.0f', wins[i]) end
    -- evidence: only touched while the row has fewer than maxEv samples
    local evidence = ARGV[4 + r * 3]
    if evCount < maxEv and evidence ~= '[]' then
      local ev = cjson.decode(evidence)
      local list = {}
      if evCount > 0 then list = cjson.decode(redis.call('HGET', kEv, resolver)) end
      for i = 1, #ev do
        if #list >= maxEv then break end
        table.insert(list, ev[i])
      end
      evCount = #list
      redis.call('HSET', kEv, resolver, cjson.encode(list))
    end
    redis.call('HSET', kAgg, resolver, string.format('%.0f,%.0f,%.0f,%.0f,%.0f,%.6f,%d,', aq, tq, ms, first, last, peak, evCount) .. table.concat(wins, ' '))
    redis.call('HSET', kEnr, resolver, ARGV[3 + r * 3])
    local rank = math.floor(last / 1000) * 1048576 + math.min(aq, 1048575)
    redis.call('ZADD', IDX, string.format('%.0f', rank), scopes[b] .. '|' .. resolver)
    written = written + 1
  end
end
-- KEYS are distinct: a call's records share a few scopes, each named once
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ttl)
end
local evicted = 0
local excess = redis.call('ZCARD', IDX) - cap
if excess > 0 then
  local popped = redis.call('ZPOPMIN', IDX, excess)
  -- per scope: rows, attack and total queries evicted, added to its :evicted once per call
  local gone, order = {}, {}
  for i = 1, #popped, 2 do
    local scope, resolver = string.match(popped[i], '^(.*)|([^|]*)$')
    if scope then
      local kAgg = pfx .. scope .. ':agg'
      local v = redis.call('HGET', kAgg, resolver)
      -- nothing to count when the scope expired (retention) before its rows were evicted
      if v then
        local q1, q2 = string.match(v, '^([^,]+),([^,]+),')
        local g = gone[scope]
        if g == nil then
          g = {0, 0, 0}
          gone[scope] = g
          table.insert(order, scope)
        end
        g[1], g[2], g[3] = g[1] + 1, g[2] + tonumber(q1), g[3] + tonumber(q2)
        redis.call('HDEL', kAgg, resolver)
        redis.call('HDEL', pfx .. scope .. ':ev', resolver)
        redis.call('HDEL', pfx .. scope .. ':enr', resolver)
        evicted = evicted + 1
      end
    end
  end
  for _, scope in ipairs(order) do
    local g, kX = gone[scope], pfx .. scope .. ':evicted'
    redis.call('HINCRBY', kX, 'rows', g[1])
    redis.call('HINCRBY', kX, 'attackQueries', string.format('%.0f', g[2]))
    redis.call('HINCRBY', kX, 'totalQueries', string.format('%.0f', g[3]))
    -- as long as the scope's rows: :enr is written with every row (gone with the last, then the retention)
    local left = redis.call('TTL', pfx .. scope .. ':enr')
    redis.call('EXPIRE', kX, left > 0 and left or ttl)
  end
end
return {written, evicted}
`;
