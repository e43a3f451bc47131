namespace Fusion.Distributed;

/// <summary>
/// The Lua scripts that make every L2 change conditional on the envelope's timestamp (big-endian at
/// byte 1), so a late, retried or replayed change never undoes a newer one (invariant 8 in L2).
/// </summary>
internal static class RedisScripts
{
    // a >= b for two 8-byte big-endian strings, compared byte by byte (Lua numbers are doubles and
    // would lose the low bits of a tick count). stored(key, n) is the first n bytes after the version
    // byte of a version-1 envelope, or nil for anything else (absent, corrupt, another version): what
    // is not an envelope of ours is never "newer", so the next write replaces it.
    private const string AtLeast = """
        local function at_least(a, b)
          for i = 1, 8 do
            local x, y = string.byte(a, i), string.byte(b, i)
            if x ~= y then return x > y end
          end
          return true
        end
        local function stored(key, n)
          if redis.call('STRLEN', key) < 38 then return nil end
          local head = redis.call('GETRANGE', key, 0, n)
          if string.byte(head, 1) ~= 1 then return nil end
          return string.sub(head, 2)
        end
        """;

    /// <summary>KEYS[1] key; ARGV[1] envelope; ARGV[2] time to live in ms (0: none). Writes unless L2 holds a newer value.</summary>
    public const string SetIfNotOlder = AtLeast + """

        local current = stored(KEYS[1], 8)
        if current and not at_least(string.sub(ARGV[1], 2, 9), current) then return 0 end
        if tonumber(ARGV[2]) > 0 then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        else
          redis.call('SET', KEYS[1], ARGV[1])
        end
        return 1
        """;

    /// <summary>KEYS[1] key; ARGV[1] the tombstone envelope; ARGV[2] its least time to live in ms. Replaces the value
    /// by the tombstone unless L2 holds a value written after the remove; the tombstone lives at least as long
    /// as the value would have, so no older write can bring it back meanwhile.</summary>
    public const string RemoveIfNotNewer = AtLeast + """

        local current = stored(KEYS[1], 8)
        if current and not at_least(string.sub(ARGV[1], 2, 9), current) then return 0 end
        local ttl = redis.call('PTTL', KEYS[1])
        local least = tonumber(ARGV[2])
        if ttl < least then ttl = least end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
        return 1
        """;

    /// <summary>KEYS[1] key; ARGV[1] the expire's instant (8 bytes). Lowers the logical expiry (bytes 9–16) to it,
    /// unless the value was written after it; the time to live is kept.</summary>
    public const string ExpireIfNotNewer = AtLeast + """

        local current = stored(KEYS[1], 16)
        if not current then return 0 end
        if not at_least(ARGV[1], string.sub(current, 1, 8)) then return 0 end
        if at_least(ARGV[1], string.sub(current, 9, 16)) then return 0 end
        redis.call('SETRANGE', KEYS[1], 9, ARGV[1])
        return 1
        """;
}
