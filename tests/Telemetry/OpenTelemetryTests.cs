using System.Diagnostics;
using Fusion.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Fusion.Tests.Telemetry;

/// <summary>Wired as an application wires it (docs/observability.md): the OpenTelemetry SDK with
/// <c>AddSource("Fusion.Caching")</c> and <c>AddMeter("Fusion.Caching")</c>, exported to memory.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class OpenTelemetryTests
{
    [Fact]
    public async Task TheSdk_ExportsTheSpansAndTheMetrics_TaggedWithTheCacheName()
    {
        var name = $"otel-{Guid.NewGuid():N}";
        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource(FusionCacheTelemetry.ActivitySourceName).AddInMemoryExporter(spans).Build())
        using (var meters = Sdk.CreateMeterProviderBuilder().AddMeter(FusionCacheTelemetry.MeterName).AddInMemoryExporter(metrics).Build())
        {
            using var t = TestCache.Create(b => b.WithName(name).WithDuration(TimeSpan.FromSeconds(10)).WithFailSafe());
            await t.Cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke);
            await t.Cache.GetOrSet<string>("k", TestFactory<string>.Returning("v").Invoke);
            await t.Cache.GetOrSet<string>("bad", TestFactory<string>.Failing(Err.Of("down")).Invoke);
            await t.Cache.Set("s", "v");
            meters.ForceFlush();
            tracing.ForceFlush();
        }

        var ours = spans.Where(s => Equals(s.GetTagItem(FusionCacheTelemetry.CacheNameTag), name)).ToList();
        Assert.Equal(2, ours.Count(s => s.OperationName == "fusion.get_or_set")); // the two misses, not the hit
        Assert.Equal(2, ours.Count(s => s.OperationName == "fusion.factory"));
        Assert.Single(ours, s => s.OperationName == "fusion.set");

        // Cumulative: the last snapshot of each instrument holds its totals.
        Assert.Equal(1, Sum(metrics, "fusion.cache.hits", name));
        Assert.Equal(2, Sum(metrics, "fusion.cache.misses", name));
        Assert.Equal(2, Sum(metrics, "fusion.cache.factory.runs", name));
        Assert.Equal(1, Sum(metrics, "fusion.cache.factory.errors", name));
        Assert.Equal("s", metrics.Last(m => m.Name == "fusion.cache.factory.duration").Unit);
    }

    /// <summary>The sum of a counter's points in its last snapshot whose cache-name tag is <paramref name="cacheName"/>.</summary>
    private static long Sum(List<MetricSnapshot> metrics, string instrument, string cacheName)
    {
        long sum = 0;
        foreach (var point in metrics.Last(m => m.Name == instrument).MetricPoints)
        {
            var ours = false;
            foreach (var tag in point.Tags) ours |= tag.Key == FusionCacheTelemetry.CacheNameTag && Equals(tag.Value, cacheName);
            if (ours) sum += point.GetSumLong();
        }
        return sum;
    }
}
