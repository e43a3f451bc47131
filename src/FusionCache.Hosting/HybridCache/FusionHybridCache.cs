using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Fusion.Core;
using LanguageExt;
using Microsoft.Extensions.Caching.Hybrid;

namespace Fusion;

/// <summary>
/// Microsoft's <see cref="HybridCache"/> API over a <see cref="FusionCache"/>: code written against
/// <c>HybridCache</c> gets Fusion's bounded L1, single flight, Redis L2, backplane and tags. Every call goes to the
/// wrapped cache, with the cache-wide options it was built with (fail-safe, timeouts, eager refresh…) and the per-call
/// mapping below.
/// </summary>
/// <remarks>
/// <para><b>Entry options</b> (<see cref="HybridCacheEntryOptions"/>; null, or a property left null, follows the Fusion
/// cache's defaults):</para>
/// <list type="bullet">
/// <item><see cref="HybridCacheEntryOptions.Expiration"/> (the overall lifetime) becomes Fusion's
/// <see cref="FusionCacheEntryOptions.DistributedCacheDuration"/> (L2), and also <see cref="FusionCacheEntryOptions.Duration"/>
/// (L1) when <see cref="HybridCacheEntryOptions.LocalCacheExpiration"/> is not set.</item>
/// <item><see cref="HybridCacheEntryOptions.LocalCacheExpiration"/> becomes <see cref="FusionCacheEntryOptions.Duration"/>
/// (L1), at most <see cref="HybridCacheEntryOptions.Expiration"/> when both are set. Set alone, it leaves L2 at the cache's
/// default L2 lifetime. A value read from L2 stays in L1 for this long at most, and never past its L2 expiry.</item>
/// <item>Flags: <see cref="HybridCacheEntryFlags.DisableLocalCacheRead"/> →
/// <see cref="FusionCacheEntryOptions.SkipMemoryCacheRead"/>; <see cref="HybridCacheEntryFlags.DisableLocalCacheWrite"/> →
/// <see cref="FusionCacheEntryOptions.SkipMemoryCacheWrite"/> (a write that skips L1 still drops this node's older copy);
/// <see cref="HybridCacheEntryFlags.DisableDistributedCacheRead"/> → <see cref="FusionCacheEntryOptions.SkipDistributedCacheRead"/>;
/// <see cref="HybridCacheEntryFlags.DisableDistributedCacheWrite"/> → <see cref="FusionCacheEntryOptions.SkipDistributedCacheWrite"/>;
/// <see cref="HybridCacheEntryFlags.DisableUnderlyingData"/>: the factory is never called; the call reads L1 and L2 (as
/// the other flags allow) and returns <c>default(T)</c> on a miss, caching nothing;
/// <see cref="HybridCacheEntryFlags.DisableCompression"/>: ignored (Fusion does not compress).</item>
/// <item>Tags given to <c>GetOrCreateAsync</c> or <c>SetAsync</c> become the written entry's
/// <see cref="FusionCacheEntryOptions.Tags"/> (for <c>GetOrCreateAsync</c>, those of the caller whose factory runs; checked
/// only then, so a hit does not pay for them). A tag must not be null, white space or <c>*</c> (<see cref="ArgumentException"/>,
/// as Microsoft's implementation).</item>
/// </list>
/// <para><b>Factories</b>: one run per key at a time, shared by every concurrent caller (Fusion's single flight). The
/// factory's token is cancelled only when every caller waiting on it has gone (their tokens cancelled, or their Fusion
/// timeouts past): a factory that nobody waits for any more is not completed in the background. An exception it throws
/// reaches every caller waiting on it, as it is (same instance, its stack trace kept), and nothing is cached — unless
/// the Fusion cache has fail-safe on and a stale value to serve instead.</para>
/// <para><b>Errors</b>: a caller whose token is cancelled gets an <see cref="OperationCanceledException"/> carrying that
/// token (so does a caller still waiting when the Fusion cache is disposed, without it); a factory past
/// Fusion's hard timeout with no fallback, a <see cref="TimeoutException"/>; any other Fusion error, a
/// <see cref="FusionHybridCacheException"/> carrying the <see cref="Err"/>. Each message names the key. A null or empty
/// key is a programmer error: <see cref="ArgumentException"/> (Microsoft's implementation runs the factory without
/// caching instead).</para>
/// <para><b>Values</b>: null is cached like any other value. Values of a reference type or a <see cref="Nullable{T}"/> are
/// stored wrapped (in L2, with the default serializer, as <c>{"Value":…}</c>; a custom <see cref="IFusionSerializer"/> must
/// handle that wrapper); non-nullable value types are stored as they are. A hit returns the cached instance itself (no
/// defensive copy, unlike Microsoft's implementation for types it does not know to be immutable): do not mutate it.
/// A key read with another <c>T</c> than it was written with is a <see cref="FusionHybridCacheException"/>
/// (<see cref="Err.WrongType"/>), not a miss; for the same reason a value of a reference type written here is not read
/// by <see cref="FusionCache.GetOrSet{T}(string, Func{Task{LanguageExt.Either{Err, T}}}, FusionCacheEntryOptions?, CancellationToken)"/>
/// with that type directly (nor the other way round).</para>
/// <para><b>Cost</b>: a fresh L1 hit allocates nothing (options are mapped once per distinct value); a miss allocates
/// the factory's adapter besides what Fusion allocates. With eager refresh on in the cache's defaults, every call goes
/// through Fusion's <c>GetOrSet</c> (which starts the refreshes), and a hit allocates the adapter too.</para>
/// </remarks>
public sealed class FusionHybridCache : HybridCache, IDisposable
{
    // Beyond this many distinct (Expiration, LocalCacheExpiration, Flags) combinations, options are mapped per call.
    private const int MaxMappedOptions = 1024;
    private const string WildcardTag = "*";

    private readonly bool _ownsCache;
    private readonly TimeSpan _defaultDistributedDuration;
    private readonly bool _eagerRefresh;
    private readonly Mapped _none;
    private readonly ConcurrentDictionary<OptionsKey, Mapped> _mapped = new();
    private int _mappedCount;

    /// <summary>A HybridCache over <paramref name="cache"/>.</summary>
    /// <param name="cache">The Fusion cache every call goes to.</param>
    /// <param name="ownsCache">Whether <see cref="Dispose"/> disposes <paramref name="cache"/>; by default it does not
    /// (whoever built the cache disposes it).</param>
    public FusionHybridCache(FusionCache cache, bool ownsCache = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        Cache = cache;
        _ownsCache = ownsCache;
        _defaultDistributedDuration = EntryOptionsModule.distributedDuration(cache.Defaults);
        _eagerRefresh = cache.Defaults.EagerRefreshThreshold.IsSome;
        _none = MapForCalls(null);
    }

    /// <summary>The Fusion cache every call goes to (for what HybridCache has no word for: fail-safe, <c>Expire</c>…).</summary>
    public FusionCache Cache { get; }

    /// <summary>Returns the key's value, running <paramref name="factory"/> when there is none (once per key at a time,
    /// shared by every concurrent caller). See the class remarks for the options, flags, tags and errors.</summary>
    /// <exception cref="ArgumentException">The key is null or empty (at once), or a tag is null, white space or <c>*</c>
    /// (when the factory would run).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled: this caller stops
    /// waiting; the factory goes on for the other callers, if any.</exception>
    /// <exception cref="TimeoutException">The factory ran past Fusion's hard timeout and no fallback could be served.</exception>
    /// <exception cref="FusionHybridCacheException">Any other Fusion error.</exception>
    /// <remarks>Whatever the factory throws is rethrown to every caller waiting on it, as it is.</remarks>
    public override ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory,
        HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<T>(cancellationToken);
        var mapped = Options(options);
        if (options is { Flags: { } flags } && (flags & HybridCacheEntryFlags.DisableUnderlyingData) != 0)
            return StoredForm<T>.IsPlain
                ? Read<T, T, AsIs<T>>(key, mapped.Call, cancellationToken)
                : Read<T, HybridValue<T>, Wrapped<T>>(key, mapped.Call, cancellationToken);
        return StoredForm<T>.IsPlain
            ? GetOrSet<TState, T, T, AsIs<T>>(key, state, factory, mapped, tags, cancellationToken)
            : GetOrSet<TState, T, HybridValue<T>, Wrapped<T>>(key, state, factory, mapped, tags, cancellationToken);
    }

    /// <summary>Writes <paramref name="value"/> (null included) under the key: L1, L2 and the other nodes as the flags
    /// allow, with <paramref name="tags"/>. Completes once L2 has it, unless the Fusion cache writes L2 in the background.</summary>
    /// <exception cref="ArgumentException">The key is null or empty, or a tag is null, white space or <c>*</c>.</exception>
    public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null,
        CancellationToken cancellationToken = default)
    {
        var tagged = Tagged(tags);
        var mapped = tagged is null ? Options(options).Call : Map(options, _defaultDistributedDuration, tagged);
        return StoredForm<T>.IsPlain
            ? Cache.Set(key, AsIs<T>.Store(value), mapped, cancellationToken)
            : Cache.Set(key, Wrapped<T>.Store(value), mapped, cancellationToken);
    }

    /// <summary>Removes the key everywhere (L1, L2, the other nodes' L1); the next <c>GetOrCreateAsync</c> runs its factory.</summary>
    /// <exception cref="ArgumentException">The key is null or empty.</exception>
    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) =>
        Cache.Remove(key, null, cancellationToken);

    /// <summary>Removes each of the keys, one after the other; null is none.</summary>
    public override async ValueTask RemoveAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        if (keys is null) return;
        foreach (var key in keys) await Cache.Remove(key, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes every entry written with <paramref name="tag"/> before this call absent, here and on every node
    /// (Fusion's <see cref="FusionCache.RemoveByTag(string, bool, CancellationToken)"/>, without fail-safe); <c>*</c> makes
    /// every entry absent (<see cref="FusionCache.Clear(bool, CancellationToken)"/>). A null or white-space tag does nothing.</summary>
    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(tag)) return ValueTask.CompletedTask;
        return tag == WildcardTag ? Cache.Clear(false, cancellationToken) : Cache.RemoveByTag(tag, false, cancellationToken);
    }

    /// <summary>As <see cref="RemoveByTagAsync(string, CancellationToken)"/> for each tag; null is none.</summary>
    public override async ValueTask RemoveByTagAsync(IEnumerable<string> tags, CancellationToken cancellationToken = default)
    {
        if (tags is null) return;
        foreach (var tag in tags) await RemoveByTagAsync(tag, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the Fusion cache if this instance owns it (<c>ownsCache</c>); otherwise does nothing.</summary>
    public void Dispose()
    {
        if (_ownsCache) Cache.Dispose();
    }

    private ValueTask<T> GetOrSet<TState, T, TStored, TForm>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory,
        Mapped mapped, IEnumerable<string>? tags, CancellationToken cancellationToken)
        where TForm : IStoredForm<T, TStored>
    {
        // A fresh L1 hit first, without the factory's adapter: a hit then allocates nothing. Only what GetOrSet would
        // return as it is (a fresh value not served by fail-safe), read synchronously; anything else goes to GetOrSet.
        if (mapped.Probe is { } probe)
        {
            var hit = Cache.TryGet<TStored>(key, probe, cancellationToken);
            if (hit.IsCompletedSuccessfully && hit.Result.IsSome) return new(TForm.Load(hit.Result.IfNoneUnsafe(default(TStored))!));
        }
        var run = new FactoryRun<TState, T, TStored, TForm>(state, factory, tags);
        var pending = Cache.GetOrSet<TStored>(key, run.Invoke, mapped.Call, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            var result = pending.Result;
            if (result.IsRight) return new(TForm.Load((TStored)result));
        }
        return Reply<T, TStored, TForm>(key, pending, cancellationToken);
    }

    private static async ValueTask<T> Reply<T, TStored, TForm>(string key, ValueTask<Either<Err, TStored>> pending, CancellationToken cancellationToken)
        where TForm : IStoredForm<T, TStored>
    {
        var result = await pending.ConfigureAwait(false);
        if (result.IsRight) return TForm.Load((TStored)result);
        // The factory's own exception, with the stack trace it was thrown with; anything else, ours, naming the key.
        ExceptionDispatchInfo.Throw(ToException(key, (Err)result, cancellationToken));
        return default!;
    }

    /// <summary>DisableUnderlyingData: L1, then L2, never the factory; <c>default(T)</c> when neither has the key.</summary>
    private ValueTask<T> Read<T, TStored, TForm>(string key, FusionCacheEntryOptions options, CancellationToken cancellationToken)
        where TForm : IStoredForm<T, TStored>
    {
        var pending = Cache.TryGet<TStored>(key, options, cancellationToken);
        return pending.IsCompletedSuccessfully ? new(Found<T, TStored, TForm>(pending.Result)) : ReadAsync(pending);

        static async ValueTask<T> ReadAsync(ValueTask<Option<TStored>> pending) => Found<T, TStored, TForm>(await pending.ConfigureAwait(false));
    }

    private static T Found<T, TStored, TForm>(Option<TStored> found) where TForm : IStoredForm<T, TStored> =>
        found.IsSome ? TForm.Load(found.IfNoneUnsafe(default(TStored))!) : default!;

    /// <summary>The exception a caller of HybridCache gets for a Fusion error (see the class remarks).</summary>
    internal static Exception ToException(string key, Err error, CancellationToken cancellationToken) => error switch
    {
        Err.FactoryFailed { Exception: { } thrown } => thrown,
        Err.Cancelled when cancellationToken.IsCancellationRequested =>
            new OperationCanceledException($"HybridCache key '{key}': the caller's cancellation token was cancelled.", cancellationToken),
        Err.Cancelled cancelled => new OperationCanceledException($"HybridCache key '{key}': {cancelled.Message}."),
        Err.FactoryTimedOut timedOut => new TimeoutException(
            $"HybridCache key '{key}': the factory did not finish within {timedOut.After.TotalMilliseconds} ms (Fusion's FactoryHardTimeout) and no fail-safe fallback could be served."),
        _ => new FusionHybridCacheException(key, error),
    };

    /// <summary>The Fusion options of a call without tags: mapped once per distinct (Expiration, LocalCacheExpiration,
    /// Flags), so that a hit costs no mapping.</summary>
    private Mapped Options(HybridCacheEntryOptions? options)
    {
        if (options is null) return _none;
        var key = new OptionsKey(options.Expiration, options.LocalCacheExpiration, options.Flags ?? HybridCacheEntryFlags.None);
        if (_mapped.TryGetValue(key, out var mapped)) return mapped;
        mapped = MapForCalls(options);
        if (Volatile.Read(ref _mappedCount) >= MaxMappedOptions) return mapped;
        if (_mapped.TryAdd(key, mapped)) Interlocked.Increment(ref _mappedCount);
        return mapped;
    }

    private Mapped MapForCalls(HybridCacheEntryOptions? options)
    {
        var call = Map(options, _defaultDistributedDuration, tags: null);
        // The L1 probe reads what GetOrSet would return at once. Not when the call skips L1, nor when the cache's entries
        // may be due for an eager refresh: only GetOrSet starts one.
        var probe = call.SkipMemoryCacheRead || _eagerRefresh ? null : Map(options, _defaultDistributedDuration, tags: null, memoryOnly: true);
        return new Mapped(call, probe);
    }

    /// <summary>A call's Fusion options, and those of its L1 probe (null: no probe).</summary>
    private sealed record Mapped(FusionCacheEntryOptions Call, FusionCacheEntryOptions? Probe);

    private readonly record struct OptionsKey(TimeSpan? Expiration, TimeSpan? LocalCacheExpiration, HybridCacheEntryFlags Flags);

    /// <summary>
    /// HybridCache's options as Fusion's: L1 lives <c>LocalCacheExpiration</c> (at most <c>Expiration</c>), else
    /// <c>Expiration</c>; L2 lives <c>Expiration</c>, else (only <c>LocalCacheExpiration</c> set)
    /// <paramref name="defaultDistributedDuration"/>; unset lifetimes follow the cache's defaults. The flags as in the
    /// class remarks. A factory that nobody waits for any more is cancelled (<c>AllowTimedOutFactoryBackgroundCompletion</c> off);
    /// a read without the factory returns fresh values only (<c>AllowStaleOnReadOnly</c> off). <paramref name="memoryOnly"/>:
    /// the options of the L1 probe (no L2 read).
    /// </summary>
    internal static FusionCacheEntryOptions Map(HybridCacheEntryOptions? options, TimeSpan defaultDistributedDuration, string[]? tags,
        bool memoryOnly = false)
    {
        var overall = options?.Expiration;
        var local = options?.LocalCacheExpiration;
        if (overall < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options", overall, "HybridCacheEntryOptions.Expiration must not be negative.");
        if (local < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options", local, "HybridCacheEntryOptions.LocalCacheExpiration must not be negative.");
        var flags = options?.Flags ?? HybridCacheEntryFlags.None;
        var skipMemoryRead = (flags & HybridCacheEntryFlags.DisableLocalCacheRead) != 0;
        var skipMemoryWrite = (flags & HybridCacheEntryFlags.DisableLocalCacheWrite) != 0;
        var skipDistributedRead = memoryOnly || (flags & HybridCacheEntryFlags.DisableDistributedCacheRead) != 0;
        var skipDistributedWrite = (flags & HybridCacheEntryFlags.DisableDistributedCacheWrite) != 0;

        if (local is null && overall is null)
            return new FusionCacheEntryOptions
            {
                SkipMemoryCacheRead = skipMemoryRead,
                SkipMemoryCacheWrite = skipMemoryWrite,
                SkipDistributedCacheRead = skipDistributedRead,
                SkipDistributedCacheWrite = skipDistributedWrite,
                AllowTimedOutFactoryBackgroundCompletion = false,
                AllowStaleOnReadOnly = false,
                Tags = tags,
            };
        return new FusionCacheEntryOptions
        {
            Duration = local is { } l ? (overall is { } o && o < l ? o : l) : overall!.Value,
            DistributedCacheDuration = overall ?? defaultDistributedDuration,
            SkipMemoryCacheRead = skipMemoryRead,
            SkipMemoryCacheWrite = skipMemoryWrite,
            SkipDistributedCacheRead = skipDistributedRead,
            SkipDistributedCacheWrite = skipDistributedWrite,
            AllowTimedOutFactoryBackgroundCompletion = false,
            AllowStaleOnReadOnly = false,
            Tags = tags,
        };
    }

    /// <summary>The tags, checked as Microsoft's implementation checks them; null when there are none.</summary>
    internal static string[]? Tagged(IEnumerable<string>? tags)
    {
        if (tags is null) return null;
        var list = new List<string>(tags is ICollection<string> c ? c.Count : 4);
        foreach (var tag in tags)
        {
            if (string.IsNullOrWhiteSpace(tag)) throw new ArgumentException("A tag must not be null, empty or white space.", nameof(tags));
            if (tag == WildcardTag) throw new ArgumentException($"The tag '{WildcardTag}' is reserved (RemoveByTagAsync(\"*\") removes every entry).", nameof(tags));
            list.Add(tag);
        }
        return list.Count == 0 ? null : list.ToArray();
    }

    /// <summary>
    /// One call's factory in Fusion's shape: the caller's state and factory, run with the flight's token; the tags are
    /// checked and given to the entry only when the factory runs (adaptive options), so a hit does not pay for them.
    /// </summary>
    private sealed class FactoryRun<TState, T, TStored, TForm>(TState state, Func<TState, CancellationToken, ValueTask<T>> factory, IEnumerable<string>? tags)
        where TForm : IStoredForm<T, TStored>
    {
        public Task<Either<Err, TStored>> Invoke(FactoryContext<TStored> context)
        {
            if (Tagged(tags) is { } tagged) context.EntryOptions = new FusionCacheEntryOptions { Tags = tagged };
            var pending = factory(state, context.CancellationToken);
            return pending.IsCompletedSuccessfully ? Task.FromResult(Right(pending.Result)) : Awaited(pending);
        }

        private static async Task<Either<Err, TStored>> Awaited(ValueTask<T> pending) => Right(await pending.ConfigureAwait(false));

        private static Either<Err, TStored> Right(T value) => Either<Err, TStored>.Right(TForm.Store(value));
    }
}
