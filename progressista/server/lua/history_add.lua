-- Keep history rows, each once, with the indexes they are read by; drop the oldest past the cap.
-- ARGV: prefix ("<prefix>history:"), max rows, successes kept per key, then per row:
--   id, key, group ("" for none), status, ended_at, duration, rate ("" for none), row JSON
-- Keys: rows (hash id -> JSON), time (zset by ended_at), key:<key> and group:<group> (zsets),
--   ok:<key> (list of "duration rate" of its last successful runs, newest first).
local prefix, max_rows, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rows, time = prefix .. 'rows', prefix .. 'time'
local added = 0
for i = 4, #ARGV, 8 do
  local id, key, group, status, ended = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if redis.call('HSETNX', rows, id, ARGV[i + 7]) == 1 then
    added = added + 1
    redis.call('ZADD', time, ended, id)
    redis.call('ZADD', prefix .. 'key:' .. key, ended, id)
    if group ~= '' then redis.call('ZADD', prefix .. 'group:' .. group, ended, id) end
    if status == 'close' then
      redis.call('LPUSH', prefix .. 'ok:' .. key, ARGV[i + 5] .. ' ' .. ARGV[i + 6])
      redis.call('LTRIM', prefix .. 'ok:' .. key, 0, keep - 1)
    end
  end
end
local excess = redis.call('ZCARD', time) - max_rows
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', time, 0, excess - 1)) do
    local text = redis.call('HGET', rows, id)
    if text then
      local row = cjson.decode(text)
      redis.call('ZREM', prefix .. 'key:' .. row['key'], id)
      if type(row['group']) == 'string' then redis.call('ZREM', prefix .. 'group:' .. row['group'], id) end
      redis.call('HDEL', rows, id)
    end
  end
  redis.call('ZREMRANGEBYRANK', time, 0, excess - 1)
end
return added
