using System.Diagnostics;
using System.Text;
using Fusion;
using LanguageExt;
using StackExchange.Redis;

namespace Demo;

/// <summary>
/// Two nodes (two FusionCache instances, each with its own Redis connection, one cache name) share Redis as L2
/// and as the backplane: (1) what A computes, B reads from L2 without its factory; (2) a Set on A reaches B through
/// the backplane; (3) on a redis-server the demo owns: Redis stops, both nodes keep serving, a Set on A is queued,
/// Redis restarts empty, the queued write is replayed and B converges on it.
/// </summary>
internal static class RedisScene
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);        // longer than the scene: what expires is what Redis does
    private static readonly TimeSpan FailSafeMax = TimeSpan.FromMinutes(1);      // also the keys' time to live in Redis
    private static readonly TimeSpan Query = TimeSpan.FromMilliseconds(50);      // the "database" query time
    private static readonly TimeSpan PropagationBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(1);

    /// <summary>A node: its cache and how often its factories ran.</summary>
    private sealed class Node(string name, FusionCache cache, Dictionary<string, int> database) : IDisposable
    {
        public string Name => name;
        public FusionCache Cache => cache;
        public int FactoryCalls;

        /// <summary>The shared "database": a 50 ms query.</summary>
        public async Task<Either<Err, int>> Load(string key)
        {
            Interlocked.Increment(ref FactoryCalls);
            await Task.Delay(Query);
            lock (database) return Either<Err, int>.Right(database[key]);
        }

        public ValueTask<Either<Err, int>> Read(string key) => cache.GetOrSet(key, () => Load(key));

        public void Dispose() => cache.Dispose();
    }

    /// <summary>Runs the scene on <paramref name="connection"/>, or on a redis-server of its own when null. False on a setup failure.</summary>
    public static async Task<bool> Run(string? connection)
    {
        OwnRedis? own = null;
        try
        {
            var clock = Stopwatch.StartNew();
            string cacheName;
            if (connection is null)
            {
                try
                {
                    own = await OwnRedis.Start();
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    Console.WriteLine($"  cannot start redis-server: {e.Message}");
                    return false;
                }
                connection = own.Endpoint;
                cacheName = "demo";
                Show.Line(clock, $"started redis-server pid {own.Pid} on {own.Endpoint} (no persistence; the demo kills it at the end)");
            }
            else
            {
                if (await Unreachable(connection) is { } why)
                {
                    Console.WriteLine($"  cannot use Redis at '{connection}': {why}");
                    return false;
                }
                cacheName = $"fusion-demo-{Guid.NewGuid().ToString("N")[..8]}"; // this run's keys only; they expire within a minute
            }

            var database = new Dictionary<string, int> { ["stock:42"] = 17, ["price"] = 100, ["stock:7"] = 3 };
            Node NewNode(string name) => new(name, new FusionCacheBuilder()
                .WithRedis(connection, cacheName)
                .WithDuration(Duration)
                .WithFailSafe(maxDuration: FailSafeMax)
                .Build(), database);
            using var a = NewNode("A");
            using var b = NewNode("B");
            Show.Line(clock, $"nodes A and B: two caches, each with its own connection, cacheName \"{cacheName}\" " +
                             $"(L2 keys {cacheName}:v1:*, channel {cacheName}:backplane:v1); Duration {Duration.TotalSeconds:0} s, fail-safe on");

            await Part1(clock, a, b);
            await Part2(clock, a, b, database);
            if (own is null)
            {
                Console.WriteLine();
                Console.WriteLine("  (3. the outage part runs with --redis alone: the demo then starts, stops and restarts its own redis-server)");
                return true;
            }
            return await Part3(clock, own, cacheName, a, b, database);
        }
        finally
        {
            own?.Dispose();
            if (own is not null) Console.WriteLine($"  redis-server on {own.Endpoint} killed, its directory deleted");
        }
    }

    /// <summary>(1) A computes the value; B finds it in L2 and does not call its factory.</summary>
    private static async Task Part1(Stopwatch clock, Node a, Node b)
    {
        Subtitle("1. A computes a value, B reads it from Redis (L2)");
        var (value, took) = await Timed(() => a.Read("stock:42"));
        Show.Line(clock, $"A: GetOrSet(\"stock:42\") -> {Show.Result(value)} in {took:0.0} ms  (A's factory calls: {a.FactoryCalls}: one {Query.TotalMilliseconds:0} ms query, then written to L2)");
        (value, took) = await Timed(() => b.Read("stock:42"));
        Show.Line(clock, $"B: GetOrSet(\"stock:42\") -> {Show.Result(value)} in {took:0.0} ms  (B's factory calls: {b.FactoryCalls}: found in L2)");
        (value, took) = await Timed(() => b.Read("stock:42"));
        Show.Line(clock, $"B: again -> {Show.Result(value)} in {took:0.000} ms  (from B's own L1 now)");
    }

    /// <summary>(2) A Set on A reaches B: the backplane drops B's copy, B's next read finds the new value in L2.</summary>
    private static async Task Part2(Stopwatch clock, Node a, Node b, Dictionary<string, int> database)
    {
        Subtitle("2. A Set on A is seen by B (backplane notification)");
        var before = (a.FactoryCalls, b.FactoryCalls);
        var fromA = await a.Read("price");
        var fromB = await b.Read("price");
        Show.Line(clock, $"A reads price -> {Show.Value(fromA)}, B reads price -> {Show.Value(fromB)}  " +
                         $"(factory calls: A {a.FactoryCalls - before.Item1}, B {b.FactoryCalls - before.Item2}); both hold it in L1 for {Duration.TotalSeconds:0} s");

        lock (database) database["price"] = 120; // the application writes the database, then the cache
        var setClock = Stopwatch.StartNew();
        await a.Cache.Set("price", 120);
        var setTook = setClock.Elapsed.TotalMilliseconds;
        Show.Line(clock, $"A: Set(\"price\", 120) in {setTook:0.0} ms  (returns once Redis has it; the notification follows in the background)");

        // Poll B (L1 hits until the notification drops its copy), bounded.
        var reads = 0;
        var oldReads = 0;
        var seen = Show.Value(fromB);
        while (setClock.Elapsed < PropagationBound)
        {
            reads++;
            seen = Show.Value(await b.Read("price"));
            if (seen == "120") break;
            oldReads++;
            if (setClock.Elapsed < TimeSpan.FromMilliseconds(100)) await Task.Yield(); // fine-grained at first
            else await Task.Delay(5);
        }
        var propagated = setClock.Elapsed.TotalMilliseconds;
        Show.Line(clock, seen == "120"
            ? $"B: polled GetOrSet(\"price\"): {oldReads} reads returned 100, then 120, {propagated:0.0} ms after the Set began " +
              $"({propagated - setTook:0.0} ms after it returned)  (B's factory calls: {b.FactoryCalls - before.Item2}: it re-read L2)"
            : $"B: still {seen} after {reads} reads in {PropagationBound.TotalSeconds:0} s: the notification did not arrive");
    }

    /// <summary>(3) Redis stops and restarts: calls keep succeeding, a Set during the outage is queued and replayed.</summary>
    private static async Task<bool> Part3(Stopwatch clock, OwnRedis own, string cacheName, Node a, Node b, Dictionary<string, int> database)
    {
        Subtitle("3. Redis stops and restarts: no call fails, a write made meanwhile is replayed");
        var pid = own.Pid;
        var stopTook = await Timed(own.Stop);
        Show.Line(clock, $"redis-server stopped (SHUTDOWN NOSAVE, pid {pid} gone in {stopTook:0} ms); it will restart empty");

        // Both nodes keep serving: every read during the outage, with its latency.
        var calls = 0;
        var succeeded = 0;
        var slowest = 0.0;
        var values = new SortedSet<string>();
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < OutageLength)
        {
            foreach (var node in new[] { a, b })
            foreach (var key in new[] { "stock:42", "price" })
            {
                var (value, took) = await Timed(() => node.Read(key));
                calls++;
                if (value.IsRight) succeeded++;
                slowest = Math.Max(slowest, took);
                values.Add($"{node.Name} {key}={Show.Value(value)}");
            }
            await Task.Delay(100);
        }
        Show.Line(clock, $"during {OutageLength.TotalSeconds:0} s without Redis: {calls} reads on A and B, {succeeded} succeeded, {calls - succeeded} failed, " +
                         $"slowest {slowest:0.000} ms (from L1: no call waits for Redis)");
        Show.Line(clock, $"  values served: {string.Join(", ", values)}");

        var before = a.FactoryCalls;
        var (stock, stockTook) = await Timed(() => a.Read("stock:7"));
        Show.Line(clock, $"A: GetOrSet(\"stock:7\"), a key nobody has -> {Show.Result(stock)} in {stockTook:0.0} ms  " +
                         $"(A's factory calls +{a.FactoryCalls - before}: the query; its L2 write is queued, not waited for)");

        lock (database) database["price"] = 150;
        var setTook = await Timed(() => a.Cache.Set("price", 150).AsTask());
        var onA = await a.Read("price");
        var onB = await b.Read("price");
        Show.Line(clock, $"A: Set(\"price\", 150) in {setTook:0.000} ms: queued for Redis, no error. A now reads {Show.Value(onA)}; " +
                         $"B reads {Show.Value(onB)} (it cannot hear of the Set before Redis is back)");

        var bFactoryBefore = b.FactoryCalls;
        var restart = Stopwatch.StartNew();
        try
        {
            await own.Restart();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            Show.Line(clock, $"redis-server could not restart on {own.Endpoint}: {e.Message}");
            return false;
        }
        var restartTook = restart.Elapsed.TotalMilliseconds;
        Show.Line(clock, $"redis-server restarted on the same port (pid {own.Pid}) in {restartTook:0} ms, empty; the nodes reconnect by themselves");

        // Poll B with TryGet, which never runs a factory: its answers can only come from its L1 or from Redis.
        // Also watch Redis for A's replayed write. Both bounded.
        var l2Key = $"{cacheName}:v1:price";
        var timeline = new List<(string What, double At)>();
        double? landedAt = null, convergedAt = null;
        string? inRedis = null;
        while (restart.Elapsed < RecoveryBound && (landedAt is null || convergedAt is null))
        {
            var tryGet = await b.Cache.TryGet<int>("price");
            var answer = tryGet.Match(Some: v => $"{v}", None: () => "no value");
            if (timeline.Count == 0 || timeline[^1].What != answer) timeline.Add((answer, restart.Elapsed.TotalMilliseconds));
            if (answer == "150") convergedAt ??= restart.Elapsed.TotalMilliseconds;
            if (landedAt is null && Payload(await Probe(own, "GET", l2Key)) is { } payload)
            {
                inRedis = payload;
                landedAt = restart.Elapsed.TotalMilliseconds;
            }
            await Task.Delay(2);
        }
        var keys = Encoding.UTF8.GetString(await Probe(own, "DBSIZE") ?? "?"u8.ToArray());

        Show.Line(clock, $"B: polled TryGet(\"price\") (never calls a factory), after the restart: " +
                         string.Join(" -> ", timeline.Select(t => $"{t.What} (from +{t.At:0} ms)")));
        if (timeline.Any(t => t.What == "no value"))
            Show.Line(clock, "  (no value: B was back and had marked its copy stale, as it may have missed notifications, " +
                             "but A's replay had not reached Redis yet; TryGet does not serve stale values)");
        Show.Line(clock, landedAt is { } landed
            ? $"Redis: {l2Key} = {inRedis} from +{landed:0} ms: A's queued write was replayed (Redis now holds {keys} keys; A had queued 2: stock:7 and price)"
            : $"Redis: {l2Key} still absent after {RecoveryBound.TotalSeconds:0} s: the queued write was not replayed");
        Show.Line(clock, convergedAt is { } converged
            ? $"B converged on 150, {converged:0} ms after the restart  (B's factory calls in this part: {b.FactoryCalls - bFactoryBefore})"
            : $"B did not converge on 150 within {RecoveryBound.TotalSeconds:0} s");
        var final = await b.Read("price");
        Show.Line(clock, $"B: GetOrSet(\"price\") -> {Show.Result(final)}; total factory calls: A {a.FactoryCalls}, B {b.FactoryCalls}");
        return landedAt is not null && convergedAt is not null;
    }

    /// <summary>The JSON payload of an L2 envelope (docs/wire-format.md: 38 header bytes, version 1), or null.</summary>
    private static string? Payload(byte[]? envelope) =>
        envelope is { Length: >= 38 } e && e[0] == 1 ? Encoding.UTF8.GetString(e, 38, e.Length - 38) : null;

    /// <summary>A command sent straight to the demo's redis-server (not through the caches); null if it fails.</summary>
    private static async Task<byte[]?> Probe(OwnRedis own, params string[] command)
    {
        try { return await own.Send(command); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException) { return null; }
    }

    /// <summary>Null when a connection to <paramref name="connection"/> answers PING, else why not.</summary>
    private static async Task<string?> Unreachable(string connection)
    {
        try
        {
            var options = ConfigurationOptions.Parse(connection);
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 3000;
            await using var probe = await ConnectionMultiplexer.ConnectAsync(options);
            await probe.GetDatabase().PingAsync();
            return null;
        }
        catch (Exception e) when (e is ArgumentException or RedisException or TimeoutException)
        {
            var message = e.Message;
            var cut = message.IndexOf(". ", StringComparison.Ordinal); // StackExchange.Redis appends advice and diagnostics
            return cut > 0 ? message[..(cut + 1)] : message;
        }
    }

    private static async Task<(T Value, double Ms)> Timed<T>(Func<ValueTask<T>> call)
    {
        var clock = Stopwatch.StartNew();
        var value = await call();
        return (value, clock.Elapsed.TotalMilliseconds);
    }

    private static async Task<double> Timed(Func<Task> call)
    {
        var clock = Stopwatch.StartNew();
        await call();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static void Subtitle(string text)
    {
        Console.WriteLine();
        Console.WriteLine($"  {text}");
    }
}
