using Fusion.Tests.Support;
using LanguageExt;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Fusion.Tests.Hosting;

/// <summary><see cref="FusionCachingOptions.LogLevels"/>: the configurable log levels bound from configuration, applied
/// to the cache the container builds, and validated when the host starts.</summary>
public sealed class LogLevelOptionsTests
{
    private const int FactoryFailed = 1010, FailSafeActivated = 1012; // docs/observability.md

    [Fact]
    public async Task LogLevelsFromConfiguration_AreTheLevelsTheCacheLogsAt()
    {
        var log = await FailSafeActivation(new Dictionary<string, string?>
        {
            ["Fusion:Caches:default:LogLevels:FailSafeActivation"] = "Information",
            ["Fusion:Caches:default:LogLevels:FactoryError"] = "Error",
            ["Fusion:Caches:default:LogLevels:AggregationWindow"] = "00:00:00",
        });

        Assert.Equal(LogLevel.Information, Assert.Single(log.Of(FailSafeActivated)).Level);
        Assert.Equal(LogLevel.Error, Assert.Single(log.Of(FactoryFailed)).Level);
    }

    [Fact]
    public async Task WithoutLogLevels_TheLibrarysDefaultsHold()
    {
        var log = await FailSafeActivation([]);

        Assert.Equal(LogLevel.Warning, Assert.Single(log.Of(FailSafeActivated)).Level);
        Assert.Equal(LogLevel.Warning, Assert.Single(log.Of(FactoryFailed)).Level);
    }

    [Fact]
    public async Task LogLevelsSetInCode_AreApplied()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var log = new RecordingLogger();
        var collection = new ServiceCollection().AddSingleton<TimeProvider>(time);
        collection.AddLogging(b => b.AddProvider(new SingleLoggerProvider(log)));
        collection.AddFusionCaching(o =>
        {
            o.Duration = TimeSpan.FromSeconds(10);
            o.IsFailSafeEnabled = true;
            o.LogLevels.FailSafeActivation = LogLevel.None; // silenced
        });
        await using var services = collection.BuildServiceProvider();

        await ActivateFailSafe(services.GetRequiredService<FusionCache>(), time);

        Assert.True(await log.Logged(FactoryFailed));
        Assert.Empty(log.Of(FailSafeActivated));
    }

    [Fact]
    public async Task InvalidLogLevels_FailTheHostsStart_NamingTheCacheTheOptionAndTheValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fusion:Caches:default:LogLevels:AggregationWindow"] = "-00:00:01",
            ["Fusion:Caches:default:LogLevels:FactoryError"] = "42", // a number that is no LogLevel
        }).Build();
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(s => s.AddFusionCaching(FusionCacheBuilder.DefaultName, configuration.GetSection("Fusion:Caches:default")))
            .Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Fusion cache 'default': LogLevels.AggregationWindow = -00:00:01 is invalid", e.Message);
        Assert.Contains("Fusion cache 'default': LogLevels.FactoryError = 42 is invalid", e.Message);
    }

    [Fact]
    public async Task ALevelThatIsNoLogLevelsName_FailsTheHostsStart_NamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fusion:Caches:default:LogLevels:FailSafeActivation"] = "Loud",
        }).Build();
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(s => s.AddFusionCaching(FusionCacheBuilder.DefaultName, configuration.GetSection("Fusion:Caches:default")))
            .Build();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync()); // the binder's, before validation

        Assert.Contains("Fusion:Caches:default:LogLevels:FailSafeActivation", e.Message);
    }

    /// <summary>The default cache, bound from <paramref name="settings"/> (with a 10 s duration and fail-safe on), after one
    /// fail-safe activation: what it logged.</summary>
    private static async Task<RecordingLogger> FailSafeActivation(Dictionary<string, string?> settings)
    {
        settings["Fusion:Caches:default:Duration"] = "00:00:10";
        settings["Fusion:Caches:default:IsFailSafeEnabled"] = "true";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var log = new RecordingLogger();
        var collection = new ServiceCollection().AddSingleton<TimeProvider>(time);
        collection.AddLogging(b => b.AddProvider(new SingleLoggerProvider(log)));
        collection.AddFusionCaching(FusionCacheBuilder.DefaultName, configuration.GetSection("Fusion:Caches:default"));
        await using var services = collection.BuildServiceProvider();

        await ActivateFailSafe(services.GetRequiredService<FusionCache>(), time);

        Assert.True(await log.Logged(FailSafeActivated), "no fail-safe activation was logged");
        return log;
    }

    /// <summary>A value, its expiry, and a failing factory: fail-safe serves the stale value.</summary>
    private static async Task ActivateFailSafe(FusionCache cache, FakeTimeProvider time)
    {
        Assert.Equal("v1", await Expect.Right(cache.GetOrSet("k", () => Task.FromResult(Either<Err, string>.Right("v1")))));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("v1", await Expect.Right(cache.GetOrSet("k", () => Task.FromResult(Either<Err, string>.Left(Values.SourceDown)))));
    }

    private sealed class SingleLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }
}
