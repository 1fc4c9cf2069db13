#!lua
--- The current token of each tag, for an entry about to be written with them: a tag's token is the value
--- of its key, set to the token given when the tag has none yet (never used, or evicted). An entry stores
--- the tokens it was written with; invalidate_tags gives its tags new ones, after which it reads as missing.
---@script tag_tokens
---@key tags... The keys of the tags
---@arg tokens... string For each tag in turn, the token it gets when it has none
---@return string[]

local current = {}
for i = 1, #KEYS do
  -- NX GET: replies the token already there (and leaves it), or nil after setting the one given.
  current[i] = redis.call('SET', KEYS[i], ARGV[i], 'NX', 'GET') or ARGV[i]
end
return current
