-- Drop history rows that ended before ARGV[2] (at most ARGV[3] of them a call), with their index entries.
-- ARGV: prefix ("<prefix>history:"), before, batch. Returns how many went.
local prefix, before, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rows, time = prefix .. 'rows', prefix .. 'time'
local ids = redis.call('ZRANGEBYSCORE', time, '-inf', '(' .. before, 'LIMIT', 0, batch)
for _, id in ipairs(ids) do
  local text = redis.call('HGET', rows, id)
  if text then
    local row = cjson.decode(text)
    redis.call('ZREM', prefix .. 'key:' .. row['key'], id)
    if type(row['group']) == 'string' then redis.call('ZREM', prefix .. 'group:' .. row['group'], id) end
    redis.call('HDEL', rows, id)
  end
  redis.call('ZREM', time, id)
end
return #ids
