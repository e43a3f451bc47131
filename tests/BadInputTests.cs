using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests;

/// <summary>SEMANTICS §3 step 7: programmer errors (a null or empty key, a null factory) throw at the call.</summary>
public sealed class BadInputTests
{
    private static readonly Func<FactoryContext<string>, Task<Either<Err, string>>> Factory =
        static _ => Task.FromResult(Either<Err, string>.Right("v"));

    public static TheoryData<string?> BadKeys => new() { null, "" };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void GetOrSet_WithANullOrEmptyKey_ThrowsArgumentException(string? key)
    {
        using var t = TestCache.Create();

        var thrown = Assert.Throws<ArgumentException>(() => { _ = t.Cache.GetOrSet(key!, Factory); });

        Assert.Equal("key", thrown.ParamName);
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void OtherOperations_WithANullOrEmptyKey_ThrowArgumentException(string? key)
    {
        using var t = TestCache.Create();

        Assert.Throws<ArgumentException>(() => { _ = t.Cache.Set(key!, "v"); });
        Assert.Throws<ArgumentException>(() => { _ = t.Cache.TryGet<string>(key!); });
        Assert.Throws<ArgumentException>(() => { _ = t.Cache.Remove(key!); });
        Assert.Throws<ArgumentException>(() => { _ = t.Cache.Expire(key!); });
    }

    [Fact]
    public void GetOrSet_WithANullFactory_ThrowsArgumentNullException()
    {
        using var t = TestCache.Create();

        var plain = Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.GetOrSet("k", (Func<Task<Either<Err, string>>>)null!); });
        var context = Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.GetOrSet("k", (Func<FactoryContext<string>, Task<Either<Err, string>>>)null!); });
        var withDefault = Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.GetOrSet("k", (Func<FactoryContext<string>, Task<Either<Err, string>>>)null!, Option<string>.Some("d")); });
        var inferring = Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.GetOrSet("k", (Func<FactoryContext, Task<Either<Err, string>>>)null!); });
        var valueWithContext = Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.GetOrSet("k", (Func<FactoryContext, Task<string>>)null!, Option<string>.Some("d")); });

        Assert.All(new[] { plain, context, withDefault, inferring, valueWithContext }, e => Assert.Equal("factory", e.ParamName));
    }

    [Fact]
    public void GetOrSet_WithANullFactoryOnAFreshKey_StillThrows()
    {
        using var t = TestCache.Create();
        _ = t.Cache.Set("k", "v");

        Assert.ThrowsAny<ArgumentException>(() => { _ = t.Cache.GetOrSet("k", (Func<FactoryContext<string>, Task<Either<Err, string>>>)null!); });
    }

    [Fact]
    public void Set_WithANullValue_ThrowsArgumentNullException()
    {
        using var t = TestCache.Create();

        Assert.Throws<ArgumentNullException>(() => { _ = t.Cache.Set<string>("k", null!); });
    }

    [Fact]
    public void Operations_AfterDispose_ThrowObjectDisposedException()
    {
        var t = TestCache.Create();
        t.Dispose();

        Assert.Throws<ObjectDisposedException>(() => { _ = t.Cache.GetOrSet("k", Factory); });
        Assert.Throws<ObjectDisposedException>(() => { _ = t.Cache.Set("k", "v"); });
    }
}
