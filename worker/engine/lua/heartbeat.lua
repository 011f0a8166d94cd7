-- Extend the lease of a publishing attempt, only while it is still ours.
-- KEYS: job, leases   ARGV: 1 id, 2 attempt id, 3 lease expiry ms
local v = redis.call('HMGET', KEYS[1], 's', 'at')
if v[1] == 'publishing' and v[2] == ARGV[2] then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
return 0
