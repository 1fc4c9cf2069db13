--- The error reply of a script over many keys for what went wrong at KEYS[i]: its code, then 'entry <i>:'
--- so that the caller can name the key (FOREIGN_DATA key holds a list... -> FOREIGN_DATA entry 3: key holds a list...).
local function batch_error(i, reply)
  local code, rest = string.match(reply.err, '^(%S+) (.*)$')
  if not code then
    return reply
  end
  return redis.error_reply(code .. ' entry ' .. i .. ': ' .. rest)
end
