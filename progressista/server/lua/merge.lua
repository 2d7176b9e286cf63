-- Merge queued requests' events into tasks, atomically, then publish what changed.
--
-- Mirrors progressista.server.tasks.merge (tests run the same cases, and random
-- sequences, against both).
-- Task hash fields hold JSON-encoded values, so comparing and re-publishing a
-- task never decodes or re-encodes it. Each request is all or nothing: a request
-- whose new tasks do not fit under max_tasks (after evicting the oldest completed,
-- then the longest silent lost tasks: tasks.evictions) changes nothing and reports -1;
-- one that would create more than new_limit tasks (tasks.new_task_limit) reports -2.
--
-- ARGV: prefix, now (JSON number), max_tasks, new_limit, n_defaults, (field, value) * n_defaults,
--       then per request: n_events, then per event:
--       task_id, task_id as JSON, status, seq ('' when absent), n_fields, (field, value) * n_fields
-- Returns: one integer per request, the number of events that changed a task, or -1 or -2.

local prefix, now, max_tasks, new_limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids_key, done_key, lost_key = prefix .. 'ids', prefix .. 'done', prefix .. 'lost'
local counts_key = prefix .. 'counts'
local channel = prefix .. 'changes'
local n_defaults = tonumber(ARGV[5])
local defaults = {}
local i = 6
for _ = 1, n_defaults * 2 do
  defaults[#defaults + 1] = ARGV[i]
  i = i + 1
end

-- Filled in by the store when it loads this script (progressista/server/lua_scripts.py):
-- final statuses as JSON text (protocol.statuses.FINAL), and the fields that are not
-- progress by themselves (protocol.task.BOOKKEEPING).
local FINAL = { --[[FINAL]] }
local BOOKKEEPING = { --[[BOOKKEEPING]] }
local changed, changed_order, removed = {}, {}, {}

local function note_changed(id, id_json)
  if not changed[id] then
    changed[id] = id_json
    changed_order[#changed_order + 1] = id
  end
end

-- Tasks by status (a hash, status name -> n), moved with every status change so /health
-- and /metrics read them in O(1) (lua/indexes.lua rebuilds it at start).
local function recount(from_json, to_json)
  if from_json == to_json then return end
  if from_json then redis.call('HINCRBY', counts_key, string.sub(from_json, 2, -2), -1) end
  if to_json then redis.call('HINCRBY', counts_key, string.sub(to_json, 2, -2), 1) end
end

local function drop(id, id_json)
  local key = prefix .. 'task:' .. id
  recount(redis.call('HGET', key, 'status'), nil)
  redis.call('DEL', key)
  redis.call('SREM', ids_key, id)
  redis.call('ZREM', done_key, id)
  redis.call('ZREM', lost_key, id)
  changed[id] = nil
  removed[#removed + 1] = id_json
end

-- Read one request's events without applying them.
local function read_request()
  local events = {}
  local n_events = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n_events do
    local ev = { id = ARGV[i], id_json = ARGV[i + 1], status = ARGV[i + 2], seq = ARGV[i + 3] }
    local n_fields = tonumber(ARGV[i + 4])
    ev.first, ev.last = i + 5, i + 4 + n_fields * 2
    i = ev.last + 1
    events[#events + 1] = ev
  end
  return events
end

-- Drop up to `count` tasks of a sorted set, lowest score first, skipping the request's own
-- (`named` of them are in the set); returns how many are still to drop.
local function evict(key, count, named, seen)
  if count <= 0 then return 0 end
  for _, victim in ipairs(redis.call('ZRANGE', key, 0, count + named - 1)) do
    if count == 0 then break end
    if not seen[victim] then
      drop(victim, redis.call('HGET', prefix .. 'task:' .. victim, 'task_id'))
      count = count - 1
    end
  end
  return count
end

-- Make room for the request's new tasks: 0 when they fit, -1 when they cannot, -2 when
-- they are more than one request may create.
-- Completed and lost tasks the request names are never evicted for it (tasks.evictions: keep):
-- an event would create them again, over the cap, or reopen a closed one.
local function make_room(events)
  local new, named_done, named_lost, seen = 0, 0, 0, {}
  for _, ev in ipairs(events) do
    if not seen[ev.id] then
      seen[ev.id] = true
      if redis.call('EXISTS', prefix .. 'task:' .. ev.id) == 0 then
        new = new + 1
      elseif redis.call('ZSCORE', done_key, ev.id) then
        named_done = named_done + 1
      elseif redis.call('ZSCORE', lost_key, ev.id) then
        named_lost = named_lost + 1
      end
    end
  end
  if new > new_limit then return -2 end
  local excess = redis.call('SCARD', ids_key) + new - max_tasks
  if excess <= 0 then return 0 end
  local room = redis.call('ZCARD', done_key) - named_done + redis.call('ZCARD', lost_key) - named_lost
  if room < excess then return -1 end
  evict(lost_key, evict(done_key, excess, named_done, seen), named_lost, seen)
  return 0
end

-- The indexes evictions read: completed tasks by when they ended (and no merge leaves a task lost).
local function set_done(id, status_json)
  if FINAL[status_json] then
    redis.call('ZADD', done_key, now, id)
  else
    redis.call('ZREM', done_key, id)
  end
  redis.call('ZREM', lost_key, id)
end

-- Returns true when the task's state changed (what POST reports as "applied").
local function apply(ev)
  local key = prefix .. 'task:' .. ev.id
  local status_json = '"' .. ev.status .. '"'
  local current = redis.call('HGET', key, 'status')
  local fields = { 'task_id', ev.id_json, 'seen_at', now }
  for f = ev.first, ev.last do fields[#fields + 1] = ARGV[f] end

  if not current or (ev.status == 'start' and FINAL[current]) then
    -- a new task, or a new run of a finished one
    if current then redis.call('DEL', key) end
    redis.call('HSET', key, unpack(defaults))
    redis.call('HSET', key, 'created_at', now, 'updated_at', now, 'status', status_json, unpack(fields))
    redis.call('SADD', ids_key, ev.id)
    recount(current, status_json)
    set_done(ev.id, status_json)
    note_changed(ev.id, ev.id_json)
    return true
  end
  if ev.status ~= 'start' then
    if FINAL[current] then return false end
    if ev.seq ~= '' then
      local last = redis.call('HGET', key, 'seq')
      if last and last ~= 'null' and tonumber(ev.seq) < tonumber(last) then return false end
    end
  end

  local progress = ev.status ~= 'update' and status_json ~= current
  if not progress then
    for f = ev.first, ev.last, 2 do
      local name = ARGV[f]
      if not BOOKKEEPING[name] and redis.call('HGET', key, name) ~= ARGV[f + 1] then
        progress = true
        break
      end
    end
  end
  if progress then
    redis.call('HSET', key, 'status', status_json, 'updated_at', now, unpack(fields))
    recount(current, status_json)
    set_done(ev.id, status_json)
    note_changed(ev.id, ev.id_json)
    return true
  end
  -- Contact without progress (a heartbeat): seen_at moves; a lost task is alive again.
  if current == '"lost"' then
    redis.call('HSET', key, 'status', '"update"', unpack(fields))
    recount(current, '"update"')
    set_done(ev.id, '"update"')
    note_changed(ev.id, ev.id_json)
    return true
  end
  redis.call('HSET', key, unpack(fields))
  return false
end

local results = {}
while i <= #ARGV do
  local events = read_request()
  local refused = make_room(events)
  if refused == 0 then
    local applied = 0
    for _, ev in ipairs(events) do
      if apply(ev) then applied = applied + 1 end
    end
    results[#results + 1] = applied
  else
    results[#results + 1] = refused
  end
end

-- Publish the new state of every changed task, built from the stored JSON texts.
if #changed_order > 0 or #removed > 0 then
  local parts = {}
  for _, id in ipairs(changed_order) do
    if changed[id] then
      local flat = redis.call('HGETALL', prefix .. 'task:' .. id)
      local fields = {}
      for f = 1, #flat, 2 do fields[#fields + 1] = '"' .. flat[f] .. '":' .. flat[f + 1] end
      parts[#parts + 1] = changed[id] .. ':{' .. table.concat(fields, ',') .. '}'
    end
  end
  redis.call('PUBLISH', channel,
    '{"tasks":{' .. table.concat(parts, ',') .. '},"removed":[' .. table.concat(removed, ',') .. ']}')
end
return results
