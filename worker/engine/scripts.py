"""The Lua scripts behind ``worker.engine.store``: every state transition is one of these.

Each script checks the expected current state (and, where it matters, the attempt id or
dispatch token) and writes the audit entry in the same atomic step, so a transition and its
audit line can never be separated and two processes can never both win the same transition.
Job keys are built inside the scripts from the prefix passed in ARGV: this is fine on a single
Redis (our deployment), not on Redis Cluster.
"""

#: A generic guarded transition of one job.
#: KEYS: job, audit, due, leases, held
#: ARGV: 1 id, 2 expected states ('a|b', '-' = absent, '*' = any existing), 3 to-state, 4 by,
#:       5 why, 6 now_ms, 7 check field ('' = none), 8 accepted values ('a|b', '~' = absent),
#:       9/10/11 due/lease/held op ('' keep, '-' remove, else score), 12 audit maxlen,
#:       13 n field pairs to set, then the pairs, then the fields to delete.
#: Returns {1, from} or {0, current_state, actual_check_value}.
TRANSITION = """
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
  local actual = redis.call('HGET', jobkey, checkf) or '~'
  if not member(actual, checkv) then return {0, cur, actual} end
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
"""

#: Claim the due jobs: scheduled (or held go-live / quota re-checks) whose instant <= ARGV[1].
#: Paused ones go to ``held`` instead. Claimed ones become ``dispatched`` with a fresh token
#: and a dispatch lease, so a message lost between claim and send is recovered by the reaper.
#: KEYS: due, leases, held, pauses, audit, token counter
#: ARGV: 1 upto_ms, 2 limit, 3 job key prefix, 4 dispatch lease expiry ms, 5 by, 6 now_ms,
#:       7 audit maxlen
#: Returns a flat list: id, token, send_at_ms, id, token, send_at_ms, ...
CLAIM_DUE = """
local due, leases, held, pauses, audit, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local rows = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #rows, 2 do
  local id, score = rows[i], rows[i + 1]
  local key = ARGV[3] .. id
  local v = redis.call('HMGET', key, 's', 'a', 'dp', 'r')
  local s, reason = v[1], v[4]
  redis.call('ZREM', due, id)
  if s == 'scheduled' or (s == 'held' and (reason == 'golive_waiting'
                                             or reason == 'instagram_quota')) then
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
"""

#: Expired leases: dispatched -> scheduled again (message lost), publishing -> uncertain
#: (worker died mid-call: only lookup may decide), uncertain -> re-check. The lease score is
#: pushed to ARGV[4] so that two reapers never resolve the same job at once.
#: KEYS: leases, due, audit   ARGV: 1 now_ms, 2 limit, 3 prefix, 4 next check ms, 5 by, 6 maxlen
#: Returns a flat list of id, attempt_id to resolve through lookup.
REAP = """
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
"""

#: Extend the lease of a publishing attempt, only while it is still ours.
#: KEYS: job, leases   ARGV: 1 id, 2 attempt id, 3 lease expiry ms
HEARTBEAT = """
local v = redis.call('HMGET', KEYS[1], 's', 'at')
if v[1] == 'publishing' and v[2] == ARGV[2] then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
