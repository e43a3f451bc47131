using System.Net;
using System.Net.Http.Headers;
using LanguageExt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Fusion.Tests.Docs;

/// <summary>The README's C# blocks, compiled (DocSnippetTests checks they are the README's, line for line); the quick
/// start also runs.</summary>
public sealed class ReadmeSnippets
{
    public sealed record Product(int Id, string Name);

    public sealed record Rates(decimal Usd)
    {
        public static readonly Rates Empty = new(0m);
    }

    private sealed class Db
    {
        public Task<Product> LoadProduct(int id, CancellationToken token) => Task.FromResult(new Product(id, $"product {id}"));
        public Task<int?> CountStock(int id, CancellationToken token) => Task.FromResult<int?>(id == 42 ? null : 7);
    }

    private readonly Db db = new();

    private static Task<decimal> LoadPrice(int id, CancellationToken token) => Task.FromResult(9.99m);

    private static Task<Rates> LoadRates(CancellationToken token) => Task.FromException<Rates>(new HttpRequestException("rates service down"));

    [Fact]
    public async Task TheCSharpQuickStart_Runs()
    {
        // --- README: C# quick start ---
        using var cache = new FusionCacheBuilder()
            .WithCapacity(10_000)
            .WithDuration(TimeSpan.FromMinutes(5))
            .WithFailSafe(maxDuration: TimeSpan.FromHours(2), throttle: TimeSpan.FromSeconds(30))
            .WithFactoryTimeouts(soft: TimeSpan.FromMilliseconds(100), hard: TimeSpan.FromSeconds(2))
            .Build();

        // A factory that returns the value: its exceptions are its errors.
        Either<Err, Product> product = await cache.GetOrSet("product:42", ctx => db.LoadProduct(42, ctx.CancellationToken));

        // Or errors as values: return ctx.Ok(value) or ctx.Fail("why") (or any Either<Err, T>).
        var stock = await cache.GetOrSet("stock:42", async ctx =>
        {
            var count = await db.CountStock(42, ctx.CancellationToken);
            if (count is null) return ctx.Fail("no stock record");
            return ctx.Ok(count.Value);
        });

        string text = product.Match(
            Right: p => p.Name,
            Left: err => err switch
            {
                Err.FactoryFailed f => $"source failed: {f.Reason}",
                Err.FactoryTimedOut t => $"source too slow ({t.After})",
                _ => err.Message,
            });

        // Per-call options override only what they set; a TimeSpan sets only the duration:
        var fast = new FusionCacheEntryOptions { Duration = TimeSpan.FromSeconds(10), EagerRefreshThreshold = 0.8 };
        var price = await cache.GetOrSet("price:42", ctx => LoadPrice(42, ctx.CancellationToken), fast);
        var quote = await cache.GetOrSet("quote:42", ctx => LoadPrice(42, ctx.CancellationToken), TimeSpan.FromSeconds(30));

        // A value fail-safe may serve when the source fails and nothing is cached yet:
        var rates = await cache.GetOrSet("rates", ctx => LoadRates(ctx.CancellationToken), failSafeDefaultValue: Rates.Empty);

        // The API our first user asked for stays: a factory of Either, no context.
        Either<Err, int> answer = await cache.GetOrSet("answer", () => Task.FromResult(Either<Err, int>.Right(42)));
        // --- end ---

        Assert.Equal("product 42", text);
        Assert.Equal("factory failed: no stock record (key 'stock:42')", Support.Expect.Left(stock).Message);
        Assert.Equal(9.99m, Support.Expect.Right(price));
        Assert.Equal(9.99m, Support.Expect.Right(quote));
        Assert.Same(Rates.Empty, Support.Expect.Right(rates));
        Assert.Equal(42, Support.Expect.Right(answer));
    }

    // Compiled, not run: they need a Redis server, a host, a web server.

    internal static void WithRedis()
    {
        // --- README: With Redis ---
        using var cache = new FusionCacheBuilder()
            .WithRedis("127.0.0.1:6379", cacheName: "orders", backgroundWrites: false)
            .WithFailSafe()
            .WithCircuitBreaker(TimeSpan.FromSeconds(5))   // optional: skip Redis for 5 s after an error
            .Build();                                       // at once: it connects in the background
        // --- end ---
    }

    internal static void InAnAspNetCoreApp(HostApplicationBuilder builder)
    {
        // --- README: In an ASP.NET Core app ---
        builder.Services.AddFusionCaching(FusionCacheBuilder.DefaultName, builder.Configuration.GetSection("Fusion:Caches:default"))
            .AsHybridCache();                                   // code written against HybridCache runs on Fusion
        builder.Services.AddFusionCaching("orders", o => { o.Duration = TimeSpan.FromMinutes(5); o.RedisConnectionString = "redis:6379"; });
        builder.Services.AddHealthChecks().AddFusionCache().AddFusionCache("orders");
        // inject FusionCache, [FromKeyedServices("orders")] FusionCache, FusionCacheProvider or HybridCache

        // OpenTelemetry: Fusion's spans and instruments (docs/observability.md lists them all)
        Sdk.CreateTracerProviderBuilder().AddSource(FusionCacheTelemetry.ActivitySourceName) /* + your exporter */ .Build();
        Sdk.CreateMeterProviderBuilder().AddMeter(FusionCacheTelemetry.MeterName) /* + your exporter */ .Build();
        // --- end ---
    }

    internal static async Task ConditionalRefresh(FusionCache cache, HttpClient http)
    {
        // --- README: conditional refresh ---
        var page = await cache.GetOrSet<string>("page:/", async ctx =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.com/");
            if (ctx.StaleETag is { } etag) request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(etag));
            using var response = await http.SendAsync(request, ctx.CancellationToken);
            if (response.StatusCode == HttpStatusCode.NotModified) return ctx.NotModified();
            return ctx.Modified(await response.Content.ReadAsStringAsync(), response.Headers.ETag?.ToString());
        }, new FusionCacheEntryOptions { IsFailSafeEnabled = true });
        // --- end ---
    }
}
