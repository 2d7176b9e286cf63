-- Remove tasks by id (and, for lifecycle passes, mark some stale or lost), only if
-- nothing was heard from them since the caller looked; publish what changed.
--
-- ARGV: prefix, then triples (op, task_id, expected seen_at as stored, or '' for any)
--   op 'x': remove the task;  op 's': mark an active task stale;  op 'l': mark an open task lost.
-- Returns: the ids removed, then '|', then the ids marked.
local prefix = ARGV[1]
local ids_key, done_key, lost_key = prefix .. 'ids', prefix .. 'done', prefix .. 'lost'
local counts_key = prefix .. 'counts'  -- tasks by status, as merge.lua keeps it
local channel = prefix .. 'changes'
-- Active statuses as JSON text (protocol.statuses.ACTIVE), filled in when the store loads this script.
local ACTIVE = { --[[ACTIVE]] }
local removed, removed_json, marked, marked_parts = {}, {}, {}, {}
for i = 2, #ARGV, 3 do
  local op, id, expected = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = prefix .. 'task:' .. id
  local current = redis.call('HMGET', key, 'seen_at', 'status', 'task_id')
  if current[1] and (expected == '' or current[1] == expected) then
    if op == 'x' then
      redis.call('DEL', key)
      redis.call('SREM', ids_key, id)
      redis.call('ZREM', done_key, id)
      redis.call('ZREM', lost_key, id)
      redis.call('HINCRBY', counts_key, string.sub(current[2], 2, -2), -1)
      removed[#removed + 1] = id
      removed_json[#removed_json + 1] = current[3]
    elseif (op == 's' and ACTIVE[current[2]]) or (op == 'l' and (ACTIVE[current[2]] or current[2] == '"stale"')) then
      local status = op == 's' and 'stale' or 'lost'
      redis.call('HSET', key, 'status', '"' .. status .. '"')
      redis.call('HINCRBY', counts_key, string.sub(current[2], 2, -2), -1)
      redis.call('HINCRBY', counts_key, status, 1)
      -- lost tasks are evicted at the cap, longest silent first (merge.lua's make_room)
      if op == 'l' then redis.call('ZADD', lost_key, current[1], id) end
      marked[#marked + 1] = id
      local flat = redis.call('HGETALL', key)
      local fields = {}
      for f = 1, #flat, 2 do fields[#fields + 1] = '"' .. flat[f] .. '":' .. flat[f + 1] end
      marked_parts[#marked_parts + 1] = current[3] .. ':{' .. table.concat(fields, ',') .. '}'
    end
  end
end
if #removed > 0 or #marked > 0 then
  redis.call('PUBLISH', channel,
    '{"tasks":{' .. table.concat(marked_parts, ',') .. '},"removed":[' .. table.concat(removed_json, ',') .. ']}')
end
removed[#removed + 1] = '|'
for _, id in ipairs(marked) do removed[#removed + 1] = id end
return removed
