-- Stores one change of a conversation: document, message, events and timers, all or nothing.
--
-- KEYS[1] conversation doc      KEYS[2] its messages list    KEYS[3] its open-index key
-- KEYS[4] open conversations    KEYS[5] seen-message key (or the doc key again when none)
-- KEYS[6] event stream          KEYS[7] last event id        KEYS[8] timers sorted set
-- KEYS[9] every conversation id (sorted set, score 0)
-- KEYS[10] outbox (sorted set)   KEYS[11] outbox position     KEYS[12] delivery record key
-- ARGV[1] conversation id       ARGV[2] body, or "" to leave the document and its indexes
--                                                            ARGV[3] "1" when closed
-- ARGV[4] message or ""         ARGV[5] "1" when KEYS[5] dedupes a provider message id
-- ARGV[6] events: JSON [[kind, at, data], ...]
-- ARGV[7] timers: JSON [["arm", kind, at] | ["disarm", kind], ...]
-- ARGV[8] journal cap           ARGV[9] seen-message TTL (seconds)
-- ARGV[10] pub/sub channel every event is also published on, as
--          {"id":..,"kind":"..","at":..,"data":{..}}
-- ARGV[11] outbox message id or ""   ARGV[12] its delivery record
-- KEYS[13] daily counters hash (or the doc key again when none)
-- ARGV[13] counter fields to add one to: JSON ["created", ...] ("[]" for none)
-- ARGV[14] the counters' TTL (seconds)
-- KEYS[14] the catalog's version, answered so the process learns of configuration changes
--          other processes made without asking separately
-- ARGV[15] what KEYS[3] (the customer's open conversation) must say first: "" nothing,
--          "claim" nothing or this id (a new conversation), "holds" this id
-- KEYS[15] the conversation's routing history (list)
-- ARGV[16] a routing decision to append, or ""   ARGV[17] how many the history keeps
--
-- Returns {"taken", open id or ""} or {"duplicate", conversation holding the message}
-- (nothing changed), or
-- {"stored", catalog_version, event_id, ...}.
local id = ARGV[1]
if ARGV[15] ~= '' then
  local holder = redis.call('GET', KEYS[3])
  if (holder and holder ~= id) or (not holder and ARGV[15] == 'holds') then
    return {'taken', holder or ''}
  end
end
if ARGV[5] == '1' then
  if redis.call('SET', KEYS[5], id, 'NX', 'EX', tonumber(ARGV[9])) == false then
    return {'duplicate', redis.call('GET', KEYS[5]) or ''}
  end
end

if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[4])
end
if ARGV[16] ~= '' then
  redis.call('RPUSH', KEYS[15], ARGV[16])
  redis.call('LTRIM', KEYS[15], -tonumber(ARGV[17]), -1)
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[9], 'NX', 0, id)
  if ARGV[3] == '1' then
    redis.call('SREM', KEYS[4], id)
    if redis.call('GET', KEYS[3]) == id then
      redis.call('DEL', KEYS[3])
    end
  else
    redis.call('SADD', KEYS[4], id)
    redis.call('SET', KEYS[3], id, 'NX')
  end
end

if ARGV[11] ~= '' then
  redis.call('SET', KEYS[12], ARGV[12])
  redis.call('ZADD', KEYS[10], redis.call('INCR', KEYS[11]), ARGV[11])
end

for _, t in ipairs(cjson.decode(ARGV[7])) do
  local member = id .. '|' .. t[2]
  if t[1] == 'arm' then
    redis.call('ZADD', KEYS[8], t[3], member)
  else
    redis.call('ZREM', KEYS[8], member)
  end
end

-- The TTL is set when a field is first counted (a handful of times a day per queue), not on
-- every count.
for _, field in ipairs(cjson.decode(ARGV[13])) do
  if redis.call('HINCRBY', KEYS[13], field, 1) == 1 then
    redis.call('EXPIRE', KEYS[13], tonumber(ARGV[14]))
  end
end

local reply = {'stored', redis.call('GET', KEYS[14]) or '0'}
-- One INCRBY numbers every event of the commit (ids stay dense and in order).
local events = cjson.decode(ARGV[6])
local next_id = 0
if #events > 0 then
  next_id = redis.call('INCRBY', KEYS[7], #events) - #events
end
for _, e in ipairs(events) do
  next_id = next_id + 1
  local event_id = next_id
    redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], event_id .. '-0', 'kind', e[1], 'at', e[2], 'data', e[3])
  redis.call('PUBLISH', ARGV[10], '{"id":' .. event_id .. ',"kind":"' .. e[1] .. '","at":' .. e[2] .. ',"data":' .. e[3] .. '}')
  table.insert(reply, tostring(event_id))
end
return reply
