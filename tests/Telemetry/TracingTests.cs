using System.Diagnostics;
using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests.Telemetry;

/// <summary>Spans of the "Fusion.Caching" source (an <see cref="ActivityListener"/>; docs/observability.md): one per
/// call that is not a fresh hit, the factory as its child, the commands; none for a fresh hit; the caller's activity
/// current again after every call.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class TracingTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static (TestCache Cache, SpanRecorder Spans) Start(Func<FusionCacheBuilder, FusionCacheBuilder>? configure = null)
    {
        var name = $"traces-{Guid.NewGuid():N}";
        var spans = new SpanRecorder(name);
        var t = TestCache.Create(b => (configure?.Invoke(b) ?? b).WithName(name).WithDuration(Duration));
        return (t, spans);
    }

    [Fact]
    public async Task AMiss_HasAGetOrSetSpan_WithTheFactoryAsItsChild_AndAFreshHitHasNone()
    {
        var (t, spans) = Start();
        using var _ = t;
        using var __ = spans;
        Activity? insideFactory = null;
        var factory = TestFactory<string>.From(_ =>
        {
            insideFactory = Activity.Current;
            return Task.FromResult(Either<Err, string>.Right("v"));
        });

        await t.Cache.GetOrSet<string>("product:1", factory.Invoke);
        await t.Cache.GetOrSet<string>("product:1", factory.Invoke);

        var call = Assert.Single(spans.Named("fusion.get_or_set"));
        var run = Assert.Single(spans.Named("fusion.factory"));
        Assert.Equal(call.SpanId, run.ParentSpanId);
        Assert.Same(run, insideFactory); // what the factory calls is traced under the factory's span
        Assert.Equal("product:1", call.GetTagItem("fusion.cache.key"));
        Assert.Equal("led", call.GetTagItem("fusion.cache.flight"));
        Assert.Equal("value", call.GetTagItem("fusion.cache.reply"));
        Assert.Equal("succeeded", run.GetTagItem("fusion.cache.factory.outcome"));
        Assert.Equal(ActivityStatusCode.Unset, call.Status);
        Assert.Equal(2, spans.Spans.Count); // the hit added none
    }

    [Fact]
    public async Task TheCallersActivity_IsCurrentAgainAfterEveryCall_SynchronousOrNot()
    {
        var (t, spans) = Start();
        using var _ = t;
        using var __ = spans;
        using var source = new ActivitySource("Fusion.Tests.Caller");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Fusion.Tests.Caller",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var request = source.StartActivity("request")!;

        await t.Cache.GetOrSet<string>("sync", TestFactory<string>.Returning("v").Invoke);
        Assert.Same(request, Activity.Current);
        var waiting = TestFactory<string>.Waiting();
        var pending = t.Cache.GetOrSet<string>("async", waiting.Invoke);
        Assert.Same(request, Activity.Current);
        waiting[1].Succeed("v");
        await Eventually.Within(pending);
        Assert.Same(request, Activity.Current);
        await t.Cache.Set("k", "v");
        await t.Cache.Remove("k");
        await t.Cache.Expire("k");
        await t.Cache.RemoveByTag("red");
        await t.Cache.Clear();
        Assert.Same(request, Activity.Current);

        Assert.All(spans.Named("fusion.get_or_set"), s => Assert.Equal(request.SpanId, s.ParentSpanId));
        Assert.Equal(["fusion.set", "fusion.remove", "fusion.expire", "fusion.remove_by_tag", "fusion.clear"],
            spans.Spans.Select(s => s.OperationName).Where(n => !n.StartsWith("fusion.get_or_set") && n != "fusion.factory"));
        Assert.Equal("red", Assert.Single(spans.Named("fusion.remove_by_tag")).GetTagItem("fusion.cache.tag"));
    }

    [Fact]
    public async Task AFailure_MarksTheSpansFailed_AndAFailSafeActivationIsAnEvent()
    {
        var (t, spans) = Start(b => b.WithFailSafe());
        using var _ = t;
        using var __ = spans;
        await t.SetThenAdvance("k", "old", Duration);
        await t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Err.Of("db down")).Invoke);
        await t.Cache.GetOrSet<string>("j", TestFactory<string>.Failing(Err.Of("db down")).Invoke);

        var run = spans.Named("fusion.factory");
        Assert.All(run, s =>
        {
            Assert.Equal(ActivityStatusCode.Error, s.Status);
            Assert.Equal("failed", s.GetTagItem("fusion.cache.factory.outcome"));
            Assert.Equal("FactoryFailed", s.GetTagItem("error.type"));
            Assert.Contains("db down", s.StatusDescription);
        });
        var calls = spans.Named("fusion.get_or_set");
        var served = Assert.Single(calls, s => Equals(s.GetTagItem("fusion.cache.key"), "k"));
        Assert.Equal("stale", served.GetTagItem("fusion.cache.reply"));
        Assert.Equal(ActivityStatusCode.Unset, served.Status);
        var activation = Assert.Single(served.Events);
        Assert.Equal("fusion.fail_safe.activated", activation.Name);
        var failed = Assert.Single(calls, s => Equals(s.GetTagItem("fusion.cache.key"), "j"));
        Assert.Equal("error", failed.GetTagItem("fusion.cache.reply"));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
    }

    [Fact]
    public async Task ATimeout_IsAnEventOfTheCallersSpan_AndAJoinerHasItsOwnSpan()
    {
        var (t, spans) = Start();
        using var _ = t;
        using var __ = spans;
        var factory = TestFactory<string>.Waiting();
        var leader = t.Cache.GetOrSet<string>("k", factory.Invoke, new FusionCacheEntryOptions { FactoryHardTimeout = TimeSpan.FromSeconds(1) });
        var joiner = t.Cache.GetOrSet<string>("k", factory.Invoke);
        t.Advance(TimeSpan.FromSeconds(1));
        Expect.Left(await Eventually.Within(leader));
        factory[1].Succeed("v");
        Assert.Equal("v", Expect.Right(await Eventually.Within(joiner)));

        var calls = spans.Named("fusion.get_or_set");
        var led = Assert.Single(calls, s => Equals(s.GetTagItem("fusion.cache.flight"), "led"));
        var joined = Assert.Single(calls, s => Equals(s.GetTagItem("fusion.cache.flight"), "joined"));
        Assert.Equal("fusion.factory.timed_out", Assert.Single(led.Events).Name);
        Assert.Equal("FactoryTimedOut", led.GetTagItem("error.type"));
        Assert.Equal("value", joined.GetTagItem("fusion.cache.reply"));
    }

    [Fact]
    public async Task AnEagerRefresh_IsARootSpan_WithItsFactoryAsItsChild()
    {
        var (t, spans) = Start();
        using var _ = t;
        using var __ = spans;
        var options = new FusionCacheEntryOptions { EagerRefreshThreshold = 0.5 };
        var factory = TestFactory<string>.Returning("v");
        await t.Cache.GetOrSet<string>("k", factory.Invoke, options);
        t.Advance(TimeSpan.FromSeconds(6));
        await t.Cache.GetOrSet<string>("k", factory.Invoke, options); // due: answered, refreshed in the background

        await Eventually.Assert(() => spans.Named("fusion.refresh").Count == 1, "the refresh span ends");
        var refresh = spans.Named("fusion.refresh")[0];
        Assert.Null(refresh.Parent);
        Assert.Equal(default, refresh.ParentSpanId);
        await Eventually.Assert(() => spans.Named("fusion.factory").Count == 2, "the refresh's factory span ends");
        Assert.Contains(spans.Named("fusion.factory"), s => s.ParentSpanId == refresh.SpanId);
    }
}
