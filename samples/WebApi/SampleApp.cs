using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using System.Diagnostics;

namespace Fusion.Samples.WebApi;

/// <summary>The web API, built so that a test can start it on a loopback port.</summary>
public static class SampleApp
{
    /// <summary>Spans the app recorded (the sample exports to memory; a real app adds an OTLP exporter).</summary>
    public static readonly List<Activity> Spans = [];

    /// <summary>Metrics the app recorded.</summary>
    public static readonly List<Metric> Metrics = [];

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Fusion: options from appsettings (Fusion:Caches:default), validated at start-up; Redis when
        // Fusion:Caches:default:RedisConnectionString is set; the same cache as the app's HybridCache.
        builder.Services.AddFusionCaching(FusionCacheBuilder.DefaultName, builder.Configuration.GetSection("Fusion:Caches:default")).AsHybridCache();
        builder.Services.AddHealthChecks().AddFusionCache();
        builder.Services.AddSingleton<Catalog>();

        // OpenTelemetry: Fusion's ActivitySource and Meter are both named "Fusion.Caching".
        // (AlwaysOn: the request's own activity is not recorded here, as this sample has no ASP.NET Core instrumentation,
        // and the default parent-based sampler would then drop Fusion's spans under it.)
        builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder().SetSampler(new AlwaysOnSampler())
            .AddSource(FusionCacheTelemetry.ActivitySourceName).AddInMemoryExporter(Spans).Build()!);
        builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder().AddMeter(FusionCacheTelemetry.MeterName).AddInMemoryExporter(Metrics).Build()!);

        var app = builder.Build();
        // Start the providers with the app (and dispose them with it).
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            app.Services.GetRequiredService<TracerProvider>();
            app.Services.GetRequiredService<MeterProvider>();
        });

        // Fusion's own API: errors are values; fail-safe serves the last good product while the catalog is down.
        app.MapGet("/products/{id:int}", async (int id, FusionCache cache, Catalog catalog, CancellationToken token) =>
        {
            var result = await cache.GetOrSet<Product>($"product:{id}", async ctx =>
            {
                try { return Either<Err, Product>.Right(await catalog.Load(id, ctx.CancellationToken)); }
                catch (Exception ex) { return Either<Err, Product>.Left(Err.Of(ex)); }
            }, new FusionCacheEntryOptions { Tags = ["products"] }, token);
            return result.Match(Right: Results.Ok, Left: err => Results.Problem(err.Message, statusCode: StatusCodes.Status503ServiceUnavailable));
        });

        // Code written against Microsoft's HybridCache runs on Fusion.
        app.MapGet("/prices/{id:int}", async (int id, HybridCache cache, Catalog catalog, CancellationToken token) =>
            Results.Ok(await cache.GetOrCreateAsync($"price:{id}", async t => (await catalog.Load(id, t)).Price, tags: ["products"], cancellationToken: token)));

        // Stale, not gone: the products stay fail-safe fallbacks while the next reads refresh them.
        app.MapDelete("/products", async (FusionCache cache) => { await cache.RemoveByTag("products", allowFailSafe: true); return Results.NoContent(); });
        app.MapPost("/catalog/down", (Catalog catalog) => { catalog.Down = true; return Results.NoContent(); });
        app.MapPost("/catalog/up", (Catalog catalog) => { catalog.Down = false; return Results.NoContent(); });
        app.MapGet("/stats", (Catalog catalog) => Results.Ok(new { reads = catalog.Reads }));
        app.MapHealthChecks("/health");
        return app;
    }
}
