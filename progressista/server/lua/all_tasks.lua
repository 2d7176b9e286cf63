-- Every task, as the text of one JSON object {task_id: task}, in one round trip.
-- ARGV: prefix
local prefix = ARGV[1]
local parts = {}
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'ids')) do
  local flat = redis.call('HGETALL', prefix .. 'task:' .. id)
  if #flat > 0 then
    local fields, id_json = {}, nil
    for f = 1, #flat, 2 do
      fields[#fields + 1] = '"' .. flat[f] .. '":' .. flat[f + 1]
      if flat[f] == 'task_id' then id_json = flat[f + 1] end
    end
    parts[#parts + 1] = id_json .. ':{' .. table.concat(fields, ',') .. '}'
  end
end
return '{' .. table.concat(parts, ',') .. '}'
