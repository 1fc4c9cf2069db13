#!lua
--- Gives each tag a new token: every entry written with one of these tags before now reads as missing
--- from then on (its stored token is no longer the tag's). Replies the number of tags.
---@script invalidate_tags
---@key tags... The keys of the tags
---@arg tokens... string For each tag in turn, its new token (random: never one an entry could hold)
---@return number

for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i])
end
return #KEYS
