-- Constant-rate load for wrk: `wrk -t1 -cN -dD -s constant_rate.lua URL -- RATE`.
-- Requests are sent on a fixed schedule of RATE per second (one slot every
-- 1/RATE s, handed out to whichever connection asks next), not as fast as
-- the server answers. A slot missed because every connection was busy is
-- not made up later, so the achieved rate can only fall short, never burst.
-- Use one wrk thread (-t1): the schedule lives in the thread's Lua state.
local ffi = require("ffi")
ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval -- ms between two requests
local next_slot

function init(args)
    local rate = tonumber(args[1]) or 1000
    interval = 1000 / rate
end

function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - interval then
        -- first request, or behind schedule: start from now, no catch-up burst
        next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + interval
    -- wrk takes whole milliseconds; round so that slots keep their average.
    return math.max(0, math.floor(wait + 0.5))
end
