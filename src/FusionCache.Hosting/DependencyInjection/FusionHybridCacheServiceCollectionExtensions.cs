using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fusion;

/// <summary>Fusion as the application's <see cref="HybridCache"/>: code written against Microsoft's abstraction runs on Fusion.</summary>
/// <example><code>
/// builder.Services.AddFusionCaching(o => o.RedisConnectionString = "redis:6379").AsHybridCache();
/// // inject HybridCache as usual
/// </code></example>
public static class FusionHybridCacheServiceCollectionExtensions
{
    /// <summary>Registers <see cref="HybridCache"/> as a <see cref="FusionHybridCache"/> over this cache (the container owns the
    /// Fusion cache; the HybridCache face does not dispose it). Replaces a HybridCache registered before.</summary>
    public static IFusionCachingBuilder AsHybridCache(this IFusionCachingBuilder builder)
    {
        if (builder is null) throw new ArgumentNullException(nameof(builder));
        var name = builder.Name;
        builder.Services.RemoveAll<HybridCache>();
        builder.Services.AddSingleton<HybridCache>(sp => new FusionHybridCache(sp.GetRequiredService<FusionCacheProvider>().GetCache(name), ownsCache: false));
        return builder;
    }

    /// <summary>The default Fusion cache, registered as the application's <see cref="HybridCache"/> too.</summary>
    public static IFusionCachingBuilder AddFusionHybridCache(this IServiceCollection services, Action<FusionCachingOptions>? configure = null) =>
        services.AddFusionCaching(configure).AsHybridCache();
}
