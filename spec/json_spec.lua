-- The JSON bridge (csrc/lua/mc_lua_json.c over cJSON).
local mediacdn = require "mediacdn"

describe("mediacdn JSON", function()
  it("decodes objects, arrays, null and numbers", function()
    local v = assert(mediacdn.json_decode('{"a":[1,2.5,null,{}],"b":[],"c":"x\\u00fc","d":true}'))
    assert.are.equal(1, v.a[1])
    assert.are.equal(2.5, v.a[2])
    assert.are.equal(mediacdn.null, v.a[3])
    assert.are.same({}, v.a[4])
    assert.are.equal(mediacdn.array_mt, getmetatable(v.a))
    assert.are.equal(mediacdn.array_mt, getmetatable(v.b))
    assert.are.equal("xü", v.c)
    assert.is_true(v.d)
  end)

  it("keeps an empty array an array and an empty table an object on encode", function()
    assert.are.equal('{"a":[],"b":{}}', (mediacdn.json_encode({ a = mediacdn.array(), b = {} }):gsub('("b":{}),("a":%[%])', "%2,%1")))
    assert.are.equal("[1,2,3]", mediacdn.json_encode({ 1, 2, 3 }))
    assert.are.equal("null", mediacdn.json_encode(mediacdn.null))
  end)

  it("round-trips a decoded document", function()
    local text = '{"x":[{"y":null,"z":[]}],"n":-12.75}'
    local again = mediacdn.json_decode(mediacdn.json_encode(mediacdn.json_decode(text)))
    assert.are.equal(-12.75, again.n)
    assert.are.equal(mediacdn.null, again.x[1].y)
    assert.are.equal(mediacdn.array_mt, getmetatable(again.x[1].z))
  end)

  it("rejects truncated, invalid, trailing-garbage and NUL input with a message", function()
    for _, bad in ipairs{ '{"a":[1,2', '{"a":}', '[1] x', '', 'nul', '{"a":"b"\0}' } do
      local v, err = mediacdn.json_decode(bad)
      assert.is_nil(v)
      assert.is_string(err)
    end
    local _, err = mediacdn.json_decode('{"a":[1,2')
    assert.matches("truncated", err)
  end)

  it("rejects nesting deeper than 1000 levels without crashing", function()
    local deep = string.rep("[", 1001) .. string.rep("]", 1001)
    local v, err = mediacdn.json_decode(deep)
    assert.is_nil(v)
    assert.is_string(err)
    assert.is_table(mediacdn.json_decode(string.rep("[", 900) .. string.rep("]", 900)))
  end)

  it("rejects input over the size limit", function()
    local v, err = mediacdn.json_decode('"' .. string.rep("a", 2000) .. '"', 1000)
    assert.is_nil(v)
    assert.matches("too large", err)
  end)

  it("refuses to encode functions, NaN, cycles and mixed tables", function()
    local cyc = {}; cyc.self = cyc
    for _, bad in ipairs{ { f = print }, { n = 0 / 0 }, cyc, { 1, 2, x = 3 }, { [1] = 1, [3] = 3 } } do
      local s, err = mediacdn.json_encode(bad)
      assert.is_nil(s)
      assert.is_string(err)
    end
  end)

  it("raises on a wrong argument type", function()
    assert.has_error(function() mediacdn.json_decode(42) end, "mediacdn.json_decode: argument #1 must be a string")
  end)
end)
