using System.Diagnostics;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Fusion.Tests.Support;
using Fusion.Tests.Telemetry;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Fusion.Tests.Distributed;

/// <summary>The Redis package's instruments, spans and log events on a real redis-server (docs/observability.md): L2
/// reads and writes, backplane messages both ways, errors, the recovery queue and the circuit breaker; and no password
/// in any log line or span.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task L2ReadsAndWrites_AndBackplaneMessagesBothWays_AreCounted_AndTraced()
    {
        string a = NewName("a"), b = NewName("b");
        using var metricsA = new MetricRecorder(a);
        using var metricsB = new MetricRecorder(b);
        using var spans = new SpanRecorder(a);
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 0, output: log);
        nodes.Add(x => x.WithName(a).WithDuration(TimeSpan.FromMinutes(1)));
        nodes.Add(x => x.WithName(b).WithDuration(TimeSpan.FromMinutes(1)));
        var factory = TestFactory<string>.Returning("v");
        var red = new FusionCacheEntryOptions { Tags = ["red"] };

        await nodes.Delivered(0, n => n.GetOrSet<string>("k", factory.Invoke, red).AsTask()); // A: L2 miss, factory, L2 set, notice
        Assert.Equal("v", await Expect.Right(nodes.B.GetOrSet<string>("k", factory.Invoke, red))); // B: L2 hit
        await nodes.Delivered(0, n => n.Expire("k"));
        await nodes.Delivered(0, n => n.Remove("k"));
        await nodes.Delivered(0, n => n.RemoveByTag("red"));

        Assert.Equal(1, metricsA.Sum("fusion.cache.l2.reads", ("fusion.cache.l2.result", "miss")));
        Assert.Equal(1, metricsB.Sum("fusion.cache.l2.reads", ("fusion.cache.l2.result", "hit")));
        foreach (var operation in (string[])["set", "expire", "remove", "invalidate"])
        {
            Assert.Equal(1, metricsA.Sum("fusion.cache.l2.writes", ("fusion.cache.l2.operation", operation), ("fusion.cache.l2.result", "written")));
            Assert.Equal(1, metricsA.Sum("fusion.cache.backplane.sent", ("fusion.cache.backplane.message", operation)));
            Assert.Equal(1, metricsB.Sum("fusion.cache.backplane.received", ("fusion.cache.backplane.message", operation)));
        }
        Assert.Equal(0, metricsA.Sum("fusion.cache.backplane.received"));
        Assert.Equal(0, metricsA.Sum("fusion.cache.l2.errors"));
        Assert.Equal(0, metricsA.Observe("fusion.cache.recovery.queue_length"));
        Assert.Equal(0, metricsA.Observe("fusion.cache.circuit_breaker.state"));

        // The miss's span holds the flight: the L2 read, the factory, the L2 write and the notification.
        var call = Assert.Single(spans.Named("fusion.get_or_set"));
        var children = spans.Spans.Where(s => s.ParentSpanId == call.SpanId).Select(s => s.OperationName).ToHashSet();
        Assert.Equal(((string[])["fusion.l2.read", "fusion.factory", "fusion.l2.write", "fusion.backplane.publish"]).Order(), children.Order());
        Assert.Equal("miss", spans.Named("fusion.l2.read").Single().GetTagItem("fusion.cache.l2.result"));
        var remove = Assert.Single(spans.Named("fusion.remove"));
        Assert.Contains(spans.Named("fusion.l2.write"), s => s.ParentSpanId == remove.SpanId && Equals(s.GetTagItem("fusion.cache.l2.operation"), "remove"));
        var invalidation = Assert.Single(spans.Named("fusion.remove_by_tag"));
        Assert.Contains(spans.Named("fusion.l2.write"), s => s.ParentSpanId == invalidation.SpanId && Equals(s.GetTagItem("fusion.cache.l2.operation"), "invalidate"));
    }

    [Fact]
    public async Task ASlowRedis_CountsTheError_OpensTheBreaker_QueuesTheWrite_AndLogsAtTheUsersLevel()
    {
        var name = NewName("slow");
        using var metrics = new MetricRecorder(name);
        using var spans = new SpanRecorder(name);
        var logger = new RecordingLogger();
        using var nodes = Nodes.Start(redis.Server.ConnectionString(), 0, output: log);
        nodes.Add(x => x.WithName(name).WithLogger(logger).WithCircuitBreaker(TimeSpan.FromSeconds(30))
            .WithLogLevels(new FusionCacheLogLevels { DistributedError = LogLevel.Information }));
        await nodes.A.Set("warm", "up");

        await redis.Server.PauseAsync(TimeSpan.FromSeconds(3));
        await nodes.A.Set("j", "w"); // past the 1 s L2 timeout: failed, queued, and the breaker opens

        Assert.Equal(1, metrics.Sum("fusion.cache.l2.errors", ("fusion.cache.l2.operation", "write"), ("error.type", "System.TimeoutException")));
        Assert.Equal(1, metrics.Observe("fusion.cache.recovery.queue_length"));
        Assert.Equal(1, metrics.Observe("fusion.cache.circuit_breaker.state"));
        var line = Assert.Single(logger.Of(2101));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("write", line.Fields["What"]);
        Assert.Equal("j", line.Fields["Key"]);
        var write = spans.Named("fusion.l2.write").Single(s => Equals(s.GetTagItem("fusion.cache.key"), "j"));
        Assert.Equal(ActivityStatusCode.Error, write.Status);
        Assert.Equal("queued", write.GetTagItem("fusion.cache.l2.result"));
    }

    [Fact]
    public async Task APasswordInTheConnectionString_NeverAppearsInALogLineOrASpan()
    {
        const string password = "s3cret-pass-7f1c", wrong = "wrong-pass-2b9e";
        await using var server = await RedisServer.StartAsync();
        Assert.Equal("OK", await server.SendAsync("CONFIG", "SET", "requirepass", password));
        string name = NewName("auth"), other = NewName("wrong");
        using var spans = new SpanRecorder(name);
        using var otherSpans = new SpanRecorder(other);
        var logger = new RecordingLogger();
        var wrongLogger = new RecordingLogger();
        var levels = new FusionCacheLogLevels { AggregationWindow = TimeSpan.Zero };
        using var good = new FusionCacheBuilder().WithName(name).WithLogger(logger).WithLogLevels(levels)
            .WithRedis($"{server.Endpoint},password={password},abortConnect=false,connectTimeout=1000", "secured").Build();
        using var bad = new FusionCacheBuilder().WithName(other).WithLogger(wrongLogger).WithLogLevels(levels)
            .WithRedis($"{server.Endpoint},password={wrong},abortConnect=false,connectTimeout=1000", "secured").Build();
        await Poll.Until(() => Task.FromResult(good.Distributed!.IsReady), TimeSpan.FromSeconds(10), "the node with the password connects");

        var factory = TestFactory<string>.Returning("v");
        await good.GetOrSet<string>("k", factory.Invoke);
        await bad.GetOrSet<string>("k", factory.Invoke);
        server.Kill(); // the connection drops and every reconnect fails: logged, with Redis's reasons
        await good.Set("j", "w");
        await good.GetOrSet<string>("k2", factory.Invoke);
        Assert.True(await logger.Logged(2003), "the lost connection was not logged");
        Assert.True(await wrongLogger.Logged("could not connect to Redis"), "the failed authentication was not logged");

        var lines = logger.Lines.Concat(wrongLogger.Lines).ToList();
        foreach (var line in lines) log.WriteLine($"{line.Level} {line.Event.Id}: {line.Message}");
        Assert.DoesNotContain(lines, l => l.AllText.Contains(password) || l.AllText.Contains(wrong));
        var spanText = spans.Spans.Concat(otherSpans.Spans).SelectMany(s =>
            s.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(s.StatusDescription ?? "").Concat(s.Events.Select(e => e.Name)));
        Assert.DoesNotContain(spanText, text => text.Contains(password) || text.Contains(wrong));
    }
}
