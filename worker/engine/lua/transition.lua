-- A generic guarded transition of one job.
-- KEYS: job, audit, due, leases, held
-- ARGV: 1 id, 2 expected states ('a|b', '-' = absent, '*' = any existing), 3 to-state, 4 by,
--       5 why, 6 now_ms, 7 check field ('' = none; 'f,g' = several), 8 accepted values
--       ('a|b', '~' = absent; 'a|b,~' = per field),
--       9/10/11 due/lease/held op ('' keep, '-' remove, else score), 12 audit maxlen,
--       13 n field pairs to set, then the pairs, then the fields to delete.
-- Returns {1, from} or {0, current_state, actual_check_value}.
local jobkey, auditkey = KEYS[1], KEYS[2]
local id, expect, to, by, why, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local checkf, checkv = ARGV[7], ARGV[8]
local nset = tonumber(ARGV[13])
local function member(value, alternatives)
  for alt in string.gmatch(alternatives, '[^|]+') do
    if alt == value then return true end
  end
  return false
end
local cur = redis.call('HGET', jobkey, 's') or '-'
if expect == '*' then
  if cur == '-' then return {0, cur} end
elseif not member(cur, expect) then
  return {0, cur}
end
if checkf ~= '' then
  -- one or more fields ('r,tp'), each with its accepted values ('a|b,~')
  local values = {}
  for v in string.gmatch(checkv .. ',', '([^,]*),') do values[#values + 1] = v end
  local i = 0
  for f in string.gmatch(checkf, '[^,]+') do
    i = i + 1
    local actual = redis.call('HGET', jobkey, f) or '~'
    if not member(actual, values[i] or '') then return {0, cur, actual} end
  end
end
local args = {'s', to}
for i = 0, nset - 1 do
  args[#args + 1] = ARGV[14 + 2 * i]
  args[#args + 1] = ARGV[15 + 2 * i]
end
redis.call('HSET', jobkey, unpack(args))
local first_del = 14 + 2 * nset
if #ARGV >= first_del then
  redis.call('HDEL', jobkey, unpack(ARGV, first_del, #ARGV))
end
local function zop(key, op)
  if op == '-' then redis.call('ZREM', key, id)
  elseif op ~= '' then redis.call('ZADD', key, op, id) end
end
zop(KEYS[3], ARGV[9]); zop(KEYS[4], ARGV[10]); zop(KEYS[5], ARGV[11])
redis.call('XADD', auditkey, 'MAXLEN', '~', ARGV[12], '*',
           'job', id, 'from', cur, 'to', to, 'by', by, 'why', why, 'at', now)
return {1, cur}
