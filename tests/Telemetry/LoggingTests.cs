using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Logging;

namespace Fusion.Tests.Telemetry;

/// <summary>
/// The runtime's log events (docs/observability.md): each with its stable id and level, the levels the user sets, repeats
/// aggregated, keys escaped, and never a value.
/// </summary>
public sealed class LoggingTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private const int FactoryFailed = 1010, FactoryTimedOut = 1011, FailSafeActivated = 1012, FailSafeDefaultServed = 1013;

    private static TestCache FailSafeCache(FusionCacheLogLevels? levels = null) =>
        TestCache.Create(b =>
        {
            b = b.WithDuration(Duration).WithFailSafe();
            return levels is null ? b : b.WithLogLevels(levels);
        });

    [Fact]
    public async Task AFactoryThatReturnsLeft_IsLoggedAsFactoryFailed_AtWarning_WithTheKeyAndTheError()
    {
        using var t = TestCache.Create();
        var result = await t.Cache.GetOrSet<string>("product:42", TestFactory<string>.Failing(Err.Of("db is down")).Invoke);

        Expect.Left(result);
        var line = Assert.Single(t.Log.Of(FactoryFailed));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("FactoryFailed", line.Event.Name);
        Assert.Equal("product:42", line.Fields["Key"]);
        Assert.Contains("db is down", (string)line.Fields["Error"]!);
        Assert.Null(line.Exception);
        Assert.Equal(0L, line.Fields["Aggregated"]);
    }

    [Fact]
    public async Task AFactoryThatThrows_IsLoggedWithItsException()
    {
        using var t = TestCache.Create();
        var boom = new InvalidOperationException("connection reset by the source");
        Expect.Left(await t.Cache.GetOrSet<string>("k", TestFactory<string>.Throwing(boom).Invoke));

        var line = Assert.Single(t.Log.Of(FactoryFailed));
        Assert.Same(boom, line.Exception);
        Assert.Contains("connection reset by the source", line.Message);
    }

    [Fact]
    public async Task AFailSafeActivation_IsLogged_WithTheKeyHowStaleAndTheCycle_ButNotTheValue()
    {
        using var t = FailSafeCache();
        await t.SetThenAdvance("k", "the-stale-value-1234", Duration + TimeSpan.FromSeconds(5));

        var result = await t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Err.Of("source down")).Invoke);

        Assert.Equal("the-stale-value-1234", Expect.Right(result));
        var line = Assert.Single(t.Log.Of(FailSafeActivated));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("k", line.Fields["Key"]);
        Assert.Equal(1, line.Fields["Cycle"]);
        Assert.Equal(Duration + TimeSpan.FromSeconds(5), line.Fields["Age"]);
        Assert.Equal(TimeSpan.FromSeconds(5), line.Fields["StaleFor"]);
        Assert.Contains("source down", (string)line.Fields["Cause"]!);
        Assert.Single(t.Log.Of(FactoryFailed));
        Assert.DoesNotContain(t.Log.Lines, l => l.AllText.Contains("the-stale-value-1234"));
    }

    [Fact]
    public async Task ASecondActivation_CarriesTheNextCycle()
    {
        using var t = FailSafeCache();
        await t.SetThenAdvance("k", "old", Duration);
        var failing = TestFactory<string>.Failing(Err.Of("down"));
        await t.Cache.GetOrSet<string>("k", failing.Invoke);
        t.Advance(TimeSpan.FromSeconds(31)); // past the 30 s throttle and the aggregation window
        await t.Cache.GetOrSet<string>("k", failing.Invoke);

        Assert.Equal([1, 2], t.Log.Of(FailSafeActivated).Select(l => (int)l.Fields["Cycle"]!));
    }

    [Fact]
    public async Task TheFailSafeDefault_IsLoggedAsFailSafeDefaultServed()
    {
        using var t = FailSafeCache();
        var result = await t.Cache.GetOrSet("k", TestFactory<string>.Failing(Err.Of("down")).Invoke, Option<string>.Some("fallback"));

        Assert.Equal("fallback", Expect.Right(result));
        var line = Assert.Single(t.Log.Of(FailSafeDefaultServed));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("k", line.Fields["Key"]);
        Assert.Empty(t.Log.Of(FailSafeActivated));
    }

    [Fact]
    public async Task AHardTimeout_IsLoggedAsFactoryTimedOut_WithTheTimeoutAndWhatTheCallerGot()
    {
        using var t = TestCache.Create();
        var hard = new FusionCacheEntryOptions { FactoryHardTimeout = TimeSpan.FromSeconds(2) };
        var pending = t.Cache.GetOrSet<string>("k", TestFactory<string>.Waiting().Invoke, hard);
        t.Advance(TimeSpan.FromSeconds(2));

        Expect.Left<Err.FactoryTimedOut, string>(await Eventually.Within(pending));
        var line = Assert.Single(t.Log.Of(FactoryTimedOut));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("hard", line.Fields["Kind"]);
        Assert.Equal(TimeSpan.FromSeconds(2), line.Fields["Timeout"]);
        Assert.Contains("error", (string)line.Fields["Consequence"]!);
    }

    [Fact]
    public async Task ASoftTimeoutServingTheStaleValue_LogsTheTimeoutAndTheActivation()
    {
        using var t = FailSafeCache();
        await t.SetThenAdvance("k", "old", Duration);
        var soft = new FusionCacheEntryOptions { FactorySoftTimeout = TimeSpan.FromSeconds(1) };
        var pending = t.Cache.GetOrSet<string>("k", TestFactory<string>.Waiting().Invoke, soft);
        t.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("old", Expect.Right(await Eventually.Within(pending)));
        Assert.Equal("soft", Assert.Single(t.Log.Of(FactoryTimedOut)).Fields["Kind"]);
        var activation = Assert.Single(t.Log.Of(FailSafeActivated));
        Assert.Contains("timed out", (string)activation.Fields["Cause"]!);
    }

    [Fact]
    public async Task TheLevelsAreTheUsers()
    {
        var levels = new FusionCacheLogLevels { FactoryError = LogLevel.Error, FailSafeActivation = LogLevel.Information };
        using var t = FailSafeCache(levels);
        await t.SetThenAdvance("k", "old", Duration);
        await t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Err.Of("down")).Invoke);

        Assert.Equal(LogLevel.Error, Assert.Single(t.Log.Of(FactoryFailed)).Level);
        Assert.Equal(LogLevel.Information, Assert.Single(t.Log.Of(FailSafeActivated)).Level);
    }

    [Fact]
    public async Task LevelNone_SilencesAnEvent()
    {
        using var t = FailSafeCache(new FusionCacheLogLevels { FactoryError = LogLevel.None });
        await t.SetThenAdvance("k", "old", Duration);
        await t.Cache.GetOrSet<string>("k", TestFactory<string>.Failing(Err.Of("down")).Invoke);

        Assert.Empty(t.Log.Of(FactoryFailed));
        Assert.Single(t.Log.Of(FailSafeActivated));
    }

    [Fact]
    public async Task RepeatsWithinTheWindow_GoToDebug_AndTheNextOneAtItsLevelCountsThem()
    {
        using var t = TestCache.Create(b => b.WithLogLevels(new FusionCacheLogLevels { AggregationWindow = TimeSpan.FromSeconds(10) }));
        var failing = TestFactory<string>.Failing(Err.Of("down"));
        for (var i = 0; i < 4; i++) await t.Cache.GetOrSet<string>($"k{i}", failing.Invoke);
        t.Advance(TimeSpan.FromSeconds(10));
        await t.Cache.GetOrSet<string>("k4", failing.Invoke);

        var lines = t.Log.Of(FactoryFailed);
        Assert.Equal([LogLevel.Warning, LogLevel.Debug, LogLevel.Debug, LogLevel.Debug, LogLevel.Warning], lines.Select(l => l.Level));
        Assert.Equal(3L, lines[^1].Fields["Aggregated"]);
        Assert.Equal(["k0", "k1", "k2", "k3", "k4"], lines.Select(l => (string)l.Fields["Key"]!));
    }

    [Fact]
    public async Task AZeroWindow_LogsEveryOneAtItsLevel()
    {
        using var t = TestCache.Create(b => b.WithLogLevels(new FusionCacheLogLevels { AggregationWindow = TimeSpan.Zero }));
        var failing = TestFactory<string>.Failing(Err.Of("down"));
        for (var i = 0; i < 3; i++) await t.Cache.GetOrSet<string>($"k{i}", failing.Invoke);

        Assert.All(t.Log.Of(FactoryFailed), l => Assert.Equal(LogLevel.Warning, l.Level));
    }

    [Fact]
    public async Task AKeyWithControlCharacters_IsEscaped_SoItCannotForgeALine()
    {
        using var t = TestCache.Create();
        const string key = "user:1\nFusion: forged line\r\t\u0001";
        await t.Cache.GetOrSet<string>(key, TestFactory<string>.Failing(Err.Of("bad\nerror")).Invoke);

        var line = Assert.Single(t.Log.Of(FactoryFailed));
        Assert.Equal("user:1\\nFusion: forged line\\r\\t\\u0001", line.Fields["Key"]);
        Assert.Equal("factory failed: bad\\nerror", line.Fields["Error"]);
        Assert.DoesNotContain('\n', line.Message);
        Assert.DoesNotContain('\r', line.Message);
    }

    [Fact]
    public void WithLogLevels_RefusesAnUndefinedLevelOrANegativeWindow()
    {
        var level = Assert.Throws<ArgumentOutOfRangeException>(() => new FusionCacheBuilder().WithLogLevels(new FusionCacheLogLevels { FactoryTimeout = (LogLevel)42 }));
        Assert.Contains("FactoryTimeout = 42", level.Message);
        var window = Assert.Throws<ArgumentOutOfRangeException>(() => new FusionCacheBuilder().WithLogLevels(new FusionCacheLogLevels { AggregationWindow = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("AggregationWindow", window.Message);
        Assert.Throws<ArgumentNullException>(() => new FusionCacheBuilder().WithLogLevels(null!));
    }

    [Fact]
    public void TheDefaults_AreWarning_ButRefusalsAreErrors()
    {
        var d = FusionCacheLogLevels.Default;
        Assert.Equal(
            [LogLevel.Warning, LogLevel.Warning, LogLevel.Warning, LogLevel.Warning, LogLevel.Error],
            [d.FactoryError, d.FactoryTimeout, d.FailSafeActivation, d.DistributedError, d.DistributedRefusal]);
        Assert.Equal(TimeSpan.FromSeconds(10), d.AggregationWindow);
    }

    [Fact]
    public async Task TheExistingDebugEvents_KeepTheirIds()
    {
        using var t = TestCache.Create();
        var factory = TestFactory<string>.Waiting();
        var pending = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Set("k", "newer"); // supersedes the flight
        factory[1].Succeed("older");
        Assert.Equal("older", Expect.Right(await Eventually.Within(pending)));

        var line = Assert.Single(t.Log.Of(1002));
        Assert.Equal(LogLevel.Debug, line.Level);
        Assert.Equal("FlightSuperseded", line.Event.Name);
    }

    [Fact]
    public async Task NoLineEverCarriesAValue()
    {
        using var t = FailSafeCache(new FusionCacheLogLevels { AggregationWindow = TimeSpan.Zero });
        const string secret = "value-that-must-not-be-logged";
        await t.Cache.Set("a", secret);
        await t.Cache.GetOrSet<string>("b", TestFactory<string>.Returning(secret).Invoke);
        t.Advance(Duration);
        await t.Cache.GetOrSet<string>("a", TestFactory<string>.Failing(Err.Of("down")).Invoke);
        await t.Cache.GetOrSet("c", TestFactory<string>.Failing(Err.Of("down")).Invoke, Option<string>.Some(secret));

        Assert.NotEmpty(t.Log.Lines);
        Assert.DoesNotContain(t.Log.Lines, l => l.AllText.Contains(secret));
    }
}
