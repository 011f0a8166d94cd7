-- Create the correction jobs of one original and move it to ``correcting``, atomically.
-- KEYS: 1 original, 2 audit, 3 due, 4.. correction job keys
-- ARGV: 1 original id, 2 expected states, 3 expected planned hash ('*' = any), 4 by, 5 why,
--       6 now, 7 audit maxlen, 8 JSON of fields to set on the original, 9 n corrections,
--       then per correction: id, due ms, JSON of its fields
-- Returns {1, from} or {0, current}
local orig, audit, due = KEYS[1], KEYS[2], KEYS[3]
local cur = redis.call('HGET', orig, 's') or '-'
local ok = false
for alt in string.gmatch(ARGV[2], '[^|]+') do if alt == cur then ok = true end end
if not ok then return {0, cur} end
if ARGV[3] ~= '*' and (redis.call('HGET', orig, 'ph') or '') ~= ARGV[3] then return {0, cur} end
local n = tonumber(ARGV[9])
for i = 0, n - 1 do
  local key = KEYS[4 + i]
  local id, score, fields = ARGV[10 + 3 * i], ARGV[11 + 3 * i], cjson.decode(ARGV[12 + 3 * i])
  local s = redis.call('HGET', key, 's')
  if (not s) or s == 'failed' or s == 'cancelled' then
    redis.call('DEL', key)
    local args = {'s', 'scheduled', 'u', ARGV[6]}
    for k, v in pairs(fields) do args[#args + 1] = k; args[#args + 1] = v end
    redis.call('HSET', key, unpack(args))
    redis.call('ZADD', due, score, id)
    redis.call('XADD', audit, 'MAXLEN', '~', ARGV[7], '*', 'job', id, 'from', s or '-',
               'to', 'scheduled', 'by', ARGV[4], 'why', ARGV[5], 'at', ARGV[6])
  end
end
local set = {'s', 'correcting', 'u', ARGV[6]}
for k, v in pairs(cjson.decode(ARGV[8])) do set[#set + 1] = k; set[#set + 1] = v end
redis.call('HSET', orig, unpack(set))
redis.call('XADD', audit, 'MAXLEN', '~', ARGV[7], '*', 'job', ARGV[1], 'from', cur,
           'to', 'correcting', 'by', ARGV[4], 'why', ARGV[5], 'at', ARGV[6])
return {1, cur}
