using System.Text.RegularExpressions;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Docs;

/// <summary>
/// The Redis ACL of docs/how-to/redis-setup.md, on a real redis-server: the <c>ACL SETUSER</c> line is read from the page
/// itself, applied as written, and two caches connecting as that user run every operation (GetOrSet, Set, TryGet, Expire,
/// Remove, RemoveByTag, Clear, across nodes through the backplane) with no Redis error logged and no denial in
/// <c>ACL LOG</c>. Without any one of its commands, an error or a denial appears.
/// </summary>
public sealed partial class RedisAclTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private const string Page = "docs/how-to/redis-setup.md";
    private const string User = "orders-app";
    private const string Password = "a-long-random-password";
    private const string CacheName = "orders";

    /// <summary>The page's ACL SETUSER line, as the arguments of the command (the shell's quotes removed).</summary>
    internal static string[] DocumentedAcl()
    {
        var line = File.ReadAllLines(Path.Combine(Root(), Page)).Single(l => l.StartsWith("redis-cli ACL SETUSER ", StringComparison.Ordinal));
        var args = line["redis-cli ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('\'')).ToArray();
        Assert.Equal(["ACL", "SETUSER", User], args[..3]);
        Assert.Contains($">{Password}", args);
        return args;
    }

    /// <summary>The commands the documented line grants (<c>+name</c>).</summary>
    public static TheoryData<string> DocumentedCommands()
    {
        var data = new TheoryData<string>();
        foreach (var arg in DocumentedAcl().Where(a => a.StartsWith('+'))) data.Add(arg[1..]);
        return data;
    }

    [Fact]
    public async Task TheDocumentedAcl_RunsEveryOperationAcrossTwoNodes_WithoutAnErrorOrADenial()
    {
        var outcome = await Run(DocumentedAcl(), waitFor: true);

        Assert.True(outcome.Problems.Count == 0, string.Join("\n", outcome.Problems) + "\n" + outcome);
        Assert.True(outcome.RedisErrors.Count == 0, outcome.ToString());
        Assert.True(outcome.Denials.Count == 0, outcome.ToString());
    }

    [Theory]
    [MemberData(nameof(DocumentedCommands))]
    public async Task WithoutOneOfItsCommands_AnL2ErrorOrADenialAppears(string command)
    {
        var acl = DocumentedAcl().Where(a => a != "+" + command).ToArray();

        var outcome = await Run(acl, waitFor: false);

        Assert.True(outcome.RedisErrors.Count > 0 || outcome.Denials.Count > 0, $"nothing went wrong without +{command}\n{outcome}");
        output.WriteLine($"without +{command}: {outcome.RedisErrors.Count} Redis error(s) logged, {outcome.Denials.Count} denial(s): " +
                         string.Join("; ", outcome.RedisErrors.Take(2).Concat(outcome.Denials.Take(3))));
    }

    private sealed record Outcome(List<string> Problems, List<string> RedisErrors, List<string> Denials, string Logs)
    {
        public override string ToString() =>
            $"Redis errors logged:\n  {string.Join("\n  ", RedisErrors)}\nACL LOG:\n  {string.Join("\n  ", Denials)}\nlogs:\n{Logs}";
    }

    /// <summary>Creates the user with <paramref name="acl"/>, runs the operations on two caches connected as it, and
    /// reports what did not behave, the Redis errors the caches logged (events 2000-2999, Warning or above) and the
    /// denials Redis recorded.</summary>
    private async Task<Outcome> Run(string[] acl, bool waitFor)
    {
        await redis.ResetAsync();
        var admin = await redis.ConnectAsync();
        var server = admin.GetServer(redis.Server.Endpoint);
        await server.ExecuteAsync("ACL", ["DELUSER", User]);
        await server.ExecuteAsync(acl[0], acl[1..].Cast<object>().ToArray());
        await server.ExecuteAsync("ACL", ["LOG", "RESET"]);

        // keepAlive=1: the client's keep-alive (a PING on an idle connection) runs within the test too.
        var connectionString = $"{redis.Server.Endpoint},user={User},password={Password},keepAlive=1";
        var logA = new RecordingLogger();
        var logB = new RecordingLogger();
        var problems = new List<string>();
        using (var a = Build(connectionString, logA))
        using (var b = Build(connectionString, logB))
        {
            var ready = await Eventually.Holds(() => a.Distributed!.IsReady && b.Distributed!.IsReady);
            if (!ready) problems.Add("the two caches did not both connect and subscribe");
            var calls = 0;
            Task<string> Load(string value)
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult(value);
            }
            async Task Expect(string what, Func<Task<bool>> check)
            {
                if (!await check()) problems.Add(what);
            }
            async Task<bool> Within(Func<Task<bool>> condition) =>
                waitFor ? await Eventually.Holds(async () => await condition()) : await condition();
            async Task<string> Read(FusionCache cache, string key, string fallback) =>
                (await cache.GetOrSet(key, _ => Load(fallback))).Match(v => v, e => "error: " + e.Message);

            // GetOrSet on A writes L2 (a script); B's miss reads it (GET) without running its factory.
            await Expect("A's GetOrSet returns the factory's value", async () => await Read(a, "product:1", "v1") == "v1");
            await Expect("B reads A's value from L2", async () => await Read(b, "product:1", "from B") == "v1");
            // Set on A: stored and announced (PUBLISH); B drops its copy and reads the new value.
            await a.Set("product:1", "v2");
            await Expect("B sees A's Set", () => Within(async () => await Read(b, "product:1", "from B") == "v2"));
            // TryGet on a node that never saw the key reads L2 too.
            using (var c = Build(connectionString, logB))
            {
                await Eventually.Holds(() => c.Distributed!.IsReady);
                await Expect("a third node's TryGet reads L2", async () => (await c.TryGet<string>("product:1")).Match(v => v == "v2", () => false));
            }
            // Expire on A (a script that rewrites the expiry in place): B's next read runs its factory.
            await a.Expire("product:1");
            await Expect("B sees A's Expire", () => Within(async () => await Read(b, "product:1", "after expire") == "after expire"));
            // Remove on A (a tombstone, by script).
            await a.Remove("product:1");
            await Expect("B sees A's Remove", () => Within(async () => await Read(b, "product:1", "after remove") == "after remove"));
            // A tagged entry, then RemoveByTag on A: a mark merged in L2 (script) and announced.
            await a.Set("product:2", "tagged", new FusionCacheEntryOptions { Tags = ["catalog"] });
            await Expect("B reads the tagged entry", () => Within(async () => await Read(b, "product:2", "from B") == "tagged"));
            await a.RemoveByTag("catalog");
            await Expect("B sees A's RemoveByTag", () => Within(async () => await Read(b, "product:2", "after tag") == "after tag"));
            // Clear on A: the cache-wide mark.
            await a.Set("product:3", "before clear");
            await Expect("B reads product:3", () => Within(async () => await Read(b, "product:3", "from B") == "before clear"));
            await a.Clear();
            await Expect("B sees A's Clear", () => Within(async () => await Read(b, "product:3", "after clear") == "after clear"));
            // What every node did in the background (replays, notifications, keep-alives) has had its chance to fail.
            await Task.Delay(TimeSpan.FromSeconds(3));
        }

        var errors = logA.Lines.Concat(logB.Lines)
            .Where(l => l.Event.Id is >= 2000 and < 3000 && l.Level >= LogLevel.Warning)
            .Select(l => $"{l.Event.Id} {l.Event.Name}: {l.Message}").ToList();
        var denials = new List<string>();
        var log = await server.ExecuteAsync("ACL", ["LOG"]);
        foreach (var entry in (RedisResult[])log!)
        {
            var fields = (RedisResult[])entry!;
            var map = new Dictionary<string, string>();
            for (var i = 0; i + 1 < fields.Length; i += 2) map[(string)fields[i]!] = fields[i + 1].ToString();
            denials.Add($"{map.GetValueOrDefault("username")} {map.GetValueOrDefault("reason")} {map.GetValueOrDefault("object")} ({map.GetValueOrDefault("context")})");
        }
        var logs = string.Join("\n", logA.Lines.Concat(logB.Lines).Select(l => $"  {l.Level} {l.Event.Id}: {l.Message}"));
        return new Outcome(problems, errors, denials, logs);
    }

    private static FusionCache Build(string connectionString, ILogger log) =>
        new FusionCacheBuilder()
            .WithLogger(log)
            .WithLogLevels(new FusionCacheLogLevels { AggregationWindow = TimeSpan.Zero })
            .WithDuration(TimeSpan.FromMinutes(1))
            // A loaded test machine must not turn a slow write into a queued one (event 2101): this test is about rights.
            .WithDefaultEntryOptions(new FusionCacheEntryOptions { DistributedCacheHardTimeout = TimeSpan.FromSeconds(10) })
            .WithCircuitBreaker(TimeSpan.Zero)
            .WithRedis(connectionString, cacheName: CacheName)
            .Build();

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Fusion.sln not found above " + AppContext.BaseDirectory);
    }
}
