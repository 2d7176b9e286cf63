-- Keep history rows, each once, with the indexes they are read by; drop the oldest past the cap.
-- ARGV: prefix ("<prefix>history:"), max rows, successes kept per key, then the batch in two arguments
-- (not eight a row: the server packs each argument in Python, and that cost more than the rows' JSON):
--   FIELDS, a JSON array holding per row [id, key, group ("" for none), status, ended_at, duration,
--   rate ("" for none)], all texts (the scores and the ok: entries keep Python's exact float text);
--   ROWS, the rows' JSON texts in the same order, one a line (JSON text holds no raw newline).
-- Keys: rows (hash id -> JSON), time (zset by ended_at), key:<key> and group:<group> (zsets),
--   ok:<key> (list of "duration rate" of its last successful runs, newest first).
local prefix, max_rows, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local fields = cjson.decode(ARGV[4])
local _, newlines = string.gsub(ARGV[5], '\n', '')
local texts = ARGV[5] == '' and 0 or newlines + 1
if texts ~= #fields then  -- checked before anything is written: a script's error undoes nothing
  return redis.error_reply('history_add: ' .. #fields .. ' rows of fields, ' .. texts .. ' of JSON')
end
local rows, time = prefix .. 'rows', prefix .. 'time'
local added, i = 0, 0
for text in string.gmatch(ARGV[5], '[^\n]+') do
  i = i + 1
  local id, key, group, status, ended, duration, rate = unpack(fields[i])
  if redis.call('HSETNX', rows, id, text) == 1 then
    added = added + 1
    redis.call('ZADD', time, ended, id)
    redis.call('ZADD', prefix .. 'key:' .. key, ended, id)
    if group ~= '' then redis.call('ZADD', prefix .. 'group:' .. group, ended, id) end
    if status == 'close' then
      redis.call('LPUSH', prefix .. 'ok:' .. key, duration .. ' ' .. rate)
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
