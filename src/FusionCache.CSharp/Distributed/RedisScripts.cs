namespace Fusion.Distributed;

/// <summary>
/// The Lua scripts that make every L2 change conditional on the order of writes (the envelope's timestamp
/// and origin, big-endian at byte 1), so a late, retried or replayed change never undoes a newer one
/// (invariant 8 in L2), and a tie between two nodes is broken as L1 and the backplane break it.
/// </summary>
/// <remarks>The guard accepts exactly what <see cref="EnvelopeCodec.TryDecode"/> accepts: a stored value that is
/// not a well-formed envelope of this version, or is stamped beyond the clock-skew bound (ARGV limit), is
/// not "newer" than anything, so the next write replaces it instead of being refused for good.</remarks>
internal static class RedisScripts
{
    // at_least(a, b): a >= b for two big-endian strings of equal length, compared byte by byte (Lua numbers
    // are doubles and would lose the low bits of a tick count). guarded(key, limit): the stored 46-byte header
    // when it is one the decoder accepts, else nil. Offsets below are Lua's (1-based) of EnvelopeCodec's.
    private const string AtLeast = """
        local function at_least(a, b)
          for i = 1, #a do
            local x, y = string.byte(a, i), string.byte(b, i)
            if x ~= y then return x > y end
          end
          return true
        end

        """;

    private const string Guard = AtLeast + """
        local function guarded(key, limit)
          if redis.call('STRLEN', key) < 46 then return nil end
          local h = redis.call('GETRANGE', key, 0, 45)
          if string.byte(h, 1) ~= 2 then return nil end
          if string.byte(h, 2) >= 128 or string.byte(h, 10) >= 128 then return nil end
          if not at_least(limit, string.sub(h, 2, 9)) then return nil end
          if not at_least(string.sub(h, 26, 33), string.sub(h, 18, 25)) then return nil end
          if string.byte(h, 42) > 7 or string.byte(h, 43) >= 128 then return nil end
          return h
        end
        """;

    /// <summary>KEYS[1] key; ARGV[1] envelope; ARGV[2] time to live in ms (0: none); ARGV[3] the latest plausible
    /// timestamp (8 bytes). Writes unless L2 holds a later write; then returns that write's (timestamp, origin).</summary>
    public const string SetIfNotOlder = Guard + """

        local h = guarded(KEYS[1], ARGV[3])
        if h and not at_least(string.sub(ARGV[1], 2, 17), string.sub(h, 2, 17)) then return string.sub(h, 2, 17) end
        if tonumber(ARGV[2]) > 0 then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        else
          redis.call('SET', KEYS[1], ARGV[1])
        end
        return 1
        """;

    /// <summary>KEYS[1] key; ARGV[1] the tombstone envelope; ARGV[2] its least time to live in ms; ARGV[3] the latest
    /// plausible timestamp. Replaces the value by the tombstone unless L2 holds a later write (then returns its
    /// (timestamp, origin)); the tombstone lives at least as long as the value would have, so no older write can
    /// bring it back meanwhile.</summary>
    public const string RemoveIfNotNewer = Guard + """

        local h = guarded(KEYS[1], ARGV[3])
        if h and not at_least(string.sub(ARGV[1], 2, 17), string.sub(h, 2, 17)) then return string.sub(h, 2, 17) end
        local ttl = redis.call('PTTL', KEYS[1])
        local least = tonumber(ARGV[2])
        if ttl < least then ttl = least end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
        return 1
        """;

    /// <summary>KEYS[1] key; ARGV[1] the expire's (timestamp, origin) (16 bytes); ARGV[2] the instant it expires at
    /// (8 bytes); ARGV[3] the latest plausible timestamp. Lowers the logical expiry to that instant, unless the
    /// value was written after the expire; the time to live is kept.</summary>
    public const string ExpireIfNotNewer = Guard + """

        local h = guarded(KEYS[1], ARGV[3])
        if not h then return 0 end
        if not at_least(ARGV[1], string.sub(h, 2, 17)) then return string.sub(h, 2, 17) end
        if at_least(ARGV[2], string.sub(h, 18, 25)) then return 1 end
        redis.call('SETRANGE', KEYS[1], 17, ARGV[2])
        return 1
        """;

    /// <summary>KEYS[1] an invalidation mark's key; ARGV[1] a mark (MarkCodec, 41 bytes); ARGV[2] its time to live in ms.
    /// Stores the merge of the stored mark and this one: the later removal and the later staling (with its instant),
    /// so marks written by several nodes, late or twice, end the same (Invalidation.merge). A stored value that is
    /// not a mark is replaced.</summary>
    public const string MergeMark = AtLeast + """
        local new = ARGV[1]
        local old = redis.call('GET', KEYS[1])
        if old and #old == 41 and string.byte(old, 1) == 1 then
          local removal = string.sub(new, 2, 17)
          if at_least(string.sub(old, 2, 17), removal) then removal = string.sub(old, 2, 17) end
          local staling = string.sub(new, 18, 41)
          if at_least(string.sub(old, 18, 33), string.sub(new, 18, 33)) then staling = string.sub(old, 18, 41) end
          new = string.char(1) .. removal .. staling
        end
        local ttl = redis.call('PTTL', KEYS[1])
        local least = tonumber(ARGV[2])
        if ttl < least then ttl = least end
        redis.call('SET', KEYS[1], new, 'PX', ttl)
        return 1
        """;
}

