-- Remove tasks by id (and, for lifecycle passes, mark some stale), only if they
-- are still as the caller saw them; publish what changed.
--
-- ARGV: prefix, then triples (op, task_id, expected updated_at as stored, or '' for any)
--   op 'x': remove the task;  op 's': mark an active task stale.
-- Returns: the ids removed, then '|', then the ids marked stale.
local prefix = ARGV[1]
local ids_key, done_key, channel = prefix .. 'ids', prefix .. 'done', prefix .. 'changes'
local removed, removed_json, staled, stale_parts = {}, {}, {}, {}
for i = 2, #ARGV, 3 do
  local op, id, expected = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = prefix .. 'task:' .. id
  local current = redis.call('HMGET', key, 'updated_at', 'status', 'task_id')
  if current[1] and (expected == '' or current[1] == expected) then
    if op == 'x' then
      redis.call('DEL', key)
      redis.call('SREM', ids_key, id)
      redis.call('ZREM', done_key, id)
      removed[#removed + 1] = id
      removed_json[#removed_json + 1] = current[3]
    elseif op == 's' and (current[2] == '"start"' or current[2] == '"update"') then
      redis.call('HSET', key, 'status', '"stale"')
      staled[#staled + 1] = id
      local flat = redis.call('HGETALL', key)
      local fields = {}
      for f = 1, #flat, 2 do fields[#fields + 1] = '"' .. flat[f] .. '":' .. flat[f + 1] end
      stale_parts[#stale_parts + 1] = current[3] .. ':{' .. table.concat(fields, ',') .. '}'
    end
  end
end
if #removed > 0 or #staled > 0 then
  redis.call('PUBLISH', channel,
    '{"tasks":{' .. table.concat(stale_parts, ',') .. '},"removed":[' .. table.concat(removed_json, ',') .. ']}')
end
removed[#removed + 1] = '|'
for _, id in ipairs(staled) do removed[#removed + 1] = id end
return removed
