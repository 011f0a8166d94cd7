-- Close a version once all its correction jobs are published.
-- KEYS: 1 original, 2 audit, 3 versions list, 4.. correction job keys
-- ARGV: 1 original id, 2 version, 3 by, 4 now, 5 maxlen, 6 new ref JSON ('' = keep),
--       7 first version record JSON ('' = none), 8 this version record JSON
-- Returns 1 when closed, 0 otherwise
local orig = KEYS[1]
local v = redis.call('HMGET', orig, 's', 'cv', 'ck', 'nj', 'ph', 'ec')
if v[1] ~= 'correcting' or v[2] ~= ARGV[2] then return 0 end
for i = 4, #KEYS do
  if redis.call('HGET', KEYS[i], 's') ~= 'published' then return 0 end
end
local to
if v[3] == 'retract' then
  to = 'retracted'
  redis.call('HSET', orig, 's', to, 'u', ARGV[4], 'v', ARGV[2])
else
  to = 'published'
  redis.call('HSET', orig, 's', to, 'u', ARGV[4], 'v', ARGV[2], 'j', v[4], 'h', v[5])
  if ARGV[6] ~= '' then
    redis.call('HSET', orig, 'ref', ARGV[6], 'ec', tostring(tonumber(v[6] or '0') + 1))
  end
end
redis.call('HDEL', orig, 'pj', 'ph', 'nj', 'cj', 'cv', 'ck', 'cw', 'cb')
if ARGV[7] ~= '' and redis.call('LLEN', KEYS[3]) == 0 then redis.call('RPUSH', KEYS[3], ARGV[7]) end
redis.call('RPUSH', KEYS[3], ARGV[8])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'job', ARGV[1], 'from', 'correcting',
           'to', to, 'by', ARGV[3], 'why', 'version ' .. ARGV[2] .. ' published', 'at', ARGV[4])
return 1
