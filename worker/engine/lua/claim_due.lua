-- Claim the due jobs: scheduled (or held for a gate's re-check) whose instant <= ARGV[1].
-- Paused ones go to ``held`` instead. Claimed ones become ``dispatched`` with a fresh token
-- and a dispatch lease, so a message lost between claim and send is recovered by the reaper.
-- KEYS: due, leases, held, pauses, audit, token counter
-- ARGV: 1 upto_ms, 2 limit, 3 job key prefix, 4 dispatch lease expiry ms, 5 by, 6 now_ms,
--       7 audit maxlen, 8 the hold reasons a gate re-checks ('a|b': states.RECHECKED_HOLDS)
-- Returns a flat list: id, token, send_at_ms, id, token, send_at_ms, ...
local due, leases, held, pauses, audit, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local rows = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
local rechecked = {}
for reason in string.gmatch(ARGV[8], '[^|]+') do rechecked[reason] = true end
for i = 1, #rows, 2 do
  local id, score = rows[i], rows[i + 1]
  local key = ARGV[3] .. id
  local v = redis.call('HMGET', key, 's', 'a', 'dp', 'r')
  local s, reason = v[1], v[4]
  redis.call('ZREM', due, id)
  if s == 'scheduled' or (s == 'held' and rechecked[reason or '']) then
    local paused = redis.call('HEXISTS', pauses, 'all') == 1
      or redis.call('HEXISTS', pauses, 'account:' .. (v[2] or '')) == 1
      or redis.call('HEXISTS', pauses, 'department:' .. (v[3] or '')) == 1
    if paused then
      redis.call('HSET', key, 's', 'held', 'r', 'paused', 'u', ARGV[6])
      redis.call('ZADD', held, score, id)
      redis.call('XADD', audit, 'MAXLEN', '~', ARGV[7], '*', 'job', id, 'from', s, 'to', 'held',
                 'by', ARGV[5], 'why', 'paused when due', 'at', ARGV[6])
    else
      local token = tostring(redis.call('INCR', seq))
      redis.call('HSET', key, 's', 'dispatched', 't', token, 'u', ARGV[6])
      redis.call('ZADD', leases, ARGV[4], id)
      redis.call('XADD', audit, 'MAXLEN', '~', ARGV[7], '*', 'job', id, 'from', s,
                 'to', 'dispatched', 'by', ARGV[5], 'why', 'due', 'at', ARGV[6])
      out[#out + 1] = id; out[#out + 1] = token; out[#out + 1] = score
    end
  end
end
return out
