-- Creates or replaces one configuration document, atomically checking everything first.
--
-- KEYS[1]  the document's hash (<base>doc:<kind>:<id>); declared so a cluster client routes
--          the script to the {cfg} slot. Every other key is built from ARGV[1] and shares it.
-- ARGV[1]  base: "<prefix>:{cfg}:"
-- ARGV[2]  kind          ARGV[3]  id            ARGV[4]  body (JSON)
-- ARGV[5]  expect: "absent", or the revision the caller read
-- ARGV[6]  refs: JSON array of "kind:id" that must exist
-- ARGV[7]  uniques: JSON array of [field, value] no other document of the kind may hold
-- ARGV[8]  owner: "kind:id" that must exist and owns this document, or ""
--
-- On success the catalog's version (<base>version) grows by one.
-- Returns {"ok", rev} or one refusal, and then nothing has changed:
-- {"exists"} {"not_found"} {"revision", current} {"missing_ref", "kind:id"}
-- {"unique", field, value, holder_id}
local base, kind, id, body, expect = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local refs_json, uniques_json, owner = ARGV[6], ARGV[7], ARGV[8]
local doc = KEYS[1]
local self_ref = kind .. ':' .. id

local current = redis.call('HGET', doc, 'rev')
if expect == 'absent' then
  if current then return {'exists'} end
else
  if not current then return {'not_found'} end
  if current ~= expect then return {'revision', current} end
end

local refs = cjson.decode(refs_json)
for _, r in ipairs(refs) do
  if redis.call('EXISTS', base .. 'doc:' .. r) == 0 then return {'missing_ref', r} end
end
if owner ~= '' and redis.call('EXISTS', base .. 'doc:' .. owner) == 0 then
  return {'missing_ref', owner}
end

local uniques = cjson.decode(uniques_json)
for _, u in ipairs(uniques) do
  local holder = redis.call('HGET', base .. 'unique:' .. kind .. ':' .. u[1], u[2])
  if holder and holder ~= id then return {'unique', u[1], u[2], holder} end
end

if current then
  for _, r in ipairs(cjson.decode(redis.call('HGET', doc, 'refs') or '[]')) do
    redis.call('SREM', base .. 'refby:' .. r, self_ref)
  end
  for _, u in ipairs(cjson.decode(redis.call('HGET', doc, 'uniques') or '[]')) do
    redis.call('HDEL', base .. 'unique:' .. kind .. ':' .. u[1], u[2])
  end
end
for _, r in ipairs(refs) do
  redis.call('SADD', base .. 'refby:' .. r, self_ref)
end
for _, u in ipairs(uniques) do
  redis.call('HSET', base .. 'unique:' .. kind .. ':' .. u[1], u[2], id)
end
if owner ~= '' then
  redis.call('SADD', base .. 'children:' .. owner, self_ref)
end

local rev = tostring((tonumber(current) or 0) + 1)
redis.call('HSET', doc, 'rev', rev, 'body', body, 'refs', refs_json, 'uniques', uniques_json, 'owner', owner)
redis.call('ZADD', base .. 'index:' .. kind, 0, id)
redis.call('INCR', base .. 'version')
return {'ok', rev}
