using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Fusion.Tests.Docs;

/// <summary>The C# blocks of docs/how-to/migrating.md.</summary>
public sealed class HowToSnippetsMigrating
{
    public sealed record Product(int Id, string Name);

    private sealed class Db
    {
        public Task<Product> LoadProduct(int id, CancellationToken token) => Task.FromResult(new Product(id, $"product {id}"));
    }

    private readonly Db db = new();

    [Fact]
    public async Task FromFusionCache()
    {
        using var cache = new FusionCacheBuilder().Build();
        var id = 42;

        // --- migrating: from FusionCache ---
        // FusionCache: await cache.GetOrSetAsync<Product>($"product:{id}", async (ctx, ct) => await db.LoadProduct(id, ct),
        //                  options => options.SetDuration(TimeSpan.FromMinutes(5)).SetFailSafe(true), tags: ["products"]);
        var product = await cache.GetOrSet($"product:{id}", ctx => db.LoadProduct(id, ctx.CancellationToken),
            new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(5), IsFailSafeEnabled = true, Tags = ["products"] });
        Product value = product.Match(Right: p => p, Left: err => throw new InvalidOperationException(err.Message));   // to throw as before
        // --- end ---

        Assert.Equal("product 42", value.Name);
    }

    [Fact]
    public async Task FromHybridCache()
    {
        using var cache = new FusionCacheBuilder().Build();
        var id = 42;

        // --- migrating: from HybridCache ---
        // HybridCache: await hybrid.GetOrCreateAsync($"product:{id}", async ct => await db.LoadProduct(id, ct),
        //                  new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(5) }, tags: ["products"]);
        Either<Err, Product> product = await cache.GetOrSet($"product:{id}", ctx => db.LoadProduct(id, ctx.CancellationToken),
            new FusionCacheEntryOptions { Duration = TimeSpan.FromMinutes(5), Tags = ["products"] });
        // --- end ---

        Assert.Equal("product 42", Expect.Right(product).Name);
    }

    internal static void HybridCacheFace(HostApplicationBuilder builder)
    {
        // --- migrating: keep HybridCache ---
        builder.Services.AddFusionHybridCache(o =>      // the default Fusion cache, injected as HybridCache too
        {
            o.Duration = TimeSpan.FromMinutes(5);
            o.IsFailSafeEnabled = true;
            o.RedisConnectionString = builder.Configuration["Redis:Cache"];
        });
        // --- end ---
    }

    internal static void HybridCacheFaceOfANamedCache(HostApplicationBuilder builder)
    {
        // --- migrating: keep HybridCache on a named cache ---
        builder.Services.AddFusionCaching("orders", builder.Configuration.GetSection("Fusion:Caches:orders"))
            .AsHybridCache();                            // HybridCache is now this cache
        // --- end ---
    }

    internal static void HybridCacheByHand(FusionCache cache)
    {
        // --- migrating: a HybridCache over a cache you built ---
        HybridCache hybrid = new FusionHybridCache(cache, ownsCache: false);
        // --- end ---
    }
}
