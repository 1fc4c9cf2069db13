#!lua
--- The current token of each tag (nil for a tag that has none), to check the tokens an entry was written
--- with: an entry whose tokens are not all still its tags' own was invalidated. Not flagged no-writes on
--- purpose: it must run on the primary, never on a replica that may not have seen an invalidation yet.
---@script read_tags
---@key tags... The keys of the tags
---@return (string | null)[]

local current = {}
for i = 1, #KEYS do
  current[i] = redis.call('GET', KEYS[i])
end
return current
