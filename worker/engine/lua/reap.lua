-- Expired leases: dispatched -> scheduled again (message lost), publishing -> uncertain
-- (worker died mid-call: only lookup may decide), uncertain -> re-check. The lease score is
-- pushed to ARGV[4] so that two reapers never resolve the same job at once.
-- KEYS: leases, due, audit   ARGV: 1 now_ms, 2 limit, 3 prefix, 4 next check ms, 5 by, 6 maxlen
-- Returns a flat list of id, attempt_id to resolve through lookup.
local leases, due, audit = KEYS[1], KEYS[2], KEYS[3]
local rows = redis.call('ZRANGEBYSCORE', leases, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(rows) do
  local key = ARGV[3] .. id
  local v = redis.call('HMGET', key, 's', 'at')
  local s = v[1]
  if s == 'dispatched' then
    redis.call('HSET', key, 's', 'scheduled', 'u', ARGV[1])
    redis.call('HDEL', key, 't')
    redis.call('ZREM', leases, id)
    redis.call('ZADD', due, ARGV[1], id)
    redis.call('XADD', audit, 'MAXLEN', '~', ARGV[6], '*', 'job', id, 'from', s, 'to', 'scheduled',
               'by', ARGV[5], 'why', 'dispatch lease expired (message lost?)', 'at', ARGV[1])
  elseif s == 'publishing' or s == 'uncertain' then
    if s == 'publishing' then
      redis.call('HSET', key, 's', 'uncertain', 'u', ARGV[1])
      redis.call('XADD', audit, 'MAXLEN', '~', ARGV[6], '*', 'job', id, 'from', s, 'to', 'uncertain',
                 'by', ARGV[5], 'why', 'publish lease expired (worker died?): lookup decides', 'at', ARGV[1])
    end
    redis.call('ZADD', leases, ARGV[4], id)
    out[#out + 1] = id; out[#out + 1] = v[2] or ''
  else
    redis.call('ZREM', leases, id)
  end
end
return out
