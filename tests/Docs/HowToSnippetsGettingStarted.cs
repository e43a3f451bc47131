using Fusion.Tests.Support;
using LanguageExt;

namespace Fusion.Tests.Docs;

/// <summary>The C# blocks of docs/how-to/getting-started-csharp.md, run (memory only, real clock, nothing expires).</summary>
public sealed class HowToSnippetsGettingStarted
{
    public sealed record Product(int Id, string Name);

    private sealed class Db
    {
        public int Loads;

        public Task<Product> LoadProduct(int id, CancellationToken token)
        {
            Interlocked.Increment(ref Loads);
            return Task.FromResult(new Product(id, $"product {id}"));
        }

        public Task<int?> CountStock(int id, CancellationToken token) => Task.FromResult<int?>(id == 42 ? null : 7);

        public Task<decimal?> LoadPrice(int id, CancellationToken token) => Task.FromResult<decimal?>(9.99m);
    }

    private readonly Db db = new();

    [Fact]
    public async Task TheFirstCache()
    {
        var id = 42;
        // --- getting-started: first cache ---
        using var cache = new FusionCacheBuilder()
            .WithCapacity(10_000)                    // at most 10,000 entries in memory
            .WithDuration(TimeSpan.FromMinutes(5))   // how long an entry stays fresh
            .Build();

        Either<Err, Product> product = await cache.GetOrSet($"product:{id}", ctx => db.LoadProduct(id, ctx.CancellationToken));
        // --- end ---

        Assert.Equal("product 42", Expect.Right(product).Name);
        Assert.Equal("product 42", Expect.Right(await cache.GetOrSet($"product:{id}", ctx => db.LoadProduct(id, ctx.CancellationToken))).Name);
        Assert.Equal(1, db.Loads);
    }

    [Fact]
    public async Task TheFactoryShapes()
    {
        using var cache = new FusionCacheBuilder().Build();

        // --- getting-started: factory shapes ---
        // The value, with the context (the key, the cancellation token, what the source said last time): an exception
        // it throws (or a null it returns) is a failure.
        var product = await cache.GetOrSet("product:7", ctx => db.LoadProduct(7, ctx.CancellationToken));

        // Errors as values: return ctx.Ok(value) or ctx.Fail("why"), an Either<Err, T>.
        var stock = await cache.GetOrSet("stock:42", async ctx =>
        {
            var count = await db.CountStock(42, ctx.CancellationToken);
            if (count is null) return ctx.Fail("no stock record");
            return ctx.Ok(count.Value);
        });

        // The typed context (give T): adds the stale value, when there is one (fail-safe on, or an eager refresh).
        var price = await cache.GetOrSet<decimal>("price:42", async ctx =>
        {
            var loaded = await db.LoadPrice(42, ctx.CancellationToken);
            if (loaded is null) return ctx.StaleValue.Match(Some: old => ctx.Ok(old), None: () => ctx.Fail("no price"));
            return ctx.Ok(loaded.Value);
        });

        // An Either, no context: the shape of the first releases.
        Either<Err, int> either = await cache.GetOrSet("either", () => Task.FromResult(Either<Err, int>.Right(42)));
        // --- end ---

        Assert.Equal("product 7", Expect.Right(product).Name);
        Assert.Equal("factory failed: no stock record (key 'stock:42')", Expect.Left(stock).Message);
        Assert.Equal(9.99m, Expect.Right(price));
        Assert.Equal(42, Expect.Right(either));
    }

    [Fact]
    public async Task ReadingResults()
    {
        using var cache = new FusionCacheBuilder().Build();
        var product = await cache.GetOrSet("product:7", ctx => db.LoadProduct(7, ctx.CancellationToken));
        var stock = await cache.GetOrSet("stock:42", async ctx =>
        {
            var count = await db.CountStock(42, ctx.CancellationToken);
            if (count is null) return ctx.Fail("no stock record");
            return ctx.Ok(count.Value);
        });

        // --- getting-started: reading results ---
        string name = product.Match(
            Right: p => p.Name,
            Left: err => err switch
            {
                Err.FactoryFailed f => $"source failed: {f.Reason}",
                Err.FactoryTimedOut t => $"source too slow ({t.After})",
                Err.Cancelled => "the caller gave up",
                _ => err.Message,
            });

        int units = stock.IfLeft(0);                            // a default on failure
        string? why = stock.IsLeft ? stock.LeftToSeq().Head.Message : null;
        // --- end ---

        Assert.Equal("product 7", name);
        Assert.Equal(0, units);
        Assert.Equal("factory failed: no stock record (key 'stock:42')", why);
    }

    [Fact]
    public async Task SetTryGetRemoveExpire()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes(5)).Build();

        // --- getting-started: set, try-get, expire, remove ---
        await cache.Set("product:7", new Product(7, "Kettle"));             // fresh for the cache's duration

        Option<Product> cached = await cache.TryGet<Product>("product:7");  // never runs a factory
        string shown = cached.Match(Some: p => p.Name, None: () => "not cached");

        await cache.Expire("product:7");   // stale: the next GetOrSet runs its factory; still a fail-safe fallback
        await cache.Remove("product:7");   // gone: not even a fallback
        // --- end ---

        Assert.Equal("Kettle", shown);
        Assert.True((await cache.TryGet<Product>("product:7")).IsNone);
        Assert.Equal("product 7", Expect.Right(await cache.GetOrSet("product:7", ctx => db.LoadProduct(7, ctx.CancellationToken))).Name);
    }

    [Fact]
    public async Task ExpireKeepsAFallback_RemoveDoesNot()
    {
        using var cache = new FusionCacheBuilder().WithFailSafe().Build();
        Task<string> Down(FactoryContext ctx) => Task.FromException<string>(new HttpRequestException("down"));

        await cache.Set("k", "old");
        await cache.Expire("k");
        Assert.Equal("old", Expect.Right(await cache.GetOrSet("k", Down)));

        await cache.Remove("k");
        Expect.Left(await cache.GetOrSet("k", Down));
    }

    [Fact]
    public async Task TagsAndClear()
    {
        using var cache = new FusionCacheBuilder().WithDuration(TimeSpan.FromMinutes(5)).Build();

        // --- getting-started: tags and clear ---
        var tagged = new FusionCacheEntryOptions { Tags = ["tenant:7", "products"] };
        await cache.GetOrSet("product:7", ctx => db.LoadProduct(7, ctx.CancellationToken), tagged);

        await cache.RemoveByTag("tenant:7");                        // every entry tagged tenant:7 before now: absent
        await cache.RemoveByTag("products", allowFailSafe: true);   // stale instead: still a fail-safe fallback
        await cache.Clear();                                        // every entry written before now
        // --- end ---

        Assert.True((await cache.TryGet<Product>("product:7")).IsNone);
        await cache.GetOrSet("product:7", ctx => db.LoadProduct(7, ctx.CancellationToken), tagged);
        Assert.Equal(2, db.Loads);
        Assert.True((await cache.TryGet<Product>("product:7")).IsSome); // written after the invalidations: untouched
    }
}
