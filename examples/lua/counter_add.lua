#!lua
--- Adds to a counter that expires a day after it was created, and replies its new value.
---
--- The reply is INCRBYFLOAT's decimal string ('1', '2.5'): a Lua number would reply a truncated integer.
---@script counter_add
---@key counter The counter, created at 0 when missing
---@arg amount number What to add; a negative amount subtracts
---@return string

local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
-- NX: only when the counter has no TTL yet, so that later additions do not push its expiry back.
redis.call('EXPIRE', KEYS[1], 86400, 'NX')
return value
