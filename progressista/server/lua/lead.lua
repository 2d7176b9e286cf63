-- Take or keep the lifecycle lease: only its holder runs cleanup passes.
-- KEYS[1]: the lease key; ARGV: holder id, lease in milliseconds. Returns 1 when held.
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
