using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>SEMANTICS §3 steps 1, 4 and 5 on one node: hits, misses, expiry, errors never cached.</summary>
public sealed class GetOrSetTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    private static TestCache NewCache() => TestCache.Create(b => b.WithDuration(Duration));

    [Fact]
    public async Task GetOrSet_WhenKeyIsMissing_CallsFactoryOnceAndReturnsItsValue()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Returning("v1");

        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenValueIsFresh_ReturnsItWithoutCallingFactory()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Returning("v1");
        await t.Cache.GetOrSet<string>("k", factory.Invoke);
        factory.NowReturns("v2");

        t.Advance(Duration - TimeSpan.FromTicks(1));

        Assert.Equal("v1", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(1, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenDurationHasElapsed_CallsFactoryAgainAndCachesTheNewValue()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Returning("v1");
        await t.Cache.GetOrSet<string>("k", factory.Invoke);
        factory.NowReturns("v2");

        t.Advance(Duration);

        Assert.Equal("v2", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal("v2", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WithParameterlessFactory_CachesItsValue()
    {
        using var t = NewCache();
        var calls = 0;
        Task<Either<Err, int>> Factory() => Task.FromResult(Either<Err, int>.Right(++calls * 10));

        Assert.Equal(10, await Expect.Right(t.Cache.GetOrSet<int>("k", Factory)));
        Assert.Equal(10, await Expect.Right(t.Cache.GetOrSet<int>("k", Factory)));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task GetOrSet_AfterSet_ReturnsTheSetValueWithoutCallingFactory()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Returning("from factory");
        await t.Cache.Set("k", "from set");

        Assert.Equal("from set", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(0, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsLeft_ErrorIsNotCachedAndNextCallRunsFactoryAgain()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Failing(Values.SourceDown);

        Assert.Equal(Values.SourceDown, await Expect.Left(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        factory.NowReturns("recovered");

        Assert.Equal("recovered", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
    }

    [Fact]
    public async Task GetOrSet_AfterFlightWhoseFactoryThrew_NextCallerStartsANewFlight()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Throwing(new InvalidOperationException("boom"));

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));
        Assert.Equal("boom", error.Reason);
        factory.NowReturns("v");

        Assert.Equal("v", await Expect.Right(t.Cache.GetOrSet<string>("k", factory.Invoke)));
        Assert.Equal(2, factory.Calls);
        Assert.Equal(0, t.Cache.InFlightCount);
    }

    [Fact]
    public async Task GetOrSet_WhenKeyHoldsAnotherType_ReturnsWrongTypeWithoutCallingFactory()
    {
        using var t = NewCache();
        await t.Cache.Set("k", 42);
        var factory = TestFactory<string>.Returning("text");

        var error = Expect.Left<Err.WrongType, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Equal(("k", "System.String", "System.Int32"), (error.Key, error.Expected, error.Actual));
        Assert.Equal(0, factory.Calls);
        Assert.Equal(42, Expect.Some(await t.Cache.TryGet<int>("k")));
    }

    [Fact]
    public async Task GetOrSet_WhenKeyHoldsASameNamedTypeOfAnotherNamespace_NamesBothInFull()
    {
        using var t = NewCache();
        await t.Cache.Set("k", new List<Shop.Product> { new() });

        var error = Expect.Left<Err.WrongType, List<Warehouse.Product>>(
            await t.Cache.GetOrSet("k", _ => Task.FromResult(new List<Warehouse.Product>())));

        Assert.Equal("System.Collections.Generic.List<Fusion.Tests.Warehouse.Product>", error.Expected);
        Assert.Equal("System.Collections.Generic.List<Fusion.Tests.Shop.Product>", error.Actual);
        Assert.Contains("List<Fusion.Tests.Shop.Product>", error.Message);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsNullTask_ReturnsFactoryFailedWithoutThrowing()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.From(_ => null!);

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Contains("null", error.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Null(error.Exception);
    }

    [Fact]
    public async Task GetOrSet_WhenFactoryReturnsBottomEither_ReturnsFactoryFailedWithoutThrowing()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.From(_ => Task.FromResult(default(Either<Err, string>)));

        var error = Expect.Left<Err.FactoryFailed, string>(await t.Cache.GetOrSet<string>("k", factory.Invoke));

        Assert.Contains("Bottom", error.Reason, StringComparison.Ordinal);
        Assert.Equal(0, t.Cache.InFlightCount);
    }

    [Fact]
    public async Task GetOrSet_FactoryContext_CarriesTheKeyAndNoStaleValueOnAColdKey()
    {
        using var t = NewCache();
        var factory = TestFactory<string>.Returning("v");

        await t.Cache.GetOrSet<string>("the-key", factory.Invoke);

        Assert.Equal("the-key", factory[1].Context.Key);
        Assert.True(factory[1].Context.StaleValue.IsNone);
        Assert.False(factory[1].Context.CancellationToken.IsCancellationRequested);
    }
}
