using Fusion.Core;
using Microsoft.Extensions.Options;

namespace Fusion;

/// <summary>Checks every registered cache's options when the host starts (<c>ValidateOnStart</c>): each problem names the
/// cache, the option and the value, by the same rules as <see cref="FusionCacheEntryOptions"/> and the builder.</summary>
internal sealed class FusionCachingOptionsValidator(FusionCacheRegistry registry) : IValidateOptions<FusionCachingOptions>
{
    public ValidateOptionsResult Validate(string? name, FusionCachingOptions options)
    {
        name ??= Options.DefaultName;
        if (!registry.Contains(name)) return ValidateOptionsResult.Skip; // not a cache registered here
        var cache = registry.CacheName(name);
        var problems = Problems(options).Select(p => $"Fusion cache '{cache}': {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static IEnumerable<string?> Rules(FusionCachingOptions o)
    {
        yield return o.Capacity < 1 ? $"{nameof(o.Capacity)} = {o.Capacity} is invalid: it must be at least 1" : null;
        yield return Duration(nameof(o.Duration), o.Duration);
        yield return Duration(nameof(o.FailSafeMaxDuration), o.FailSafeMaxDuration);
        yield return Duration(nameof(o.FailSafeThrottleDuration), o.FailSafeThrottleDuration);
        yield return o.MaxFailSafeCycles is int c ? OptionRules.count(nameof(o.MaxFailSafeCycles), c) : null;
        yield return Timeout(nameof(o.FactorySoftTimeout), o.FactorySoftTimeout);
        yield return Timeout(nameof(o.FactoryHardTimeout), o.FactoryHardTimeout);
        yield return o.EagerRefreshThreshold is double t ? OptionRules.threshold(nameof(o.EagerRefreshThreshold), t) : null;
        yield return Duration(nameof(o.JitterMaxDuration), o.JitterMaxDuration);
        yield return Duration(nameof(o.DistributedCacheDuration), o.DistributedCacheDuration);
        yield return Timeout(nameof(o.DistributedCacheSoftTimeout), o.DistributedCacheSoftTimeout);
        yield return Timeout(nameof(o.DistributedCacheHardTimeout), o.DistributedCacheHardTimeout);
        yield return Duration(nameof(o.CircuitBreakerDuration), o.CircuitBreakerDuration);
        yield return o.MaxClockSkew is TimeSpan skew && (skew <= TimeSpan.Zero || skew == System.Threading.Timeout.InfiniteTimeSpan)
            ? $"{nameof(o.MaxClockSkew)} = {skew} is invalid: it must be positive and finite" : null;
        yield return o.RedisCacheName is { } n && (string.IsNullOrWhiteSpace(n) || n.Contains(' '))
            ? $"{nameof(o.RedisCacheName)} = '{n}' is invalid: it must be a non-empty name without spaces" : null;
        yield return o.RedisConnectionString is not null && o.UseRegisteredConnectionMultiplexer
            ? $"{nameof(o.RedisConnectionString)} and {nameof(o.UseRegisteredConnectionMultiplexer)} are both set: choose one connection" : null;
        yield return o.BackplaneOnly && o.RedisConnectionString is null && !o.UseRegisteredConnectionMultiplexer
            ? $"{nameof(o.BackplaneOnly)} = true needs a Redis connection ({nameof(o.RedisConnectionString)} or {nameof(o.UseRegisteredConnectionMultiplexer)})" : null;
        yield return ConnectionString(o.RedisConnectionString);
        foreach (var problem in LogLevels(o.LogLevels)) yield return problem;
    }

    // The rules of FusionCacheLogLevels (WithLogLevels), every problem listed, each named by its configuration path.
    private static IEnumerable<string?> LogLevels(FusionCachingLogLevels? l)
    {
        if (l is null) yield break;
        const string prefix = nameof(FusionCachingOptions.LogLevels) + ".";
        yield return Level(prefix + nameof(l.FactoryError), l.FactoryError);
        yield return Level(prefix + nameof(l.FactoryTimeout), l.FactoryTimeout);
        yield return Level(prefix + nameof(l.FailSafeActivation), l.FailSafeActivation);
        yield return Level(prefix + nameof(l.DistributedError), l.DistributedError);
        yield return Level(prefix + nameof(l.DistributedRefusal), l.DistributedRefusal);
        yield return l.AggregationWindow is TimeSpan w && w < TimeSpan.Zero // Timeout.InfiniteTimeSpan included
            ? $"{prefix}{nameof(l.AggregationWindow)} = {w} is invalid: it must be zero or positive, and finite" : null;
    }

    private static string? Level(string name, Microsoft.Extensions.Logging.LogLevel? level) =>
        level is { } v && !Enum.IsDefined(v) ? $"{name} = {(int)v} is invalid: it must be a LogLevel (Trace to None)" : null;

    internal static IEnumerable<string> Problems(FusionCachingOptions o) => Rules(o).Where(p => p is not null).Select(p => p!);

    private static string? Duration(string name, TimeSpan? value) => value is TimeSpan v ? OptionRules.duration(name, v) : null;

    private static string? Timeout(string name, TimeSpan? value) => value is TimeSpan v ? OptionRules.timeout(name, v) : null;

    // The string itself is not repeated: it may hold a password.
    private static string? ConnectionString(string? value)
    {
        if (value is null) return null;
        if (string.IsNullOrWhiteSpace(value)) return "RedisConnectionString is empty";
        try
        {
            StackExchange.Redis.ConfigurationOptions.Parse(value);
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return $"RedisConnectionString is not a StackExchange.Redis configuration string: {ex.Message.Split('=')[0].Trim()}";
        }
    }
}
