using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests.Telemetry;

/// <summary>Each runtime instrument of the "Fusion.Caching" meter moves when its event happens, tagged with the cache's
/// name (a <see cref="System.Diagnostics.Metrics.MeterListener"/>; docs/observability.md).</summary>
[Collection(TelemetryCollection.Name)]
public sealed class MetricsTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static (TestCache Cache, MetricRecorder Metrics) Start(Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null)
    {
        var name = $"metrics-{Guid.NewGuid():N}";
        var metrics = new MetricRecorder(name);
        var t = TestCache.Create(b => (configure?.Invoke(b) ?? b).WithName(name).WithDuration(Duration));
        return (t, metrics);
    }

    [Fact]
    public async Task AMissThenAHit_CountOneMissOneFactoryRunAndOneHit()
    {
        var (t, metrics) = Start();
        using var _ = t;
        using var __ = metrics;
        var factory = TestFactory<string>.Returning("v");

        await t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.TryGet<string>("k");
        await t.Cache.TryGet<string>("absent");

        Assert.Equal(2, metrics.Sum("fusion.cache.misses"));
        Assert.Equal(2, metrics.Sum("fusion.cache.hits"));
        Assert.Equal(1, metrics.Sum("fusion.cache.factory.runs"));
        Assert.Equal(1, metrics.Count("fusion.cache.factory.duration"));
        Assert.Equal(0, metrics.Sum("fusion.cache.factory.errors"));
        Assert.All(metrics.AllTags, tags => Assert.Equal(metrics.CacheName, tags[FusionCacheTelemetry.CacheNameTag]));
    }

    [Fact]
    public async Task AFailureServedByFailSafe_CountsAnError_AnActivation_AndAStaleHit_ThenStaleHitsFromL1()
    {
        var (t, metrics) = Start(b => b.WithFailSafe());
        using var _ = t;
        using var __ = metrics;
        await t.SetThenAdvance("k", "old", Duration);
        var failing = TestFactory<string>.Failing(Err.Of("down"));

        Assert.Equal("old", Expect.Right(await t.Cache.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal(1, metrics.Sum("fusion.cache.factory.errors"));
        Assert.Equal(1, metrics.Sum("fusion.cache.fail_safe.activations"));
        Assert.Equal(1, metrics.Sum("fusion.cache.stale_hits"));

        // Within the throttle the activation is served from L1: a hit, and a stale one.
        Assert.Equal("old", Expect.Right(await t.Cache.GetOrSet<string>("k", failing.Invoke)));
        Assert.Equal(1, metrics.Sum("fusion.cache.hits"));
        Assert.Equal(2, metrics.Sum("fusion.cache.stale_hits"));
        Assert.Equal(1, metrics.Sum("fusion.cache.factory.runs"));
    }

    [Fact]
    public async Task ATimeout_IsCountedWithItsKind()
    {
        var (t, metrics) = Start(b => b.WithFailSafe());
        using var _ = t;
        using var __ = metrics;
        await t.SetThenAdvance("k", "old", Duration);
        var soft = new FusionCacheEntryOptions { FactorySoftTimeout = TimeSpan.FromSeconds(1) };
        var pending = t.Cache.GetOrSet<string>("k", TestFactory<string>.Waiting().Invoke, soft);
        t.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("old", Expect.Right(await Eventually.Within(pending)));

        var hard = new FusionCacheEntryOptions { FactoryHardTimeout = TimeSpan.FromSeconds(2), IsFailSafeEnabled = false };
        var failing = t.Cache.GetOrSet<string>("j", TestFactory<string>.Waiting().Invoke, hard);
        t.Advance(TimeSpan.FromSeconds(2));
        Expect.Left(await Eventually.Within(failing));

        Assert.Equal(1, metrics.Sum("fusion.cache.factory.timeouts", ("fusion.cache.timeout", "soft")));
        Assert.Equal(1, metrics.Sum("fusion.cache.factory.timeouts", ("fusion.cache.timeout", "hard")));
        Assert.Equal(1, metrics.Sum("fusion.cache.fail_safe.activations"));
        Assert.Equal(1, metrics.Sum("fusion.cache.stale_hits"));
    }

    [Fact]
    public async Task TheFailSafeDefault_IsAnActivationToo()
    {
        var (t, metrics) = Start(b => b.WithFailSafe());
        using var _ = t;
        using var __ = metrics;
        var result = await t.Cache.GetOrSet("k", TestFactory<string>.Failing(Err.Of("down")).Invoke, Option<string>.Some("default"));

        Assert.Equal("default", Expect.Right(result));
        Assert.Equal(1, metrics.Sum("fusion.cache.fail_safe.activations"));
        Assert.Equal(1, metrics.Sum("fusion.cache.stale_hits"));
    }

    [Fact]
    public async Task TwoCaches_AreToldApartByTheirNames()
    {
        var (a, metricsA) = Start();
        var (b, metricsB) = Start();
        using var _ = a;
        using var __ = b;
        using var ___ = metricsA;
        using var ____ = metricsB;
        await a.Cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke);
        await a.Cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke);

        Assert.Equal(1, metricsA.Sum("fusion.cache.hits"));
        Assert.Equal(0, metricsB.Sum("fusion.cache.hits"));
    }

    [Fact]
    public async Task AHit_WithAListenerAttached_AllocatesNothing()
    {
        var (t, metrics) = Start();
        using var _ = t;
        metrics.Dispose(); // its callback allocates: this test listens with one that does not
        long hits = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == FusionCacheTelemetry.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "fusion.cache.hits" && tags.Length == 1 && ReferenceEquals(tags[0].Value, t.Cache.Name)) Interlocked.Add(ref hits, value);
        });
        listener.Start();
        Func<Task<Either<Err, string>>> plain = static () => Task.FromResult(Either<Err, string>.Right("v"));
        await t.Cache.GetOrSet("k", plain);

        var bytes = SteadyStateBytes(() =>
        {
            var hit = t.Cache.GetOrSet("k", plain);
            if (!hit.IsCompletedSuccessfully) throw new InvalidOperationException("a fresh hit must complete synchronously");
        });

        Assert.Equal(0, bytes);
        Assert.True(Interlocked.Read(ref hits) >= 10_000, $"{hits} hits counted");
    }

    /// <summary>Bytes 10,000 calls allocate once warm (as in HitPathAllocationTests).</summary>
    private static long SteadyStateBytes(Action call)
    {
        long allocated = long.MaxValue;
        for (var round = 0; round < 10 && allocated > 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10_000; i++) call();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return allocated;
    }
}
