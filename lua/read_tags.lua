#!lua flags=no-writes
--- The current token of each tag (nil for a tag that has none), to check the tokens an entry was written
--- with: an entry whose tokens are not all still its tags' own was invalidated.
---@script read_tags
---@key tags... The keys of the tags
---@return (string | null)[]

local current = {}
for i = 1, #KEYS do
  current[i] = redis.call('GET', KEYS[i])
end
return current
