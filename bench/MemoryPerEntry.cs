using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Fusion.Bench;

/// <summary>The value every cache holds in <see cref="MemoryPerEntry"/>: a small object, one per entry, created before
/// the first measurement so that its bytes are not counted. Sealed and marked immutable so that HybridCache keeps the
/// object itself in L1 instead of a serialized copy (it does that only for types it can tell are immutable).</summary>
[ImmutableObject(true)]
public sealed class SmallValue(int id)
{
    public int Id { get; } = id;
}

/// <summary>
/// Retained managed bytes per cached entry (<c>--memory-per-entry</c>): each cache, in a process of its own, holds
/// <see cref="Entries"/> entries (keys <c>k0</c> … <c>k99999</c>, one <see cref="SmallValue"/> each, a one-hour lifetime,
/// capacity at least <see cref="Entries"/>), and the GC's count of live bytes after full blocking, compacting
/// collections (large object heap included) is read before the cache is built and after it is filled.
/// <para>
/// Counted: everything the cache allocates and keeps for the entries and for itself (entry objects, dictionary
/// nodes and bucket arrays, policy queues or lists, expiry and metadata, any copy of a key or wrapper of a value),
/// divided by the entries it holds at the end. Not counted: the key strings and the value objects, created before
/// the first measurement and kept alive across both by the measuring code, the same for every cache. One-time
/// statics (type loading, shared options) are paid by a throw-away instance with 1,000 entries before the first
/// measurement, so they are not counted either.
/// </para>
/// </summary>
internal static class MemoryPerEntry
{
    public const int Entries = 100_000;
    private const int WarmEntries = 1_000;
    private const string ResultTag = "MEMORY-RESULT";

    /// <summary>The caches and whether they expire each entry by time (the target compares Fusion with those that do).</summary>
    private static readonly (string Name, bool PerEntryExpiry, string Setup)[] Subjects =
    [
        ("MemoryCache", true, "no SizeLimit; Set(key, value, 1 h)"),
        ("HybridCache", true, "L1 only, its own MemoryCache (no SizeLimit); SetAsync, Expiration 1 h"),
        ("FusionCache", true, "ZiggyCreatures 2.9 over its own MemoryCache (no SizeLimit); Set, Duration 1 h"),
        ("ConcurrentTLru", true, "BitFaster, capacity 100,000, TTL 1 h; AddOrUpdate"),
        ("ConcurrentLru", false, "BitFaster, capacity 100,000, no expiry; AddOrUpdate"),
        ("Fusion", true, "capacity 100,000, Duration 1 h; Set"),
    ];

    /// <summary>The host: <paramref name="repeats"/> fresh processes per cache (interleaved), median of them.</summary>
    public static void Run(string resultsDirectory, int repeats)
    {
        var samples = Subjects.ToDictionary(s => s.Name, _ => new List<Sample>());
        for (var r = 0; r < repeats; r++)
            foreach (var subject in Subjects)
            {
                var sample = RunChild(subject.Name);
                samples[subject.Name].Add(sample);
                Console.WriteLine($"// run {r + 1}/{repeats} {subject.Name}: {sample.Count:N0} entries, {sample.PerEntry:F1} B/entry (GC live bytes {sample.LiveBefore:N0} -> {sample.LiveAfter:N0}; heap in use {sample.HeapBefore:N0} -> {sample.HeapAfter:N0}; empty cache {sample.Empty:N0} B; value by reference: {sample.ByReference})");
            }

        Console.WriteLine();
        Console.WriteLine($"Retained managed bytes per entry, {Entries:N0} entries (key \"k{{i}}\", value a small object), median of {repeats} processes per cache; keys and values not counted");
        Console.WriteLine();
        Console.WriteLine("| Cache | Per-entry expiry | Entries held | Bytes per entry (median) | Min–max | Empty cache (B) | Value held by reference | Setup |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|---|");
        var csv = new List<string> { "Cache,PerEntryExpiry,Entries,MedianBytesPerEntry,MinBytesPerEntry,MaxBytesPerEntry,EmptyCacheBytes" };
        foreach (var (name, expiry, setup) in Subjects)
        {
            var list = samples[name];
            var perEntry = list.Select(s => s.PerEntry).Order().ToList();
            var median = perEntry[perEntry.Count / 2];
            var counts = string.Join("/", list.Select(s => s.Count).Distinct().Select(c => c.ToString("N0", CultureInfo.InvariantCulture)));
            var empty = list.Select(s => s.Empty).Order().ToList()[list.Count / 2];
            Console.WriteLine($"| {name} | {(expiry ? "yes" : "no")} | {counts} | {median:F1} | {perEntry[0]:F1}–{perEntry[^1]:F1} | {empty:N0} | {(list.All(s => s.ByReference) ? "yes" : "NO")} | {setup} |");
            csv.Add(string.Join(',', name, expiry, list[0].Count, F(median), F(perEntry[0]), F(perEntry[^1]), empty));
        }
        var withExpiry = Subjects.Where(s => s.PerEntryExpiry).Select(s => (s.Name, Median: Median(samples[s.Name]))).OrderBy(s => s.Median).ToList();
        Console.WriteLine();
        Console.WriteLine($"Lowest with per-entry expiry: {withExpiry[0].Name} ({withExpiry[0].Median:F1} B); Fusion {Median(samples["Fusion"]):F1} B, rank {withExpiry.FindIndex(s => s.Name == "Fusion") + 1} of {withExpiry.Count}");
        if (samples.Values.SelectMany(s => s).Any(s => s.Count != Entries)) Console.WriteLine($"WARNING: a cache did not hold all {Entries:N0} entries (see 'Entries held')");
        Directory.CreateDirectory(resultsDirectory);
        var path = Path.Combine(resultsDirectory, "memory-per-entry.csv");
        File.WriteAllLines(path, csv);
        Console.WriteLine($"wrote {path}");
    }

    private static double Median(List<Sample> list) => list.Select(s => s.PerEntry).Order().ToList()[list.Count / 2];

    private sealed record Sample(int Count, long LiveBefore, long LiveAfter, long HeapBefore, long HeapAfter, long Empty, bool ByReference)
    {
        public double PerEntry => (double)(LiveAfter - LiveBefore) / Count;
    }

    private static Sample RunChild(string name)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Under `dotnet bench.dll` the process is the host: give it the assembly again.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(MemoryPerEntry).Assembly.Location);
        start.ArgumentList.Add("--memory-per-entry-one");
        start.ArgumentList.Add(name);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(ResultTag, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{name}: the measuring process printed no result (exit {process.ExitCode}):\n{output}\n{stderr.Result}");
        var f = line.Trim().Split('|');
        return new Sample(int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture),
            long.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture), long.Parse(f[6], CultureInfo.InvariantCulture), f[7] == "True");
    }

    /// <summary>The measuring process: one cache, one measurement, one result line.</summary>
    public static async Task RunOne(string name)
    {
        var keys = new string[Entries];
        var values = new SmallValue[Entries];
        for (var i = 0; i < Entries; i++)
        {
            keys[i] = "k" + i.ToString(CultureInfo.InvariantCulture);
            values[i] = new SmallValue(i);
        }

        // One-time costs (type loading, statics, the JIT's managed side) on a throw-away instance.
        await using (var warm = Subject.Create(name, WarmEntries))
        {
            for (var i = 0; i < WarmEntries; i++) await warm.Put("w" + i.ToString(CultureInfo.InvariantCulture), values[i]);
            if (warm.Get("w0") is null) throw new InvalidOperationException($"{name}: the warm-up entry is not there");
        }

        var (liveBefore, heapBefore) = Measure();
        await using var cache = Subject.Create(name, Entries);
        var (liveEmpty, _) = Measure();
        for (var i = 0; i < Entries; i++) await cache.Put(keys[i], values[i]);
        var (liveAfter, heapAfter) = Measure();

        var count = cache.Count;
        // The entries are the values given, and are all there: every key read back, by reference.
        var byReference = true;
        for (var i = 0; i < Entries; i++)
            if (!ReferenceEquals(cache.Get(keys[i]), values[i])) { byReference = false; break; }
        GC.KeepAlive(keys);
        GC.KeepAlive(values);
        Console.WriteLine(string.Join('|', ResultTag, count, liveBefore, liveAfter, heapBefore, heapAfter, liveEmpty - liveBefore, byReference));
    }

    /// <summary>Live bytes after full blocking compacting collections (the large object heap compacted too), as the
    /// GC counted them (<c>PromotedBytes</c> of that collection: everything that survived it), and
    /// <c>GC.GetTotalMemory</c> as a cross-check.</summary>
    private static (long Live, long HeapInUse) Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return (info.PromotedBytes, GC.GetTotalMemory(forceFullCollection: false));
    }

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>One cache behind the three calls the measurement needs.</summary>
    private abstract class Subject : IAsyncDisposable
    {
        public abstract ValueTask Put(string key, SmallValue value);
        public abstract object? Get(string key);
        public abstract int Count { get; }
        public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public static Subject Create(string name, int capacity) => name switch
        {
            "MemoryCache" => new MemorySubject(),
            "HybridCache" => new HybridSubject(),
            "FusionCache" => new ZiggySubject(),
            "ConcurrentLru" => new LruSubject(new ConcurrentLru<string, SmallValue>(capacity)),
            "ConcurrentTLru" => new LruSubject(new ConcurrentTLru<string, SmallValue>(capacity, Caches.Duration)),
            "Fusion" => new FusionSubject(capacity),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such cache"),
        };
    }

    private sealed class MemorySubject : Subject
    {
        private readonly MemoryCache _cache = Caches.Memory();
        public override ValueTask Put(string key, SmallValue value) { _cache.Set(key, value, Caches.Duration); return ValueTask.CompletedTask; }
        public override object? Get(string key) => _cache.Get(key);
        public override int Count => _cache.Count;
        public override ValueTask DisposeAsync() { _cache.Dispose(); return ValueTask.CompletedTask; }
    }

    private sealed class HybridSubject : Subject
    {
        private readonly HybridCache _cache;
        private readonly ServiceProvider _services;
        private readonly MemoryCache _memory;

        public HybridSubject()
        {
            _cache = Caches.Hybrid(out _services);
            _memory = (MemoryCache)_services.GetRequiredService<IMemoryCache>();
        }

        public override ValueTask Put(string key, SmallValue value) => _cache.SetAsync(key, value);
        public override object? Get(string key) =>
            Caches.Wait(_cache.GetOrCreateAsync<SmallValue?>(key, static _ => ValueTask.FromResult<SmallValue?>(null)));
        public override int Count => _memory.Count;
        public override ValueTask DisposeAsync() => _services.DisposeAsync();
    }

    private sealed class ZiggySubject : Subject
    {
        private readonly MemoryCache _memory = Caches.Memory();
        private readonly ZiggyCreatures.Caching.Fusion.FusionCache _cache;

        public ZiggySubject() => _cache = new ZiggyCreatures.Caching.Fusion.FusionCache(
            new ZiggyCreatures.Caching.Fusion.FusionCacheOptions { DefaultEntryOptions = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions { Duration = Caches.Duration } },
            _memory);

        public override ValueTask Put(string key, SmallValue value) { _cache.Set(key, value); return ValueTask.CompletedTask; }
        public override object? Get(string key) => _cache.TryGet<SmallValue>(key) is { HasValue: true } v ? v.Value : null;
        public override int Count => _memory.Count;
        public override ValueTask DisposeAsync() { _cache.Dispose(); _memory.Dispose(); return ValueTask.CompletedTask; }
    }

    private sealed class LruSubject(BitFaster.Caching.ICache<string, SmallValue> cache) : Subject
    {
        public override ValueTask Put(string key, SmallValue value) { cache.AddOrUpdate(key, value); return ValueTask.CompletedTask; }
        public override object? Get(string key) => cache.TryGet(key, out var v) ? v : null;
        public override int Count => cache.Count;
    }

    private sealed class FusionSubject(int capacity) : Subject
    {
        private readonly Fusion.FusionCache _cache = Caches.Fusion(capacity);
        public override ValueTask Put(string key, SmallValue value) => _cache.Set(key, value);
        public override object? Get(string key) => Caches.Wait(_cache.TryGet<SmallValue>(key)).Match(Some: static v => (object?)v, None: static () => null);
        public override int Count => _cache.Memory.Count;
        public override ValueTask DisposeAsync() { _cache.Dispose(); return ValueTask.CompletedTask; }
    }
}
