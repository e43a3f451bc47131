using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Fusion;

/// <summary>Registers Fusion caches with dependency injection. (Named so as not to meet FusionCache's <c>AddFusionCache</c>.)</summary>
/// <example><code>
/// builder.Services.AddFusionCaching(o => { o.Duration = TimeSpan.FromMinutes(5); o.IsFailSafeEnabled = true; });
/// builder.Services.AddFusionCaching("orders", builder.Configuration.GetSection("Fusion:Caches:orders"));
/// // inject FusionCache (the default one), [FromKeyedServices("orders")] FusionCache, or FusionCacheProvider
/// </code></example>
public static class FusionCachingServiceCollectionExtensions
{
    /// <summary>Registers the default cache (<see cref="FusionCacheBuilder.DefaultName"/>), injected as <see cref="FusionCache"/>.</summary>
    public static IFusionCachingBuilder AddFusionCaching(this IServiceCollection services, Action<FusionCachingOptions>? configure = null) =>
        services.AddFusionCaching(FusionCacheBuilder.DefaultName, configure);

    /// <summary>Registers a cache named <paramref name="name"/>, injected as <c>[FromKeyedServices(name)] FusionCache</c> or
    /// through <see cref="FusionCacheProvider.GetCache"/>; the default name also as plain <see cref="FusionCache"/>.</summary>
    public static IFusionCachingBuilder AddFusionCaching(this IServiceCollection services, string name, Action<FusionCachingOptions>? configure = null)
    {
        var builder = Register(services, name);
        if (configure is not null) services.Configure(name, configure);
        return builder;
    }

    /// <summary>Registers a cache named <paramref name="name"/> with its options bound from <paramref name="configuration"/>
    /// (a section such as <c>Fusion:Caches:orders</c>), validated when the host starts.</summary>
    public static IFusionCachingBuilder AddFusionCaching(this IServiceCollection services, string name, IConfiguration configuration)
    {
        if (configuration is null) throw new ArgumentNullException(nameof(configuration));
        var builder = Register(services, name);
        services.Configure<FusionCachingOptions>(name, configuration);
        return builder;
    }

    private static IFusionCachingBuilder Register(IServiceCollection services, string name)
    {
        if (services is null) throw new ArgumentNullException(nameof(services));
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"name = '{name}' is invalid: a cache name must not be empty or blank.", nameof(name));
        var registry = Registry(services);
        if (registry.Contains(name)) throw new InvalidOperationException($"A Fusion cache named '{name}' is already registered.");
        registry.Add(name);
        services.AddOptions<FusionCachingOptions>(name).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FusionCachingOptions>, FusionCachingOptionsValidator>());
        services.TryAddSingleton(sp => new FusionCacheProvider(sp, sp.GetRequiredService<IOptionsMonitor<FusionCachingOptions>>(), registry));
        services.AddKeyedSingleton<FusionCache>(name, (sp, _) => sp.GetRequiredService<FusionCacheProvider>().GetCache(name));
        if (name == FusionCacheBuilder.DefaultName) services.AddSingleton(sp => sp.GetRequiredService<FusionCacheProvider>().GetCache(name));
        return new FusionCachingBuilder(services, name);
    }

    // One registry per container's service collection, itself a registered singleton instance.
    private static FusionCacheRegistry Registry(IServiceCollection services)
    {
        var registered = services.FirstOrDefault(d => d.ServiceType == typeof(FusionCacheRegistry) && !d.IsKeyedService)?.ImplementationInstance;
        if (registered is FusionCacheRegistry registry) return registry;
        registry = new FusionCacheRegistry();
        services.AddSingleton(registry);
        return registry;
    }

    private sealed record FusionCachingBuilder(IServiceCollection Services, string Name) : IFusionCachingBuilder;
}

/// <summary>What <c>AddFusionCaching</c> returns: the registered cache's name, to add more to it (a HybridCache face, a health check).</summary>
public interface IFusionCachingBuilder
{
    /// <summary>The services.</summary>
    IServiceCollection Services { get; }

    /// <summary>The cache's name.</summary>
    string Name { get; }
}
