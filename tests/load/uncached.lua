-- Every request a new address, as clicks on filters are: kpi by team, the
-- lagging list, modules and the three dashboards, each with a region and
-- department drawn at random and a random week or week range. The values
-- come from the environment (set by tests/load/run): REGIONS and
-- DEPARTMENTS (comma-separated), WEEKS (the stored ISO weeks, in order).
local function list(name)
  local out = {}
  for v in string.gmatch(os.getenv(name) or "", "[^,]+") do
    table.insert(out, v)
  end
  return out
end

local regions, departments, weeks = list("REGIONS"), list("DEPARTMENTS"), list("WEEKS")

local function pick(t)
  return t[math.random(#t)]
end

local function encode(s)
  return (string.gsub(s, "[^%w%-_%.~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

setup = function(thread)
  thread:set("seed", math.random(1, 1000000))
end

init = function()
  math.randomseed(seed or os.time())
end

request = function()
  local r, d = encode(pick(regions)), encode(pick(departments))
  local to = math.random(#weeks)
  local from = math.max(1, to - math.random(0, 25))
  local week, range = weeks[to], "from=" .. weeks[from] .. "&to=" .. weeks[to]
  local paths = {
    "/api/v1/kpi?by=team&region=" .. r .. "&department=" .. d .. "&" .. range,
    "/api/v1/lagging?by=region,department,team&region=" .. r .. "&week=" .. week,
    "/api/v1/modules?by=region,department&week=" .. week,
    "/dashboards/overview?region=" .. r .. "&" .. range,
    "/dashboards/lagging?region=" .. r .. "&department=" .. d .. "&from=" .. week .. "&to=" .. week,
    "/dashboards/modules?region=" .. r .. "&from=" .. week .. "&to=" .. week,
  }
  return wrk.format("GET", pick(paths))
end

-- The same summary line as the cached runs.
dofile("tests/load/p95.lua")
