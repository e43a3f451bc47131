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

    // utf8(s): whether s is well-formed UTF-8 (what .NET's strict decoder accepts: no overlong forms, no surrogates,
    // nothing past U+10FFFF). body_ok(key, flags, len): the sections after the header are as the decoder reads them:
    // the tags (a count, then each a non-empty length and bytes that are UTF-8, or 0xFF then UTF-16LE), then, with
    // flag bit 2, the validator (an ETag length and UTF-8, a LastModified that is not negative, not both empty), then, with
    // flag bit 3, the compressed payload's uncompressed length (positive) and at least one byte of LZ4 block (whether
    // the block decodes is the payload's check, as the serializer's: the guard never reads the payload).
    private const string Body = """
        local function utf8(s)
          local i, n = 1, #s
          while i <= n do
            local c = string.byte(s, i)
            if c < 128 then
              i = i + 1
            else
              local more, lo, hi = 0, 128, 191
              if c >= 194 and c <= 223 then more = 1
              elseif c == 224 then more = 2; lo = 160
              elseif c == 237 then more = 2; hi = 159
              elseif c >= 225 and c <= 239 then more = 2
              elseif c == 240 then more = 3; lo = 144
              elseif c == 244 then more = 3; hi = 143
              elseif c >= 241 and c <= 243 then more = 3
              else return false end
              if i + more > n then return false end
              local d = string.byte(s, i + 1)
              if d < lo or d > hi then return false end
              for j = 2, more do
                d = string.byte(s, i + j)
                if d < 128 or d > 191 then return false end
              end
              i = i + more + 1
            end
          end
          return true
        end

        local function u16(key, at)
          local b = redis.call('GETRANGE', key, at, at + 1)
          return string.byte(b, 1) * 256 + string.byte(b, 2)
        end

        local function body_ok(key, flags, len)
          if flags % 4 >= 2 then return true end
          local at = 46
          if len < at + 2 then return false end
          local count = u16(key, at)
          at = at + 2
          for i = 1, count do
            if len < at + 2 then return false end
            local n = u16(key, at)
            if n == 0 or len < at + 2 + n then return false end
            local tag = redis.call('GETRANGE', key, at + 2, at + 1 + n)
            if string.byte(tag, 1) == 255 then
              if (n - 1) % 2 ~= 0 then return false end
            elseif not utf8(tag) then return false end
            at = at + 2 + n
          end
          if flags % 8 >= 4 then
            if len < at + 10 then return false end
            local n = u16(key, at)
            if len < at + 10 + n then return false end
            if n > 0 and not utf8(redis.call('GETRANGE', key, at + 2, at + 1 + n)) then return false end
            local lm = redis.call('GETRANGE', key, at + 2 + n, at + 9 + n)
            if string.byte(lm, 1) >= 128 then return false end
            if n == 0 and lm == string.rep(string.char(0), 8) then return false end
            at = at + 10 + n
          end
          if flags >= 8 then
            if len < at + 5 then return false end
            local u = redis.call('GETRANGE', key, at, at + 3)
            if string.byte(u, 1) >= 128 or u == string.rep(string.char(0), 4) then return false end
          end
          return true
        end

        """;

    private const string Guard = AtLeast + Body + """
        local function guarded(key, limit)
          local len = redis.call('STRLEN', key)
          if len < 46 then return nil end
          local h = redis.call('GETRANGE', key, 0, 45)
          if string.byte(h, 1) ~= 2 then return nil end
          if string.byte(h, 2) >= 128 or string.byte(h, 10) >= 128 then return nil end
          if not at_least(limit, string.sub(h, 2, 9)) then return nil end
          if string.byte(h, 18) >= 128 or string.byte(h, 26) >= 128 then return nil end
          if not at_least(string.sub(h, 26, 33), string.sub(h, 18, 25)) then return nil end
          if string.byte(h, 42) > 15 or string.byte(h, 43) >= 128 then return nil end
          if not body_ok(key, string.byte(h, 42), len) then return nil end
          return h
        end
        """;

    /// <summary>KEYS[1] key; ARGV[1] the latest plausible timestamp. 1 when the guard takes the stored value for an entry
    /// of ours, else 0 (tests check that it agrees with <see cref="EnvelopeCodec.TryDecode"/>).</summary>
    internal const string GuardProbe = Guard + """

        if guarded(KEYS[1], ARGV[1]) then return 1 end
        return 0
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

