using System.Diagnostics;
using System.Globalization;
using Fusion.Tests.Redis.Support;
using LanguageExt;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Fusion.Bench;

/// <summary>
/// Multi-node throughput (<c>--multi-node short|long</c>): three nodes of one cache, in this process, each with its own
/// <c>ConnectionMultiplexer</c> (its L2 and its backplane share it), over one <c>redis-server</c> on loopback started for
/// the run (a fresh server per cache and round). <see cref="WorkersPerNode"/> async workers per node replay a Zipf trace
/// (s = <see cref="Exponent"/>, <see cref="KeyCount"/> keys, each worker from its own offset): 90% reads
/// (<c>GetOrSet</c>, whose factory must never run: every key is written before the run) and 10% writes (<c>Set</c> of a
/// new, globally increasing version). The operations completed in a fixed window, after a warm-up, give the ops/s.
/// <para>
/// Checks: a read is <b>fresh</b> if it returns a version at least as new as the newest write of that key that had
/// completed (its <c>Set</c> returned, on any node) before the read began, <b>stale</b> otherwise; an exception, an
/// error result or a factory run is a <b>failure</b>. After the window the workers stop, and after a pause every
/// written key is read on every node: the nodes must agree (they converged) and should hold the newest version (two
/// concurrent <c>Set</c>s of one key may land in Redis in the other order, which no backplane repairs).
/// </para>
/// </summary>
internal static class MultiNode
{
    public const int Nodes = 3;
    public const int KeyCount = 10_000;
    public const double Exponent = 0.9;
    public const int WorkersPerNode = 4;
    public const int WritePercent = 10;
    private const int TraceLength = 1 << 20;
    private const string CacheName = "multinode";
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(1);

    private sealed record Setting(string Name, TimeSpan Warmup, TimeSpan Window, int Rounds);

    private static readonly Setting Short = new("short", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), 1);
    private static readonly Setting Long = new("long", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 3);

    private sealed record Result(string Cache, int Round, double Seconds, long Reads, long Writes, long Fresh, long Stale, long Failures,
        long FactoryCalls, int KeysChecked, int Disagreeing, int NotNewest, string Notes)
    {
        public double OpsPerSecond => (Reads + Writes) / Seconds;
    }

    public static async Task Run(string settingName, string resultsDirectory)
    {
        var setting = settingName switch { "short" => Short, "long" => Long, _ => throw new ArgumentException($"--multi-node short|long, not {settingName}") };
        var keys = ZipfTrace.Keys(KeyCount);
        var trace = ZipfTrace.Create(KeyCount, Exponent, TraceLength, seed: 11);
        Console.WriteLine($"Multi-node throughput ({setting.Name}): {Nodes} nodes in one process, {WorkersPerNode} workers each, {100 - WritePercent}% GetOrSet / {WritePercent}% Set, " +
                          $"Zipf s = {Exponent} over {KeyCount:N0} keys, warm-up {setting.Warmup.TotalSeconds:0} s, window {setting.Window.TotalSeconds:0} s, {setting.Rounds} round(s), {Environment.ProcessorCount} cores");
        var results = new List<Result>();
        for (var round = 1; round <= setting.Rounds; round++)
            foreach (var cache in new[] { "FusionCache", "Fusion" })
            {
                var result = await RunOne(cache, round, setting, keys, trace);
                results.Add(result);
                Console.WriteLine($"// {cache} round {round}: {result.OpsPerSecond:N0} ops/s, {result.Reads:N0} reads ({result.Fresh:N0} fresh, {result.Stale:N0} stale), {result.Writes:N0} writes, " +
                                  $"{result.Failures} failures, {result.FactoryCalls} factory calls, converged: {result.KeysChecked:N0} keys × {Nodes} nodes, {result.Disagreeing} disagreeing, {result.NotNewest} not the newest; {result.Notes}");
            }

        Console.WriteLine();
        Console.WriteLine("| Cache | Round | Ops/s | Reads | Writes | Fresh reads | Stale reads | Failures | Factory calls | Keys checked after | Nodes disagreeing | Not the newest write |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            Console.WriteLine($"| {r.Cache} | {r.Round} | {r.OpsPerSecond:N0} | {r.Reads:N0} | {r.Writes:N0} | {r.Fresh:N0} | {r.Stale:N0} ({100.0 * r.Stale / Math.Max(1, r.Reads):0.00}%) | {r.Failures} | {r.FactoryCalls} | {r.KeysChecked:N0} | {r.Disagreeing} | {r.NotNewest} |");
        double MedianOps(string cache)
        {
            var ops = results.Where(r => r.Cache == cache).Select(r => r.OpsPerSecond).Order().ToList();
            return ops[ops.Count / 2];
        }
        var (fusion, ziggy) = (MedianOps("Fusion"), MedianOps("FusionCache"));
        Console.WriteLine();
        Console.WriteLine($"Median ops/s: Fusion {fusion:N0}, FusionCache {ziggy:N0}: Fusion ÷ FusionCache = {fusion / ziggy:0.00}×");

        Directory.CreateDirectory(resultsDirectory);
        var path = Path.Combine(resultsDirectory, $"multi-node-{setting.Name}.csv");
        File.WriteAllLines(path, results.Select(r => string.Join(',', r.Cache, r.Round, F(r.OpsPerSecond), r.Reads, r.Writes, r.Fresh, r.Stale, r.Failures, r.FactoryCalls, r.KeysChecked, r.Disagreeing, r.NotNewest))
            .Prepend("Cache,Round,OpsPerSecond,Reads,Writes,FreshReads,StaleReads,Failures,FactoryCalls,KeysChecked,Disagreeing,NotNewest"));
        Console.WriteLine($"wrote {path}");
    }

    private static async Task<Result> RunOne(string cache, int round, Setting setting, string[] keys, int[] trace)
    {
        await using var server = await RedisServer.StartAsync();
        var nodes = new Node[Nodes];
        for (var i = 0; i < Nodes; i++) nodes[i] = await Node.Create(cache, server.ConnectionString());
        try
        {
            foreach (var node in nodes) await node.Settled();
            await Preload(nodes, keys);
            await WaitUntilSubscribed(nodes);
            foreach (var node in nodes) await node.Settled();
            foreach (var node in nodes) node.FactoryCalls = 0;

            var latest = new long[KeyCount]; // newest version whose Set has returned, per key
            var version = 0L;
            var phase = 0; // 0 warm-up, 1 measured, 2 stop
            var counters = new Counters[Nodes * WorkersPerNode];
            var workers = new Task[counters.Length];
            for (var w = 0; w < workers.Length; w++)
            {
                var counter = counters[w] = new Counters();
                var node = nodes[w % Nodes];
                var offset = w * (TraceLength / workers.Length);
                var random = new Random(1000 + w);
                workers[w] = Task.Run(async () =>
                {
                    for (var i = offset; Volatile.Read(ref phase) < 2; i++)
                    {
                        var k = trace[i & (TraceLength - 1)];
                        var measured = Volatile.Read(ref phase) == 1;
                        try
                        {
                            if (random.Next(100) < WritePercent)
                            {
                                var v = Interlocked.Increment(ref version);
                                await node.Write(keys[k], v);
                                AtomicMax(ref latest[k], v);
                                if (measured) counter.Writes++;
                            }
                            else
                            {
                                var newest = Volatile.Read(ref latest[k]);
                                var (ok, value) = await node.Read(keys[k]);
                                if (!measured) continue;
                                counter.Reads++;
                                if (!ok) counter.Failures++;
                                else if (value >= newest) counter.Fresh++;
                                else counter.Stale++;
                            }
                        }
                        catch (Exception e)
                        {
                            if (measured) counter.Failures++;
                            counter.LastError = e.GetType().Name + ": " + e.Message;
                        }
                    }
                });
            }

            await Task.Delay(setting.Warmup);
            await using var serverStats = await ServerStats.Open(server);
            await serverStats.Reset();
            var clock = Stopwatch.StartNew();
            Volatile.Write(ref phase, 1);
            await Task.Delay(setting.Window);
            Volatile.Write(ref phase, 2);
            var seconds = clock.Elapsed.TotalSeconds;
            var redisWork = await serverStats.Read();
            await Task.WhenAll(workers);
            var factoryCalls = nodes.Sum(n => n.FactoryCalls);

            // Convergence: quiet, then every written key on every node.
            await Task.Delay(SettleTime);
            int checkedKeys = 0, disagreeing = 0, notNewest = 0;
            var odd = new List<(int Key, long[] Seen)>();
            for (var k = 0; k < KeyCount; k++)
            {
                if (Volatile.Read(ref latest[k]) == 0) continue;
                checkedKeys++;
                var seen = new long[Nodes];
                for (var n = 0; n < Nodes; n++) seen[n] = (await nodes[n].Read(keys[k])).Value;
                if (seen.Distinct().Count() > 1) disagreeing++;
                if (seen.All(v => v == latest[k])) continue;
                notNewest++;
                if (odd.Count < 5) odd.Add((k, seen));
            }
            // The keys that were off: what each node held, the newest write, and what they hold after 5 s more (a late
            // notice converges by then; a copy that missed its invalidation does not, until it expires).
            var oddNotes = new List<string>();
            if (odd.Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                foreach (var (k, seen) in odd)
                {
                    var later = new long[Nodes];
                    for (var n = 0; n < Nodes; n++) later[n] = (await nodes[n].Read(keys[k])).Value;
                    oddNotes.Add($"{keys[k]}: nodes held [{string.Join(", ", seen)}], newest {latest[k]}, 5 s later [{string.Join(", ", later)}]");
                }
            }

            var errors = counters.Select(c => c.LastError).Where(e => e is not null).Distinct().ToList();
            var operations = counters.Sum(c => c.Reads) + counters.Sum(c => c.Writes);
            var notes = string.Join("; ", nodes.Select(n => n.Notes()).Distinct().Append(errors.Count == 0 ? "no exception" : "exceptions: " + string.Join(" | ", errors))
                .Prepend(redisWork.Describe(operations)).Concat(oddNotes.Count == 0 ? [] : ["keys off the newest write: " + string.Join(" | ", oddNotes)]));
            return new Result(cache, round, seconds, counters.Sum(c => c.Reads), counters.Sum(c => c.Writes), counters.Sum(c => c.Fresh), counters.Sum(c => c.Stale),
                counters.Sum(c => c.Failures), factoryCalls, checkedKeys, disagreeing, notNewest, notes);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    /// <summary>What redis-server did in the window, per operation of the workload: commands by name and CPU time
    /// (<c>INFO commandstats</c> and <c>INFO cpu</c>, reset when the window opens). Counts, so the host's load does not
    /// change them: they say where each cache's Redis work goes.</summary>
    private sealed class ServerStats : IAsyncDisposable
    {
        private readonly ConnectionMultiplexer _admin;
        private readonly IServer _server;
        private double _cpuAtReset;

        private ServerStats(ConnectionMultiplexer admin, IServer server) { _admin = admin; _server = server; }

        public static async Task<ServerStats> Open(RedisServer redis)
        {
            var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString() + ",allowAdmin=true");
            return new ServerStats(admin, admin.GetServer(redis.Endpoint));
        }

        public async Task Reset()
        {
            await _server.ConfigResetStatisticsAsync();
            _cpuAtReset = await Cpu();
        }

        private async Task<double> Cpu()
        {
            var cpu = (await _server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
            return double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture);
        }

        public async Task<Work> Read()
        {
            var calls = new Dictionary<string, long>();
            foreach (var pair in (await _server.InfoAsync("commandstats")).SelectMany(g => g))
            {
                // cmdstat_get: calls=123,usec=456,...
                var name = pair.Key.StartsWith("cmdstat_", StringComparison.Ordinal) ? pair.Key["cmdstat_".Length..] : pair.Key;
                var field = pair.Value.Split(',').FirstOrDefault(f => f.StartsWith("calls=", StringComparison.Ordinal));
                if (field is not null) calls[name] = long.Parse(field["calls=".Length..], CultureInfo.InvariantCulture);
            }
            return new Work(calls, await Cpu() - _cpuAtReset);
        }

        public ValueTask DisposeAsync() { _admin.Dispose(); return ValueTask.CompletedTask; }
    }

    private sealed record Work(Dictionary<string, long> Calls, double CpuSeconds)
    {
        public string Describe(long operations) =>
            $"redis-server per operation: {F(CpuSeconds * 1e6 / Math.Max(1, operations))} µs CPU, " +
            string.Join(", ", Calls.Where(c => !c.Key.StartsWith("info", StringComparison.Ordinal) && !c.Key.StartsWith("config", StringComparison.Ordinal)).OrderByDescending(c => c.Value)
                .Select(c => $"{c.Key} {(c.Value / (double)Math.Max(1, operations)).ToString("F3", CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Version 0 of every key, written through node A, 64 at a time.</summary>
    private static async Task Preload(Node[] nodes, string[] keys)
    {
        var node = nodes[0];
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(keys.Select(async key =>
        {
            await gate.WaitAsync();
            try { await node.Write(key, 0); }
            finally { gate.Release(); }
        }));
        // Every key must be in Redis: read back on another node (its L1 is empty, so from L2), no factory run.
        foreach (var key in keys.Take(100))
            if ((await nodes[^1].Read(key)).Value != 0) throw new InvalidOperationException($"preload: {key} is not in Redis");
        if (nodes[^1].FactoryCalls != 0) throw new InvalidOperationException("preload: a read ran the factory");
    }

    /// <summary>Until each node's writes reach each other node through the backplane: the reader holds the probe in L1,
    /// the writer writes a new value, and the reader must return it (only an invalidation makes it leave its L1 copy).</summary>
    private static async Task WaitUntilSubscribed(Node[] nodes)
    {
        const string Probe = "multinode:probe";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        long next = -1;
        foreach (var writer in nodes)
            foreach (var reader in nodes.Where(n => n != writer))
            {
                await writer.Write(Probe, --next);
                while ((await reader.Read(Probe)).Value != next)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("a node's backplane did not hear another within 30 s");
                    await Task.Delay(10);
                }
                var value = --next;
                await writer.Write(Probe, value);
                while ((await reader.Read(Probe)).Value != value)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("a node's backplane did not hear another within 30 s");
                    await writer.Write(Probe, value);
                    await Task.Delay(10);
                }
            }
    }

    private static void AtomicMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private sealed class Counters
    {
        public long Reads, Writes, Fresh, Stale, Failures;
        public string? LastError;
    }

    /// <summary>One node of one cache: a read (GetOrSet whose factory must not run) and a write (Set).</summary>
    private abstract class Node : IAsyncDisposable
    {
        public long FactoryCalls;

        public abstract ValueTask<(bool Ok, long Value)> Read(string key);
        public abstract ValueTask Write(string key, long value);
        public abstract string Notes();
        public abstract ValueTask DisposeAsync();

        /// <summary>Until the node is connected and subscribed and owes Redis nothing. A node that writes before it is
        /// connected queues the writes (Redis "down" never fails a caller) and reads the keys it owes as misses until
        /// they are replayed, so a preload through a node still connecting made the factory run in the window.</summary>
        public virtual Task Settled() => Task.CompletedTask;

        public static async Task<Node> Create(string cache, string connectionString) => cache switch
        {
            "Fusion" => new FusionNode(connectionString),
            "FusionCache" => await ZiggyNode.Create(connectionString),
            _ => throw new ArgumentOutOfRangeException(nameof(cache), cache, "no such cache"),
        };
    }

    private sealed class FusionNode : Node
    {
        private readonly Fusion.FusionCache _cache;
        private readonly Func<Task<Either<Err, long>>> _factory;

        public FusionNode(string connectionString)
        {
            // Its own connection (WithRedis with a connection string), for L2 and the backplane; L1 holds every key.
            _cache = new FusionCacheBuilder().WithCapacity(KeyCount).WithDuration(Caches.Duration).WithLogger(_log)
                .WithRedis(connectionString, CacheName).Build();
            _factory = () => { Interlocked.Increment(ref FactoryCalls); return Task.FromResult(Either<Err, long>.Right(-1)); };
        }

        public override async ValueTask<(bool, long)> Read(string key) =>
            (await _cache.GetOrSet(key, _factory)).Match(Right: static v => (true, v), Left: static _ => (false, -2L));

        public override ValueTask Write(string key, long value) => _cache.Set(key, value);

        public override string Notes()
        {
            var d = _cache.Distributed!;
            return $"Fusion L2 counters: {d.FailedOperations} failed, {d.DroppedOperations} dropped, {d.UnreadablePayloads} unreadable, " +
                $"{d.Replayed} replayed, {d.RefusedWrites} refused; {_log.Describe()}";
        }

        public override ValueTask DisposeAsync() { _cache.Dispose(); return ValueTask.CompletedTask; }

        public override async Task Settled()
        {
            var d = _cache.Distributed!;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!d.IsReady || d.PendingRecoveries != 0)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"a Fusion node was not ready with nothing owed within 30 s ({d.PendingRecoveries} owed)");
                await Task.Delay(10);
            }
        }

        // Why a factory ran when it should not have (a lost connection, the breaker, writes queued before the node
        // connected): the node's events at Information and above, counted, the first line of each kept.
        private readonly EventLog _log = new();
    }

    /// <summary>A node's log: every event at Information or above counted by id and name, the first line of each kept.</summary>
    private sealed class EventLog : Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Count, string First)> _events = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = formatter(state, exception);
            _events.AddOrUpdate($"{logLevel} {eventId.Id} {eventId.Name}", _ => (1, line), (_, seen) => (seen.Count + 1, seen.First));
        }

        public string Describe() => _events.IsEmpty
            ? "nothing logged at Information or above"
            : "logged: " + string.Join(" | ", _events.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key} ×{e.Value.Count} (first: {e.Value.First})"));
    }

    private sealed class ZiggyNode : Node
    {
        private readonly ConnectionMultiplexer _connection;
        private readonly MemoryCache _memory;
        private readonly RedisCache _redis;
        private readonly RedisBackplane _backplane;
        private readonly ZiggyCreatures.Caching.Fusion.FusionCache _cache;
        private readonly Func<FusionCacheFactoryExecutionContext<long>, CancellationToken, Task<long>> _factory;

        private ZiggyNode(ConnectionMultiplexer connection)
        {
            _connection = connection;
            _memory = Caches.Memory();
            var shared = () => Task.FromResult<IConnectionMultiplexer>(connection);
            _redis = new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = shared });
            _backplane = new RedisBackplane(Options.Create(new RedisBackplaneOptions { ConnectionMultiplexerFactory = shared }));
            // Its defaults but the duration; L2 errors rethrown so that they count as failures here (backplane publishes
            // run in the background by default, so theirs can only be logged).
            _cache = new ZiggyCreatures.Caching.Fusion.FusionCache(
                new FusionCacheOptions
                {
                    CacheName = CacheName,
                    DefaultEntryOptions = new ZiggyCreatures.Caching.Fusion.FusionCacheEntryOptions
                    {
                        Duration = Caches.Duration,
                        ReThrowDistributedCacheExceptions = true,
                        ReThrowBackplaneExceptions = true,
                    },
                },
                _memory);
            _cache.SetupDistributedCache(_redis, new FusionCacheSystemTextJsonSerializer());
            _cache.SetupBackplane(_backplane);
            _factory = (_, _) => { Interlocked.Increment(ref FactoryCalls); return Task.FromResult(-1L); };
        }

        public static async Task<Node> Create(string connectionString) =>
            new ZiggyNode(await ConnectionMultiplexer.ConnectAsync(connectionString));

        public override async ValueTask<(bool, long)> Read(string key) => (true, await _cache.GetOrSetAsync<long>(key, _factory));

        public override ValueTask Write(string key, long value) => _cache.SetAsync(key, value);

        public override string Notes() => "FusionCache: L2 and backplane exceptions rethrown (counted as failures)";

        public override async ValueTask DisposeAsync()
        {
            _cache.Dispose();
            _memory.Dispose();
            _redis.Dispose();
            await _connection.DisposeAsync();
        }
    }
}
