using Fusion.Tests.Support;

namespace Fusion.Tests;

/// <summary>
/// A write to a key (Set, Remove, Expire) supersedes the flight running for it (SEMANTICS §3.6, invariants
/// 10 and 11): a caller that arrives after the write never joins the older flight (its own factory runs), and
/// the older flight's result never lands over the write, whatever happens in between (a read, eviction).
/// Callers that joined the older flight before the write may still get its result; these tests do not look.
/// </summary>
public sealed class SupersessionTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private static readonly FusionCacheEntryOptions StaleAllowed = new() { AllowStaleOnReadOnly = true };

    private static async Task NothingCachedUnder(TestCache t, string key) =>
        await Throughout.Assert(async () => (await t.Cache.TryGet<string>(key, StaleAllowed)).IsNone, $"nothing is cached under '{key}'");

    private static async Task CallerAfterTheWrite_RunsItsOwnFactory(TestCache t, TestFactory<string> factory, ValueTask<LanguageExt.Either<Err, string>> first)
    {
        var second = t.Cache.GetOrSet<string>("k", factory.Invoke);

        Assert.True(factory.Calls == 2, $"a caller after the write must run its own factory, not join the older flight (factory calls: {factory.Calls})");
        factory[1].Succeed("old");
        await Eventually.Within(first);
        factory[2].Succeed("new");

        Assert.Equal("new", await Expect.Right(second));
        Assert.Equal("new", await t.Cached<string>("k"));
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "every flight ends");
    }

    [Fact]
    public async Task GetOrSet_StartedAfterARemoveDuringAFlight_RunsItsOwnFactoryAndGetsTheNewValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);

        await t.Cache.Remove("k");

        await CallerAfterTheWrite_RunsItsOwnFactory(t, factory, first);
    }

    [Fact]
    public async Task GetOrSet_StartedAfterASetThenRemoveDuringAFlight_RunsItsOwnFactoryAndGetsTheNewValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);

        await t.Cache.Set("k", "set during the flight");
        await t.Cache.Remove("k");

        await CallerAfterTheWrite_RunsItsOwnFactory(t, factory, first);
    }

    [Fact]
    public async Task GetOrSet_StartedAfterASetDuringAFlightHasExpired_RunsItsOwnFactoryAndGetsTheNewValue()
    {
        // The Set's value is newer than anything the running flight can produce: once it has expired, the
        // next caller must ask the source again, not take the older flight's result.
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);

        await t.Cache.Set("k", "set during the flight", new FusionCacheEntryOptions { Duration = TimeSpan.FromSeconds(1) });
        t.Advance(TimeSpan.FromSeconds(1));

        await CallerAfterTheWrite_RunsItsOwnFactory(t, factory, first);
    }

    [Fact]
    public async Task GetOrSet_StartedAfterASetThenExpireDuringAFlight_RunsItsOwnFactoryAndGetsTheNewValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);

        await t.Cache.Set("k", "set during the flight");
        await t.Cache.Expire("k");

        await CallerAfterTheWrite_RunsItsOwnFactory(t, factory, first);
    }

    [Fact]
    public async Task FlightResult_AfterARemoveDuringTheFlight_DoesNotBringTheKeyBack()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Remove("k");

        factory[1].Succeed("old");
        await Eventually.Within(first);

        await NothingCachedUnder(t, "k");
        factory.NowReturns("new");
        Assert.Equal("new", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "every flight ends");
    }

    [Fact]
    public async Task FlightResult_AfterARemoveAndATryGetDuringTheFlight_DoesNotBringTheKeyBack()
    {
        // The read between the Remove and the factory's completion must not erase the record of the Remove.
        using var t = TestCache.Create(b => b.WithDuration(Duration));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Remove("k");

        Expect.None(await t.Cache.TryGet<string>("k"));
        factory[1].Succeed("old");
        await Eventually.Within(first);

        await NothingCachedUnder(t, "k");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "every flight ends");
    }

    [Fact]
    public async Task FlightResult_AfterARemoveAndCapacityPressureDuringTheFlight_DoesNotBringTheKeyBack()
    {
        // Other keys written between the Remove and the factory's completion push the key out of a small L1:
        // the record of the Remove must outlive the eviction.
        using var t = TestCache.Create(b => b.WithDuration(Duration).WithCapacity(2));
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Remove("k");

        for (var i = 0; i < 4; i++) await t.Cache.Set($"other-{i}", "filler");
        factory[1].Succeed("old");
        await Eventually.Within(first);

        await NothingCachedUnder(t, "k");
        await Eventually.Assert(() => t.Cache.InFlightCount == 0, "every flight ends");
    }

    [Fact]
    public async Task FlightResult_AfterASetThenExpireDuringTheFlight_DoesNotReplaceTheExpiredValue()
    {
        using var t = TestCache.Create(b => b.WithDuration(Duration).WithFailSafe());
        var factory = TestFactory<string>.Waiting();
        var first = t.Cache.GetOrSet<string>("k", factory.Invoke);
        await t.Cache.Set("k", "set during the flight");
        await t.Cache.Expire("k");

        factory[1].Succeed("old");
        await Eventually.Within(first);

        await Throughout.Assert(async () => (await t.Cache.TryGet<string>("k")).IsNone, "no fresh value after the Expire");
        Assert.Equal("set during the flight", Expect.Some(await t.Cache.TryGet<string>("k", StaleAllowed)));
    }
}
