-- Index the lost tasks by their last contact, for eviction at the cap (merge.lua's make_room):
-- for tasks marked lost by a server from before the index existed. Idempotent.
-- ARGV: prefix. Returns how many tasks it added.
local prefix = ARGV[1]
local lost_key = prefix .. 'lost'
local added = 0
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'ids')) do
  local found = redis.call('HMGET', prefix .. 'task:' .. id, 'status', 'seen_at')
  if found[1] == '"lost"' and not redis.call('ZSCORE', lost_key, id) then
    redis.call('ZADD', lost_key, found[2], id)
    added = added + 1
  end
end
return added
