using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fusion.Tests.Telemetry;

/// <summary>The telemetry tests listen process-wide (a listener enables Fusion's instruments and spans for every cache):
/// they run alone, so no other test's cache pays for spans or moves a count; HitPathAllocationTests run here too, so no
/// listener of another test is alive while they count bytes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry";
}

/// <summary>Every measurement of the "Fusion.Caching" meter for one cache name (a <see cref="MeterListener"/>).</summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> measurements = new();

    public MetricRecorder(string cacheName, Func<Instrument, bool>? which = null)
    {
        CacheName = cacheName;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FusionCacheTelemetry.MeterName && (which?.Invoke(instrument) ?? true)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();
    }

    public string CacheName { get; }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags) map[tag.Key] = tag.Value;
        if (!Equals(map.GetValueOrDefault(FusionCacheTelemetry.CacheNameTag), CacheName)) return;
        measurements.Enqueue((instrument.Name, value, map));
    }

    /// <summary>The sum of an instrument's measurements (with every given tag) for this cache.</summary>
    public double Sum(string instrument, params (string Key, object? Value)[] tags) =>
        measurements.Where(m => m.Instrument == instrument && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value))).Sum(m => m.Value);

    /// <summary>How many measurements an instrument recorded for this cache.</summary>
    public int Count(string instrument) => measurements.Count(m => m.Instrument == instrument);

    /// <summary>The tags of every measurement so far.</summary>
    public IEnumerable<Dictionary<string, object?>> AllTags => measurements.Select(m => m.Tags);

    /// <summary>The last value each observable instrument reports for this cache now.</summary>
    public double Observe(string instrument)
    {
        var before = measurements.Count(m => m.Instrument == instrument);
        listener.RecordObservableInstruments();
        return measurements.Where(m => m.Instrument == instrument).Skip(before).Select(m => m.Value).DefaultIfEmpty(double.NaN).Last();
    }

    public void Dispose() => listener.Dispose();
}

/// <summary>Every span of the "Fusion.Caching" source (all data, all recorded) for one cache name, once stopped.</summary>
internal sealed class SpanRecorder : IDisposable
{
    private readonly ActivityListener listener;
    private readonly ConcurrentQueue<Activity> stopped = new();

    public SpanRecorder(string cacheName)
    {
        CacheName = cacheName;
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == FusionCacheTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (Equals(activity.GetTagItem(FusionCacheTelemetry.CacheNameTag), CacheName)) stopped.Enqueue(activity);
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    public string CacheName { get; }

    public IReadOnlyList<Activity> Spans => stopped.ToArray();

    public IReadOnlyList<Activity> Named(string name) => stopped.Where(a => a.OperationName == name).ToArray();

    public void Dispose() => listener.Dispose();
}
