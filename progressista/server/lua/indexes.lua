-- Rebuild what is derived from the tasks: the lost index (lost task ids by their last contact,
-- for eviction at the cap: merge.lua's make_room) and the counts by status (what /health and
-- /metrics read). Run at start, for tasks written by a server from before either existed;
-- atomic and idempotent, so a second server starting beside a running one changes nothing.
-- ARGV: prefix. Returns how many tasks it read.
local prefix = ARGV[1]
local lost_key, counts_key = prefix .. 'lost', prefix .. 'counts'
local counts, read = {}, 0
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'ids')) do
  local found = redis.call('HMGET', prefix .. 'task:' .. id, 'status', 'seen_at')
  if found[1] then
    read = read + 1
    local status = string.sub(found[1], 2, -2)
    counts[status] = (counts[status] or 0) + 1
    if status == 'lost' and not redis.call('ZSCORE', lost_key, id) then
      redis.call('ZADD', lost_key, found[2], id)
    end
  end
end
redis.call('DEL', counts_key)
for status, n in pairs(counts) do redis.call('HSET', counts_key, status, n) end
return read
