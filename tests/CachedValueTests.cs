using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>GetOrSetEntry: the value with where it came from, whether it is stale, and when it was produced.</summary>
public sealed class CachedValueTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AMiss_ComesFromTheFactory_AndTheNextHitFromMemory_WithTheSameTimestamp()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var produced = t.Time.GetUtcNow();

        var miss = Expect.Right(await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult("v")));
        t.Advance(TimeSpan.FromSeconds(3));
        var hit = Expect.Right(await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult("other")));

        Assert.Equal(("v", false, ValueSource.Factory), (miss.Value, miss.IsStale, miss.Source));
        Assert.Equal(("v", false, ValueSource.Memory), (hit.Value, hit.IsStale, hit.Source));
        Assert.Equal(produced, miss.Timestamp);
        Assert.Equal(produced, hit.Timestamp);
    }

    [Fact]
    public async Task AValueSet_ReportsTheSetsInstant()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        t.Advance(TimeSpan.FromSeconds(1));
        var at = t.Time.GetUtcNow();
        await t.Cache.Set("k", 7);
        t.Advance(TimeSpan.FromSeconds(1));

        var hit = Expect.Right(await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult(0)));

        Assert.Equal((7, ValueSource.Memory, at), (hit.Value, hit.Source, hit.Timestamp));
    }

    [Fact]
    public async Task WhenTheSourceFails_FailSafesValue_IsStale_WithTheTimestampOfItsLastGoodWrite()
    {
        using var t = TestCache.WithFailSafe(Duration);
        var produced = t.Time.GetUtcNow();
        await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult("good"));
        t.Advance(Duration);

        var served = Expect.Right(await t.Cache.GetOrSetEntry<string>("k", ctx => throw new InvalidOperationException("down")));
        var throttled = Expect.Right(await t.Cache.GetOrSetEntry<string>("k", ctx => throw new InvalidOperationException("down")));

        Assert.Equal(("good", true, ValueSource.FailSafe, produced), (served.Value, served.IsStale, served.Source, served.Timestamp));
        Assert.Equal(("good", true, ValueSource.FailSafe, produced), (throttled.Value, throttled.IsStale, throttled.Source, throttled.Timestamp));
    }

    [Fact]
    public async Task TheDefaultValue_IsReportedAsSuch()
    {
        using var t = TestCache.WithFailSafe(Duration);

        var served = Expect.Right(await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult(Either<Err, string>.Left(ctx.Fail("down"))), Option<string>.Some("default")));

        Assert.Equal(("default", true, ValueSource.FailSafeDefault), (served.Value, served.IsStale, served.Source));
    }

    [Fact]
    public async Task AWaiterOfAFlight_ReportsTheFactory()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        var leader = t.Cache.GetOrSetEntry("k", ctx => release.Task);
        var joiner = t.Cache.GetOrSetEntry("k", ctx => Task.FromResult("never"));
        release.SetResult("v");

        Assert.Equal(ValueSource.Factory, Expect.Right(await leader).Source);
        Assert.Equal(("v", ValueSource.Factory), (Expect.Right(await joiner).Value, Expect.Right(await joiner).Source));
    }

    [Fact]
    public async Task AKeyOfAnotherType_IsWrongType()
    {
        using var t = TestCache.Create();
        await t.Cache.Set("k", 1);

        Assert.IsType<Err.WrongType>(Expect.Left(await t.Cache.GetOrSetEntry("k", ctx => Task.FromResult("v"))));
    }
}
