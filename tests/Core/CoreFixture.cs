using Fusion.Core;
using Microsoft.FSharp.Core;

namespace Fusion.Tests;

/// <summary>Builders for the pure core's records, in plain ticks, for tests that call the core from C#.</summary>
internal static class CoreFixture
{
    public const long Now = 1_000_000;
    public const long Second = TimeSpan.TicksPerSecond;

    /// <summary>Core options: the library defaults overlaid with <paramref name="overrides"/>.</summary>
    public static EntryOptions Options(FusionCacheEntryOptions? overrides = null) =>
        (overrides ?? new FusionCacheEntryOptions()).Resolve(EntryOptionsModule.Default);

    public static EntryOptions FailSafe(long durationSeconds = 10, long maxSeconds = 100, long throttleSeconds = 5, int maxCycles = int.MaxValue) =>
        Options(new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromSeconds(durationSeconds),
            IsFailSafeEnabled = true,
            FailSafeMaxDuration = TimeSpan.FromSeconds(maxSeconds),
            FailSafeThrottleDuration = TimeSpan.FromSeconds(throttleSeconds),
            MaxFailSafeCycles = maxCycles,
            FactorySoftTimeout = TimeSpan.FromSeconds(1),
            FactoryHardTimeout = TimeSpan.FromSeconds(3),
        });

    public static Entry Entry(object value, long timestamp, long logical, long physical, long eager = Ticks.Never, bool isStale = false, int cycles = 0, long origin = 0, string[]? tags = null) =>
        new(value, timestamp, origin, logical, physical, eager, isStale, cycles, EntryMetaModule.ofParts(tags ?? Tagged.untagged, ValidatorModule.none));

    /// <summary>The entry of a <c>Put</c> change; fails the test for any other change.</summary>
    public static Entry PutOf(L1Change change)
    {
        Assert.True(change.IsPut, $"expected a Put, got {change.Tag}");
        return change.Entry;
    }

    public static FSharpValueOption<Entry> Some(Entry e) => FSharpValueOption<Entry>.NewValueSome(e);

    public static FSharpValueOption<Entry> NoEntry => FSharpValueOption<Entry>.ValueNone;

    public static FSharpValueOption<object> Default(object value) => FSharpValueOption<object>.NewValueSome(value);

    public static FSharpValueOption<object> NoDefault => FSharpValueOption<object>.ValueNone;
}
