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
-- Each task this call touches is read once (one HGETALL) into `cache`, which every later
-- read of it uses and every write keeps up to date: an event costs one HSET, an index is
-- touched only when a status enters or leaves it, and the publish reads nothing (two
-- commands an event where there were ten; Redis serves every server, so its time counts).
--
-- ARGV: prefix, now (JSON number), max_tasks, new_limit, n_defaults, (field, value) * n_defaults,
--       then one ARGV per request: a JSON array (one argument, not one per field: redis-py packs
--       each argument in Python), holding per event:
--       task_id, task_id as JSON, status, seq ('' when absent), n_fields, (field, value) * n_fields
-- Returns: one integer per request, the number of events that changed a task, or -1 or -2;
-- then the microseconds this call ran in Redis (the store tells its round trip from that).

local began = redis.call('TIME')
local prefix, now, max_tasks, new_limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ids_key, done_key, lost_key = prefix .. 'ids', prefix .. 'done', prefix .. 'lost'
local counts_key = prefix .. 'counts'
local channel = prefix .. 'changes'
local n_defaults = tonumber(ARGV[5])
local defaults = {}
for d = 6, 5 + n_defaults * 2 do defaults[#defaults + 1] = ARGV[d] end
local first_request = 6 + n_defaults * 2

-- Filled in by the store when it loads this script (progressista/server/lua_scripts.py):
-- final statuses as JSON text (protocol.statuses.FINAL), and the fields that are not
-- progress by themselves (protocol.task.BOOKKEEPING).
local FINAL = { --[[FINAL]] }
local BOOKKEEPING = { --[[BOOKKEEPING]] }
local LOST = '"lost"'
local changed, changed_order, removed = {}, {}, {}

-- Tasks as this call knows them: id -> { values = {field -> JSON text}, flat = HGETALL's reply
-- (its odd entries give the fields' order), added = {fields not in flat} }, or false: no such task.
local cache = {}

local function load(id)
  local task = cache[id]
  if task == nil then
    local flat = redis.call('HGETALL', prefix .. 'task:' .. id)
    if #flat == 0 then
      task = false
    else
      local values = {}
      for f = 1, #flat, 2 do values[flat[f]] = flat[f + 1] end
      task = { values = values, flat = flat, added = {} }
    end
    cache[id] = task
  end
  return task
end

-- Set fields of a task, in Redis and in the cache: `pairs` is a list (field, value, ...).
local function write(id, task, pairs)
  local values, added = task.values, task.added
  for f = 1, #pairs, 2 do
    local name = pairs[f]
    if values[name] == nil then added[#added + 1] = name end
    values[name] = pairs[f + 1]
  end
  redis.call('HSET', prefix .. 'task:' .. id, unpack(pairs))
end

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

local function drop(id)
  local key = prefix .. 'task:' .. id
  local task = cache[id]
  local status, id_json
  if task then
    status, id_json = task.values.status, task.values.task_id
  else
    local found = redis.call('HMGET', key, 'status', 'task_id')
    status, id_json = found[1], found[2]
  end
  recount(status, nil)
  redis.call('DEL', key)
  redis.call('SREM', ids_key, id)
  redis.call('ZREM', done_key, id)
  redis.call('ZREM', lost_key, id)
  cache[id] = false
  changed[id] = nil
  removed[#removed + 1] = id_json
end

-- One request's events, as the index of each in `args` (its entries follow: see ARGV above).
local function read_request(args)
  local events = {}
  local i = 1
  while i <= #args do
    events[#events + 1] = i
    i = i + 5 + args[i + 4] * 2
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
      drop(victim)
      count = count - 1
    end
  end
  return count
end

-- Make room for the request's new tasks: 0 when they fit, -1 when they cannot, -2 when
-- they are more than one request may create.
-- Completed and lost tasks the request names are never evicted for it (tasks.evictions: keep):
-- an event would create them again, over the cap, or reopen a closed one.
-- A task is in `done` exactly when its status is final and in `lost` exactly when it is lost
-- (set_done here, lua/remove.lua, lua/indexes.lua), so its status tells which.
local function make_room(args, events)
  local new, named_done, named_lost, seen = 0, 0, 0, {}
  for _, ev in ipairs(events) do
    local id = args[ev]
    if not seen[id] then
      seen[id] = true
      local task = load(id)
      if not task then
        new = new + 1
      elseif FINAL[task.values.status] then
        named_done = named_done + 1
      elseif task.values.status == LOST then
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

-- The indexes evictions read: completed tasks by when they ended, lost ones (no merge leaves a
-- task lost). A task already stored moves in them only when its status enters or leaves one;
-- a new one (`from_json` nil) clears whatever an older server may have left.
local function set_done(id, from_json, to_json)
  if FINAL[to_json] then
    redis.call('ZADD', done_key, now, id)
  elseif FINAL[from_json] or not from_json then
    redis.call('ZREM', done_key, id)
  end
  if from_json == LOST or not from_json then redis.call('ZREM', lost_key, id) end
end

-- Returns true when the task's state changed (what POST reports as "applied").
local function apply(args, ev)
  local id, id_json, status, seq = args[ev], args[ev + 1], args[ev + 2], args[ev + 3]
  local first, last = ev + 5, ev + 4 + args[ev + 4] * 2
  local task = load(id)
  local status_json = '"' .. status .. '"'
  local current = task and task.values.status
  local fields = { 'task_id', id_json, 'seen_at', now }
  for f = first, last do fields[#fields + 1] = args[f] end

  if not task or (status == 'start' and FINAL[current]) then
    -- a new task, or a new run of a finished one: its defaults, then the event
    if task then redis.call('DEL', prefix .. 'task:' .. id) end
    task = { values = {}, flat = {}, added = {} }
    cache[id] = task
    local all = {}
    for d = 1, #defaults do all[d] = defaults[d] end
    for _, v in ipairs({ 'created_at', now, 'updated_at', now, 'status', status_json }) do all[#all + 1] = v end
    for _, v in ipairs(fields) do all[#all + 1] = v end
    write(id, task, all)
    redis.call('SADD', ids_key, id)
    recount(current, status_json)
    set_done(id, nil, status_json)
    note_changed(id, id_json)
    return true
  end
  local values = task.values
  if status ~= 'start' then
    if FINAL[current] then return false end
    if seq ~= '' then
      local applied_seq = values.seq
      if applied_seq and applied_seq ~= 'null' and tonumber(seq) < tonumber(applied_seq) then return false end
    end
  end

  local progress = status ~= 'update' and status_json ~= current
  if not progress then
    for f = first, last, 2 do
      local name = args[f]
      if not BOOKKEEPING[name] and values[name] ~= args[f + 1] then
        progress = true
        break
      end
    end
  end
  if progress then
    fields[#fields + 1] = 'status'
    fields[#fields + 1] = status_json
    fields[#fields + 1] = 'updated_at'
    fields[#fields + 1] = now
    write(id, task, fields)
    recount(current, status_json)
    set_done(id, current, status_json)
    note_changed(id, id_json)
    return true
  end
  -- Contact without progress (a heartbeat): seen_at moves; a lost task is alive again.
  if current == LOST then
    fields[#fields + 1] = 'status'
    fields[#fields + 1] = '"update"'
    write(id, task, fields)
    recount(current, '"update"')
    set_done(id, current, '"update"')
    note_changed(id, id_json)
    return true
  end
  write(id, task, fields)
  return false
end

local results = {}
for r = first_request, #ARGV do
  local args = cjson.decode(ARGV[r])
  local events = read_request(args)
  local refused = make_room(args, events)
  if refused == 0 then
    local applied = 0
    for _, ev in ipairs(events) do
      if apply(args, ev) then applied = applied + 1 end
    end
    results[#results + 1] = applied
  else
    results[#results + 1] = refused
  end
end

-- Publish the new state of every changed task, from the cache (it holds every field), as
-- pieces of one text joined once: no string per field.
if #changed_order > 0 or #removed > 0 then
  local out, n, named, values = { '{"tasks":{' }, 1, {}, nil
  local function add(name)
    if name == 'status' then return end  -- it comes first
    local quoted = named[name]
    if not quoted then
      quoted = ',"' .. name .. '":'
      named[name] = quoted
    end
    out[n + 1], out[n + 2] = quoted, values[name]
    n = n + 2
  end
  for _, id in ipairs(changed_order) do
    if changed[id] then
      local task = cache[id]
      values = task.values
      out[n + 1], out[n + 2], out[n + 3], out[n + 4] = n > 1 and ',' or '', changed[id], ':{"status":', values.status
      n = n + 4
      for f = 1, #task.flat, 2 do add(task.flat[f]) end
      for _, name in ipairs(task.added) do add(name) end
      n = n + 1
      out[n] = '}'
    end
  end
  n = n + 1
  out[n] = '},"removed":[' .. table.concat(removed, ',') .. ']}'
  redis.call('PUBLISH', channel, table.concat(out))
end
local ended = redis.call('TIME')
results[#results + 1] = (ended[1] - began[1]) * 1000000 + (ended[2] - began[2])
return results
