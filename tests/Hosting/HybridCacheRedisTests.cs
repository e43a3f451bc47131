using System.Text;
using Fusion.Tests.Distributed.Support;
using Fusion.Tests.Redis.Support;
using Microsoft.Extensions.Caching.Hybrid;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Fusion.Tests.Hosting;

/// <summary>
/// <see cref="FusionHybridCache"/> over two Fusion nodes sharing a real Redis (L2 and the backplane): tags across
/// nodes, and values (null included) through L2's serializer.
/// </summary>
public sealed class HybridCacheRedisTests(RedisServerFixture redis, ITestOutputHelper log) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => redis.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private sealed class Pair(Nodes nodes) : IDisposable
    {
        public Nodes Nodes { get; } = nodes;
        public FusionHybridCache A { get; } = new(nodes.A);
        public FusionHybridCache B { get; } = new(nodes.B);

        /// <summary>A write on A, once B has applied its notification.</summary>
        public Task OnA(Func<FusionHybridCache, ValueTask> write) => Nodes.Delivered(0, _ => write(A));

        /// <inheritdoc cref="OnA(Func{FusionHybridCache, ValueTask})"/>
        public Task OnA<T>(Func<FusionHybridCache, ValueTask<T>> write) => Nodes.Delivered(0, _ => write(A).AsTask());

        public void Dispose() => Nodes.Dispose();
    }

    private async Task<(Pair Pair, IConnectionMultiplexer Admin)> Start()
    {
        var nodes = Nodes.Start(redis.Server.ConnectionString(), 2, b => b.WithDuration(TimeSpan.FromMinutes(5)), log);
        var admin = await Admin.Of(redis);
        await nodes.WaitSubscribed(admin);
        return (new Pair(nodes), admin);
    }

    [Fact]
    public async Task RemoveByTagAsync_OnOneNode_MakesTheOtherRunItsFactory_ForTaggedEntriesOnly()
    {
        var (pair, _) = await Start();
        using var _pair = pair;
        var onA = new Source<string>("from A");
        var onB = new Source<string>("from B");
        await pair.OnA(a => a.GetOrCreateAsync("red:1", onA.Get, tags: ["red"]));
        await pair.OnA(a => a.GetOrCreateAsync("blue:1", onA.Get, tags: ["blue"]));
        Assert.Equal("from A", await pair.B.GetOrCreateAsync("red:1", onB.Get, tags: ["red"]));
        Assert.Equal("from A", await pair.B.GetOrCreateAsync("blue:1", onB.Get, tags: ["blue"]));
        Assert.Equal(0, onB.Calls);

        await pair.OnA(a => a.RemoveByTagAsync("red"));

        Assert.Equal("from B", await pair.B.GetOrCreateAsync("red:1", onB.Get, tags: ["red"]));
        Assert.Equal("from A", await pair.B.GetOrCreateAsync("blue:1", onB.Get, tags: ["blue"]));
        Assert.Equal(1, onB.Calls);
        await pair.Nodes.WaitApplied(0, 1); // B's write of red:1, announced to A
        Assert.Equal("from B", await pair.A.GetOrCreateAsync("red:1", onA.Get, tags: ["red"]));
        Assert.Equal(2, onA.Calls);
    }

    [Fact]
    public async Task RemoveByTagAsyncOfTheWildcard_OnOneNode_EmptiesTheOther()
    {
        var (pair, _) = await Start();
        using var _pair = pair;
        var onB = new Source<string>("from B");
        await pair.OnA(a => a.SetAsync("k", "from A"));
        Assert.Equal("from A", await pair.B.GetOrCreateAsync("k", onB.Get));

        await pair.OnA(a => a.RemoveByTagAsync("*"));

        Assert.Equal("from B", await pair.B.GetOrCreateAsync("k", onB.Get));
    }

    [Fact]
    public async Task ANullValue_RoundTripsThroughL2()
    {
        var (pair, admin) = await Start();
        using var _pair = pair;
        var onB = new Source<string?>("from B");
        var nullableOnB = new Source<int?>(-1);
        await pair.OnA(a => a.SetAsync<string?>("set null", null));
        await pair.OnA(a => a.GetOrCreateAsync("computed null", _ => new ValueTask<string?>((string?)null)));
        await pair.OnA(a => a.SetAsync<int?>("int? null", null));

        Assert.Null(await pair.B.GetOrCreateAsync("set null", onB.Get));
        Assert.Null(await pair.B.GetOrCreateAsync("computed null", onB.Get));
        Assert.Null(await pair.B.GetOrCreateAsync("int? null", nullableOnB.Get));
        Assert.Equal(0, onB.Calls + nullableOnB.Calls);
        Assert.Equal("""{"Value":null}""", Encoding.UTF8.GetString((await admin.Stored(pair.Nodes, "set null")).Payload));
    }

    [Fact]
    public async Task ARecord_AndAValueType_RoundTripThroughL2()
    {
        var (pair, admin) = await Start();
        using var _pair = pair;
        var written = Product.Sample with { Note = "with a note" };
        await pair.OnA(a => a.SetAsync("product", written));
        await pair.OnA(a => a.GetOrCreateAsync("product without note", _ => new ValueTask<Product>(Product.Sample)));
        await pair.OnA(a => a.SetAsync("int", 42));

        var read = await pair.B.GetOrCreateAsync("product", _ => new ValueTask<Product>(Product.Sample));
        Assert.Equal(written, read);
        Assert.NotSame(written, read);
        Assert.Equal(Product.Sample, await pair.B.GetOrCreateAsync("product without note", _ => new ValueTask<Product>(written)));
        Assert.Equal(42, await pair.B.GetOrCreateAsync("int", _ => new ValueTask<int>(-1)));
        // A non-nullable value type is stored as it is, without the wrapper of values that may be null.
        Assert.Equal("42", Encoding.UTF8.GetString((await admin.Stored(pair.Nodes, "int")).Payload));
    }

    [Fact]
    public async Task DisableUnderlyingData_OnAnotherNode_ReadsL2()
    {
        var (pair, _) = await Start();
        using var _pair = pair;
        var onB = new Source<string>("from B");
        var cacheOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        await pair.OnA(a => a.SetAsync("k", "from A"));

        Assert.Equal("from A", await pair.B.GetOrCreateAsync("k", onB.Get, cacheOnly));
        Assert.Null(await pair.B.GetOrCreateAsync("absent", onB.Get, cacheOnly));
        Assert.Equal(0, onB.Calls);
    }

    [Fact]
    public async Task Expiration_IsTheL2Lifetime_AndDisableDistributedCacheWrite_KeepsTheValueOutOfL2()
    {
        var (pair, admin) = await Start();
        using var _pair = pair;
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(10), LocalCacheExpiration = TimeSpan.FromMinutes(1) };
        var before = DateTime.UtcNow;
        await pair.OnA(a => a.SetAsync("k", "v", options));

        var stored = await admin.Stored(pair.Nodes, "k");
        Assert.InRange(new DateTime(stored.LogicalExpiry, DateTimeKind.Utc), before.AddMinutes(10), DateTime.UtcNow.AddMinutes(10));

        await pair.OnA(a => a.SetAsync("local", "v", new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite }));
        Assert.False(await admin.GetDatabase().KeyExistsAsync(pair.Nodes.RedisKey("local")));
        Assert.Equal("from B", await pair.B.GetOrCreateAsync("local", _ => new ValueTask<string>("from B")));
    }
}
